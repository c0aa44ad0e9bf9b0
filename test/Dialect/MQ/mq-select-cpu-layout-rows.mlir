// RUN: matquant-opt %s --mq-select-cpu-layout=row-tile=8 -split-input-file | FileCheck %s
// RUN: matquant-opt %s --mq-select-cpu-layout=row-tile=1000 -split-input-file | FileCheck %s --check-prefix=MAX
// RUN: matquant-opt %s --mq-select-cpu-layout="row-tile=8 row-tile-max-bits=7" -split-input-file | FileCheck %s --check-prefix=A8

// With row-tile = 8 the interleaved layout tiles the rows by the largest
// power of two up to 8 that divides them: 12 rows -> 4, 16 -> 8, 13 -> none.
// CHECK-LABEL: func.func @tiles
// CHECK: mq.pack %{{.*}} to !mq.weight<12x64xf32, storage = 8, bits = 4, group = 32, layout = #mq.layout<interleaved, 4, block = 32, rows = 4>>
// CHECK: mq.pack %{{.*}} to !mq.weight<16x64xf32, storage = 8, bits = 2, layout = #mq.layout<interleaved, 2, block = 128, rows = 8>>
// CHECK: mq.pack %{{.*}} to !mq.weight<13x64xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 128>>
func.func @tiles(%x: tensor<64xf32>,
                 %a: !mq.weight<12x64xf32, storage = 8, bits = 4, group = 32>, %sa: tensor<12x2xf32>,
                 %b: !mq.weight<16x64xf32, storage = 8, bits = 2>, %sb: tensor<16x1xf32>,
                 %c: !mq.weight<13x64xf32, storage = 8, bits = 4>, %sc: tensor<13x1xf32>) -> (tensor<12xf32>, tensor<16xf32>, tensor<13xf32>) {
  %ya = mq.matvec %x, %a, %sa, %sa : tensor<64xf32>, !mq.weight<12x64xf32, storage = 8, bits = 4, group = 32>, tensor<12x2xf32>, tensor<12x2xf32> -> tensor<12xf32>
  %yb = mq.matvec %x, %b, %sb, %sb : tensor<64xf32>, !mq.weight<16x64xf32, storage = 8, bits = 2>, tensor<16x1xf32>, tensor<16x1xf32> -> tensor<16xf32>
  %yc = mq.matvec %x, %c, %sc, %sc : tensor<64xf32>, !mq.weight<13x64xf32, storage = 8, bits = 4>, tensor<13x1xf32>, tensor<13x1xf32> -> tensor<13xf32>
  return %ya, %yb, %yc : tensor<12xf32>, tensor<16xf32>, tensor<13xf32>
}

// -----

// A weight the caller already packed in the interleaved layout keeps its
// row tile (none here): the kernels read any, so it is not repacked at
// run time.
// CHECK-LABEL: func.func @kept
// CHECK-NOT: mq.pack
// CHECK: mq.matvec
func.func @kept(%x: tensor<64xf32>, %w: !mq.weight<16x64xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 64>>, %s: tensor<16x1xf32>) -> tensor<16xf32> {
  %y = mq.matvec %x, %w, %s, %s : tensor<64xf32>, !mq.weight<16x64xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 64>>, tensor<16x1xf32>, tensor<16x1xf32> -> tensor<16xf32>
  return %y : tensor<16xf32>
}

// -----

// Row tiles are at most 64 rows (the layout's limit), whatever row-tile
// asks for.
// MAX-LABEL: func.func @max_tile
// MAX: mq.pack %{{.*}} to !mq.weight<128x64xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 128, rows = 64>>
func.func @max_tile(%x: tensor<64xf32>, %w: !mq.weight<128x64xf32, storage = 8, bits = 4>, %s: tensor<128x1xf32>) -> tensor<128xf32> {
  %y = mq.matvec %x, %w, %s, %s : tensor<64xf32>, !mq.weight<128x64xf32, storage = 8, bits = 4>, tensor<128x1xf32>, tensor<128x1xf32> -> tensor<128xf32>
  return %y : tensor<128xf32>
}

// -----

// row-tile-max-bits = 7 (what matquant-cpu-to-llvm sets for the W{r}A8
// kernels): 8-bit indices stay untiled, narrower ones are tiled.
// A8-LABEL: func.func @wide_untiled
// A8: mq.pack %{{.*}} to !mq.weight<16x64xf32, storage = 8, bits = 8, layout = #mq.layout<interleaved, 8, block = 128>>
// A8: mq.pack %{{.*}} to !mq.weight<16x64xf32, storage = 8, bits = 7, layout = #mq.layout<interleaved, 7, block = 128, rows = 8>>
// CHECK-LABEL: func.func @wide_untiled
// CHECK: mq.pack %{{.*}} to !mq.weight<16x64xf32, storage = 8, bits = 8, layout = #mq.layout<interleaved, 8, block = 128, rows = 8>>
func.func @wide_untiled(%x: tensor<64xf32>, %a: !mq.weight<16x64xf32, storage = 8, bits = 8>, %b: !mq.weight<16x64xf32, storage = 8, bits = 7>, %s: tensor<16x1xf32>) -> (tensor<16xf32>, tensor<16xf32>) {
  %ya = mq.matvec %x, %a, %s, %s : tensor<64xf32>, !mq.weight<16x64xf32, storage = 8, bits = 8>, tensor<16x1xf32>, tensor<16x1xf32> -> tensor<16xf32>
  %yb = mq.matvec %x, %b, %s, %s : tensor<64xf32>, !mq.weight<16x64xf32, storage = 8, bits = 7>, tensor<16x1xf32>, tensor<16x1xf32> -> tensor<16xf32>
  return %ya, %yb : tensor<16xf32>, tensor<16xf32>
}
