// RUN: matquant-opt %s --mq-select-gpu-layout=kernel=simt --split-input-file | FileCheck %s
// RUN: matquant-opt %s --mq-select-gpu-layout=kernel=simt --canonicalize --split-input-file | FileCheck %s --check-prefix=FOLD

// The block fills one 16-byte load per lane with each piece of two or more
// bits: 32 elements at 4 bits, 16 at 8, 64 at 2 and at 3 (pieces 2 + 1).
// CHECK-LABEL: func.func @int4
// CHECK: mq.pack %{{.*}} : !mq.weight<8x256xf16, storage = 8, bits = 4, group = 128>
// CHECK-SAME: layout = #mq.layout<interleaved, 4, block = 32>
// FOLD-LABEL: func.func @int4
// FOLD-NOT: mq.pack
// 200 sliced to 4 bits is 13 (0xD); two nibbles per byte: 0xDD = -35.
// FOLD: mq.constant dense<-35> : tensor<8x128xi8> : !mq.weight<8x256xf16, storage = 8, bits = 4, group = 128, layout = #mq.layout<interleaved, 4, block = 32>>
func.func @int4(%x: tensor<256xf16>, %s: tensor<8x2xf32>, %m: tensor<8x2xf32>) -> tensor<8xf16> {
  %c = mq.constant dense<200> : tensor<8x256xi8> : !mq.weight<8x256xf16, storage = 8, bits = 8, group = 128>
  %q = mq.slice %c : !mq.weight<8x256xf16, storage = 8, bits = 8, group = 128> to !mq.weight<8x256xf16, storage = 8, bits = 4, group = 128>
  %y = mq.matvec %x, %q, %s, %m : tensor<256xf16>, !mq.weight<8x256xf16, storage = 8, bits = 4, group = 128>, tensor<8x2xf32>, tensor<8x2xf32> -> tensor<8xf16>
  return %y : tensor<8xf16>
}

// -----

// CHECK-LABEL: func.func @widths
// CHECK: layout = #mq.layout<interleaved, 8, block = 16>
// CHECK: layout = #mq.layout<interleaved, 3, block = 64>
// CHECK: layout = #mq.layout<interleaved, 3, block = 64>
// Groups of 32 halve the int3 block.
// CHECK: layout = #mq.layout<interleaved, 3, block = 32>
func.func @widths(%x: tensor<2x256xf32>, %w8: !mq.weight<4x256xf32, storage = 8, bits = 8>,
                  %w3: !mq.weight<4x256xf32, storage = 8, bits = 3>,
                  %w2ep: !mq.weight<4x256xf32, storage = 8, bits = 2, mode = extra_precision>,
                  %w3g: !mq.weight<4x256xf32, storage = 8, bits = 3, group = 32>,
                  %s: tensor<4x1xf32>, %sg: tensor<4x8xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %a = mq.matmul %x, %w8, %s, %s : tensor<2x256xf32>, !mq.weight<4x256xf32, storage = 8, bits = 8>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<2x4xf32>
  %b = mq.matmul %x, %w3, %s, %s : tensor<2x256xf32>, !mq.weight<4x256xf32, storage = 8, bits = 3>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<2x4xf32>
  %c = mq.matmul %x, %w2ep, %s, %s : tensor<2x256xf32>, !mq.weight<4x256xf32, storage = 8, bits = 2, mode = extra_precision>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<2x4xf32>
  %d = mq.matmul %x, %w3g, %sg, %sg : tensor<2x256xf32>, !mq.weight<4x256xf32, storage = 8, bits = 3, group = 32>, tensor<4x8xf32>, tensor<4x8xf32> -> tensor<2x4xf32>
  return %a, %b, %c, %d : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// A weight already in the GPU layout is left alone; one in another layout
// is unpacked and repacked.
// CHECK-LABEL: func.func @repack
// CHECK-NOT: mq.pack %arg1
// CHECK: %[[U:.*]] = mq.unpack %arg2
// CHECK: mq.pack %[[U]]
// CHECK-SAME: layout = #mq.layout<interleaved, 4, block = 32>
func.func @repack(%x: tensor<64xf32>,
                  %good: !mq.weight<4x64xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 32>>,
                  %cpu: !mq.weight<4x64xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 64>>,
                  %s: tensor<4x1xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %a = mq.matvec %x, %good, %s, %s : tensor<64xf32>, !mq.weight<4x64xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 32>>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4xf32>
  %b = mq.matvec %x, %cpu, %s, %s : tensor<64xf32>, !mq.weight<4x64xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 64>>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4xf32>
  return %a, %b : tensor<4xf32>, tensor<4xf32>
}
