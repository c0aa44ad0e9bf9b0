// RUN: matquant-opt %s --mq-narrow-activations --split-input-file | FileCheck %s
// RUN: matquant-opt %s --mq-narrow-activations=type=bf16 --split-input-file | FileCheck %s --check-prefix=BF16
// RUN: not matquant-opt %s --mq-narrow-activations=type=f8 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: mq-narrow-activations: type must be f16 or bf16, got 'f8'

// Two matvecs of one f32 input: one rounding (a linalg.generic of
// arith.truncf right after the input's definition), read by both; the
// results stay f32.
// CHECK-LABEL: func.func @shared
// CHECK-SAME: (%[[X:.*]]: tensor<64xf32>
// CHECK: %[[E:.*]] = tensor.empty() : tensor<64xf16>
// CHECK: %[[H:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<64xf32>) outs(%[[E]] : tensor<64xf16>)
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK-NOT: linalg.generic
// CHECK: mq.matvec %[[H]], {{.*}} : tensor<64xf16>, {{.*}} -> tensor<8xf32>
// CHECK: mq.matvec %[[H]], {{.*}} : tensor<64xf16>, {{.*}} -> tensor<16xf32>
// BF16-LABEL: func.func @shared
// BF16: arith.truncf %{{.*}} : f32 to bf16
// BF16: mq.matvec {{.*}} : tensor<64xbf16>, {{.*}} -> tensor<8xf32>
func.func @shared(%x: tensor<64xf32>, %a: !mq.weight<8x64xf32, storage = 8, bits = 4>,
                  %b: !mq.weight<16x64xf32, storage = 8, bits = 4>,
                  %s: tensor<8x1xf32>, %t: tensor<16x1xf32>) -> (tensor<8xf32>, tensor<16xf32>) {
  %y = mq.matvec %x, %a, %s, %s : tensor<64xf32>, !mq.weight<8x64xf32, storage = 8, bits = 4>, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
  %z = mq.matvec %x, %b, %t, %t : tensor<64xf32>, !mq.weight<16x64xf32, storage = 8, bits = 4>, tensor<16x1xf32>, tensor<16x1xf32> -> tensor<16xf32>
  return %y, %z : tensor<8xf32>, tensor<16xf32>
}

// -----

// A matmul's activations computed in the function: rounded after their
// producer. Activations already narrow, and f16 results, are left alone.
// CHECK-LABEL: func.func @matmul
// CHECK: %[[P:.*]] = arith.addf
// CHECK-NEXT: %[[E:.*]] = tensor.empty() : tensor<3x64xf16>
// CHECK-NEXT: %[[H:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<3x64xf32>)
// CHECK: mq.matmul %[[H]], {{.*}} : tensor<3x64xf16>, {{.*}} -> tensor<3x8xf32>
// CHECK: mq.matvec %{{.*}} : tensor<64xf16>, {{.*}} -> tensor<8xf16>
// CHECK-NOT: linalg.generic
func.func @matmul(%x: tensor<3x64xf32>, %h: tensor<64xf16>, %a: !mq.weight<8x64xf32, storage = 8, bits = 4>,
                  %s: tensor<8x1xf32>) -> (tensor<3x8xf32>, tensor<8xf16>) {
  %p = arith.addf %x, %x : tensor<3x64xf32>
  %y = mq.matmul %p, %a, %s, %s : tensor<3x64xf32>, !mq.weight<8x64xf32, storage = 8, bits = 4>, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<3x8xf32>
  %v = mq.matvec %h, %a, %s, %s : tensor<64xf16>, !mq.weight<8x64xf32, storage = 8, bits = 4>, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf16>
  return %y, %v : tensor<3x8xf32>, tensor<8xf16>
}
