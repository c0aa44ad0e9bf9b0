// The header is C as well as C++: a C99 program calls kernels with several
// results, scalar arguments and a scalar result, and defines the function
// that a kernel calls (a declaration with llvm.emit_c_interface).
//
// REQUIRES: cxx
// RUN: rm -rf %t && mkdir -p %t
// RUN: matquant-aot %s -o %t/kernels.o --header %t/kernels.h
// RUN: g++ -x c -std=c99 -Wall -Wextra -Werror -pedantic -I%t %S/Inputs/c-abi.c -x none %t/kernels.o -o %t/c-abi
// RUN: %t/c-abi | FileCheck %s
// The same header compiles as C++.
// RUN: g++ -x c++ -std=c++17 -Wall -Wextra -Werror -pedantic -fsyntax-only -I%t %S/Inputs/c-abi.c

// CHECK: report: 2.5 5 7.5 10
// CHECK-NEXT: scaled: 2.5 5 7.5 10, count 4, rank-1 size 4
// CHECK-NEXT: first: 9.5
// CHECK-NEXT: done

func.func private @report(tensor<4xf32>) attributes {llvm.emit_c_interface}

func.func @scale(%a: tensor<4xf32>, %alpha: f32, %count: index)
    -> (tensor<4xf32>, index) attributes {llvm.emit_c_interface} {
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>,
                                        affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %p = arith.mulf %v, %alpha : f32
    linalg.yield %p : f32
  } -> tensor<4xf32>
  func.call @report(%r) : (tensor<4xf32>) -> ()
  return %r, %count : tensor<4xf32>, index
}

func.func @first(%v: tensor<8xf32>) -> f32 attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %e = tensor.extract %v[%c0] : tensor<8xf32>
  return %e : f32
}
