// mq.transpose_bits: bit (7 - p) of result byte i = bit i of input byte p,
// in every 8-byte word. The expected values were computed by hand-written
// Python from that definition (bytes 128..255 print as negative i8). The
// same input goes through a call (lowered code: the generic delta swaps,
// and vgf2p8affineqb where the CPU has GFNI) and as a constant (the folder).
// REQUIRES: mlir-runner
// RUN: matquant-opt %s --matquant-cpu-to-llvm="gfni=0" | mlir-runner -e main -entry-point-result=void %runner_libs | FileCheck %s
// RUN: %if gfni %{ matquant-opt %s --matquant-cpu-to-llvm="gfni=1" | mlir-runner -e main -entry-point-result=void %runner_libs | FileCheck %s %}
// RUN: matquant-opt %s --matquant-lower-dot4="gfni=true" | FileCheck %s --check-prefix=GFNI
// RUN: matquant-opt %s --matquant-lower-dot4 | FileCheck %s --check-prefix=GENERIC
// RUN: matquant-opt %s --canonicalize | FileCheck %s --check-prefix=FOLD
// GFNI-LABEL: func.func @transpose
// GFNI: %[[C:.*]] = arith.constant dense<[1, 2, 4, 8, 16, 32, 64, -128, 1, 2
// GFNI: %[[I:.*]] = llvm.mlir.constant(0 : i8) : i8
// GFNI: llvm.call_intrinsic "llvm.x86.vgf2p8affineqb.512"(%[[C]], %{{.*}}, %[[I]]) : (vector<64xi8>, vector<64xi8>, i8) -> vector<64xi8>
// GENERIC-LABEL: func.func @transpose
// GENERIC: vector.shuffle %{{.*}}, %{{.*}} [7, 6, 5, 4, 3, 2, 1, 0, 15, 14
// GENERIC: vector.bitcast %{{.*}} : vector<64xi8> to vector<8xi64>
// GENERIC-COUNT-3: arith.shli
// GENERIC: vector.bitcast %{{.*}} : vector<8xi64> to vector<64xi8>
// FOLD-LABEL: func.func @folded
// FOLD-NEXT: arith.constant dense<[-86, -103, 45, -101, 120, 82, 54, 14, -86, -103, 45, 100, -29, -75, 108, 28, -86, -103, 45, -101, -121, 42, -103, 120, -86, -103, 45, 100, 28, 86, 50, -15, -86, -103, 45, -101, 120, -83, 100, -29, -86, -103, 45, 100, -29, 74, -39, -57, -86, -103, 45, -101, -121, -43, -77, -113, -86, -103, 45, 100, 28, -87, 100, 28]> : vector<64xi8>
// FOLD-NOT: mq.transpose_bits
func.func @transpose(%v: vector<64xi8>) -> vector<64xi8> {
  %t = mq.transpose_bits %v : vector<64xi8>
  return %t : vector<64xi8>
}
func.func @folded() -> vector<64xi8> {
  %v = arith.constant dense<[11, 48, 85, 122, -97, -60, -23, 14, 51, 88, 125, -94, -57, -20, 17, 54, 91, -128, -91, -54, -17, 20, 57, 94, -125, -88, -51, -14, 23, 60, 97, -122, -85, -48, -11, 26, 63, 100, -119, -82, -45, -8, 29, 66, 103, -116, -79, -42, -5, 32, 69, 106, -113, -76, -39, -2, 35, 72, 109, -110, -73, -36, 1, 38]> : vector<64xi8>
  %t = mq.transpose_bits %v : vector<64xi8>
  return %t : vector<64xi8>
}
func.func @main() {
  %v = arith.constant dense<[11, 48, 85, 122, -97, -60, -23, 14, 51, 88, 125, -94, -57, -20, 17, 54, 91, -128, -91, -54, -17, 20, 57, 94, -125, -88, -51, -14, 23, 60, 97, -122, -85, -48, -11, 26, 63, 100, -119, -82, -45, -8, 29, 66, 103, -116, -79, -42, -5, 32, 69, 106, -113, -76, -39, -2, 35, 72, 109, -110, -73, -36, 1, 38]> : vector<64xi8>
  %t = call @transpose(%v) : (vector<64xi8>) -> vector<64xi8>
  vector.print %t : vector<64xi8>
  %f = call @folded() : () -> vector<64xi8>
  vector.print %f : vector<64xi8>
  return
}
// CHECK: ( -86, -103, 45, -101, 120, 82, 54, 14, -86, -103, 45, 100, -29, -75, 108, 28, -86, -103, 45, -101, -121, 42, -103, 120, -86, -103, 45, 100, 28, 86, 50, -15, -86, -103, 45, -101, 120, -83, 100, -29, -86, -103, 45, 100, -29, 74, -39, -57, -86, -103, 45, -101, -121, -43, -77, -113, -86, -103, 45, 100, 28, -87, 100, 28 )
// CHECK-NEXT: ( -86, -103, 45, -101, 120, 82, 54, 14, -86, -103, 45, 100, -29, -75, 108, 28, -86, -103, 45, -101, -121, 42, -103, 120, -86, -103, 45, 100, 28, 86, 50, -15, -86, -103, 45, -101, 120, -83, 100, -29, -86, -103, 45, 100, -29, 74, -39, -57, -86, -103, 45, -101, -121, -43, -77, -113, -86, -103, 45, 100, 28, -87, 100, 28 )
