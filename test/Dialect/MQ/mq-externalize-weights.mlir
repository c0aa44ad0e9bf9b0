// RUN: matquant-opt %s --mq-externalize-weights="min-bytes=16 alignment=64" | FileCheck %s
// RUN: matquant-opt %s --mq-externalize-weights="min-bytes=16 alignment=64 file=%t.arena" -o /dev/null
// RUN: od -A d -t x1 -v %t.arena | FileCheck %s --check-prefix=BYTES

// Two constants of at least 16 bytes move into the arena, at offsets 0 and
// 64 (the 20-byte one is padded to the alignment); the small one, the splat
// and the mutable global stay. Both readers get the arena argument.

// CHECK: module attributes {mq.arena = {alignment = 64 : i64, entries = [{bytes = 20 : i64, name = "big_i8", offset = 0 : i64, type = i8}, {bytes = 64 : i64, name = "big_f32", offset = 64 : i64, type = f32}], size = 128 : i64}, mq.arena_data = dense_resource<mq_arena> : tensor<128xi8>}
// CHECK-NOT: memref.global "private" constant @big
// CHECK-DAG: memref.global "private" constant @small : memref<2xf32>
// CHECK-DAG: memref.global "private" constant @splat : memref<64xf32>
// CHECK-DAG: memref.global @table : memref<32xi32>

// CHECK-LABEL: func.func @reads_both(
// CHECK-SAME: %[[X:.*]]: index, %[[ARENA:.*]]: memref<?xi8> {mq.arena})
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: memref.view %[[ARENA]][%[[C0]]][] : memref<?xi8> to memref<4x5xi8>
// CHECK-DAG: memref.view %[[ARENA]][%[[C64]]][] : memref<?xi8> to memref<16xf32>
// CHECK-DAG: memref.get_global @small
// CHECK-DAG: memref.get_global @splat

// CHECK-LABEL: func.func @reads_one(
// CHECK-SAME: %{{.*}}: memref<?xi8> {mq.arena})
// CHECK: memref.view

// CHECK-LABEL: func.func @reads_none(
// CHECK-SAME: %{{[^,]*}}: index) -> i32

// The bytes: 20 bytes 1..20, zero padding to 64, then the f32 1.0, 2.0, ...
// BYTES: 0000000 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10
// BYTES-NEXT: 0000016 11 12 13 14 00 00 00 00 00 00 00 00 00 00 00 00
// BYTES-NEXT: 0000032 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
// BYTES-NEXT: 0000048 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
// BYTES-NEXT: 0000064 00 00 80 3f 00 00 00 40 00 00 40 40 00 00 80 40
// BYTES: 0000128

memref.global "private" constant @big_i8 : memref<4x5xi8> = dense<[[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14, 15], [16, 17, 18, 19, 20]]>
memref.global "private" constant @big_f32 : memref<16xf32> = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]>
memref.global "private" constant @small : memref<2xf32> = dense<[1.0, 2.0]>
memref.global "private" constant @splat : memref<64xf32> = dense<3.0>
memref.global @table : memref<32xi32> = dense<[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]>

func.func @reads_both(%i: index) -> f32 {
  %a = memref.get_global @big_i8 : memref<4x5xi8>
  %b = memref.get_global @big_f32 : memref<16xf32>
  %s = memref.get_global @small : memref<2xf32>
  %p = memref.get_global @splat : memref<64xf32>
  %c0 = arith.constant 0 : index
  %x = memref.load %a[%c0, %i] : memref<4x5xi8>
  %y = memref.load %b[%i] : memref<16xf32>
  %z = memref.load %s[%c0] : memref<2xf32>
  %w = memref.load %p[%i] : memref<64xf32>
  %xf = arith.sitofp %x : i8 to f32
  %r0 = arith.addf %xf, %y : f32
  %r1 = arith.addf %r0, %z : f32
  %r = arith.addf %r1, %w : f32
  return %r : f32
}

func.func @reads_one(%i: index) -> f32 {
  %b = memref.get_global @big_f32 : memref<16xf32>
  %y = memref.load %b[%i] : memref<16xf32>
  return %y : f32
}

func.func @reads_none(%i: index) -> i32 {
  %t = memref.get_global @table : memref<32xi32>
  %v = memref.load %t[%i] : memref<32xi32>
  return %v : i32
}
