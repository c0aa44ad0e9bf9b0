// mq.dot4: u8 x s8 4-way dot products into i32 lanes. The expected values
// were computed by hand-written Python from the definition (the unsigned
// bytes 128..255 are printed as negative i8 in the constant).
// REQUIRES: mlir-runner
// RUN: matquant-opt %s --matquant-reference-to-llvm | mlir-runner -e main -entry-point-result=void %runner_libs | FileCheck %s
// RUN: matquant-opt %s --matquant-cpu-to-llvm | mlir-runner -e main -entry-point-result=void %runner_libs | FileCheck %s
// The VNNI lowering (vpdpbusd), where the CPU has it:
// RUN: %if avx512vnni %{ matquant-opt %s --matquant-cpu-to-llvm="activation-bits=8" | mlir-runner -e main -entry-point-result=void %runner_libs | FileCheck %s %}
// RUN: matquant-opt %s --matquant-lower-dot4="vnni=true" | FileCheck %s --check-prefix=VNNI
// RUN: matquant-opt %s --matquant-lower-dot4 | FileCheck %s --check-prefix=GENERIC
// VNNI: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
// GENERIC: arith.extui %{{.*}} : vector<64xi8> to vector<64xi32>
// GENERIC: arith.extsi %{{.*}} : vector<64xi8> to vector<64xi32>
// GENERIC: arith.muli %{{.*}}, %{{.*}} : vector<64xi32>
// GENERIC-COUNT-4: vector.shuffle
func.func @main() {
  %acc = arith.constant dense<[-7000, -6000, -5000, -4000, -3000, -2000, -1000, 0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000]> : vector<16xi32>
  %a = arith.constant dense<[-1, 36, 73, 110, -109, -72, -35, 2, 39, 76, 113, -106, -69, -32, 5, 42, 79, 116, -103, -66, -29, 8, 45, 82, 119, -100, -63, -26, 11, 48, 85, 122, -97, -60, -23, 14, 51, 88, 125, -94, -57, -20, 17, 54, 91, -128, -91, -54, -17, 20, 57, 94, -125, -88, -51, -14, 23, 60, 97, -122, -85, -48, -11, 26]> : vector<64xi8>
  %b = arith.constant dense<[-128, -75, -22, 31, 84, -119, -66, -13, 40, 93, -110, -57, -4, 49, 102, -101, -48, 5, 58, 111, -92, -39, 14, 67, 120, -83, -30, 23, 76, -127, -74, -21, 32, 85, -118, -65, -12, 41, 94, -109, -56, -3, 50, 103, -100, -47, 6, 59, 112, -91, -38, 15, 68, 121, -82, -29, 24, 77, -126, -73, -20, 33, 86, -117]> : vector<64xi8>
  %r = mq.dot4 %acc, %a, %b : vector<64xi8>, vector<64xi8> into vector<16xi32>
  vector.print %r : vector<16xi32>
  return
}
// CHECK: ( -40536, -30160, -17352, 2496, 23752, -17072, -168, -14112, -5656, -912, -2440, 1792, 29192, 11408, -9832, 29472 )
