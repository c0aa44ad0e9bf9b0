// RUN: matquant-gpu-compile --planes --widths 4pe,8pe,4 --groups 128 --batches 1 --rows-per-warp 16 --warps-per-block 4 --unroll 1 --emit=mlir -o - | FileCheck %s

// The plane kernels' decode on the rotated layout of numerics::packMmaPlanes
// (GPU.md, "Run-time width: bit-plane kernels"). Plane p of a lane word is
// rotated right by p, and the pairs of k-step 0 sit at bits 0, 4, 8, 12 (and
// 16 above) of plane 0, so their R-bit fields never overlap for R <= 4.

// 4 planes: the class {0, 4, 8, 12} takes plane p's field bits at
// (m - p) mod 32 with one masked select each: 0x88888888 (-2004318072),
// 0x44444444 (1145324612), 0x22222222 (572662306). Pair 0's field is at bits
// 29..31, 0: one rotation right by 29 (serving pair 4 too, at bit 4), the
// mask 0x000F000F (983055) with the exponent bits, and 1024 + zc = 1032 off.
// CHECK-LABEL: gpu.func @mq_pmma_c8_r4_pe_g128_f16_b1_rw16_wpb4_u1_ps
// CHECK: %[[K:.*]] = arith.andi %{{.*}}, %c2004318071_i32
// CHECK-NEXT: %c-2004318072_i32 = arith.constant -2004318072 : i32
// CHECK-NEXT: %[[P1:.*]] = arith.andi %{{.*}}, %c-2004318072_i32
// CHECK-NEXT: %[[M1:.*]] = arith.ori %[[K]], %[[P1]]
// CHECK: arith.andi %{{.*}}, %c1145324612_i32
// CHECK: arith.andi %{{.*}}, %c572662306_i32
// CHECK-NEXT: %[[M:.*]] = arith.ori
// CHECK-NEXT: %c29_i32 = arith.constant 29 : i32
// CHECK-NEXT: %[[R:.*]] = llvm.intr.fshr(%[[M]], %[[M]], %c29_i32)
// CHECK: %[[F:.*]] = arith.andi %[[R]], %c983055_i32
// CHECK-NEXT: %[[E:.*]] = arith.ori %[[F]],
// CHECK: %[[H:.*]] = vector.bitcast
// CHECK: arith.subf %[[H]], %{{.*}} : vector<2xf16>
// Pair 4 from the same rotation, at bit 4: 0x00F000F0 and an fma by 1/16.
// CHECK: arith.andi %[[R]], %c15728880_i32
// CHECK: arith.constant dense<6.250000e-02> : vector<2xf16>
// CHECK: arith.constant dense<-7.200000e+01> : vector<2xf16>
// CHECK-NOT: gpu.func
// CHECK: nvgpu.mma.sync

// 8 planes: classes {c, c + 8}; one rotation by c - 7 puts the four fields
// on bytes and a byte permute (0x7250, 0x7351) decodes each pair.
// CHECK-LABEL: gpu.func @mq_pmma_c8_r8_pe_g128_f16_b1_rw16_wpb4_u1
// CHECK: %[[R8:.*]] = llvm.intr.fshr(%[[M8:.*]], %[[M8]], %c25_i32)
// CHECK-NEXT: %c29264_i32 = arith.constant 29264 : i32
// CHECK-NEXT: nvvm.prmt <default> %c29264_i32, %[[R8]],
// CHECK: nvvm.prmt <default> %c29521_i32, %[[R8]],

// The paper's clamped int4 from 5 planes: (v + 1) >> 1 kept at bit 1
// (mask 0x001F001F, + 0x00010001, mask 0x003E003E), then one saturating
// f16x2 fma gives t = (15 - k) / 16 (by -1/32, plus (15 + 512) / 16), whose
// clamp to [0, 1] is the slice's clamp at 15; the epilogue takes -16 alpha'
// and m + alpha' 15 (centre 15 / (1/4) = 60 in a batch-1 kernel).
// CHECK-LABEL: gpu.func @mq_pmma_c8_r4_cl_g128_f16_b1_rw16_wpb4_u1_ps
// CHECK: arith.constant 6.000000e+01 : f32
// CHECK: arith.constant -1.600000e+01 : f32
// CHECK: %[[R5:.*]] = llvm.intr.fshr(%{{.*}}, %{{.*}}, %c28_i32)
// CHECK-NEXT: %c2031647_i32 = arith.constant 2031647 : i32
// CHECK-NEXT: %[[U:.*]] = arith.andi %[[R5]], %c2031647_i32
// CHECK-NEXT: %c65537_i32 = arith.constant 65537 : i32
// CHECK-NEXT: %[[U1:.*]] = arith.addi %[[U]], %c65537_i32 : i32
// CHECK-NEXT: %c4063294_i32 = arith.constant 4063294 : i32
// CHECK-NEXT: arith.andi %[[U1]], %c4063294_i32
// CHECK: %[[H:.*]] = vector.bitcast
// CHECK-NEXT: %[[A:.*]] = arith.constant dense<-3.125000e-02> : vector<2xf16>
// CHECK-NEXT: %[[C:.*]] = arith.constant dense<3.293750e+01> : vector<2xf16>
// CHECK-NEXT: llvm.call_intrinsic "llvm.nvvm.fma.rn.sat.f16x2"(%[[H]], %[[A]], %[[C]])
// CHECK-NOT: llvm.intr.minnum
