// RUN: matquant-opt %s --split-input-file --mq-externalize-weights="min-bytes=16" -verify-diagnostics
// RUN: not matquant-opt %s --split-input-file --mq-externalize-weights="alignment=48" 2>&1 | FileCheck %s --check-prefix=ALIGN
// RUN: not matquant-opt %s --split-input-file --mq-externalize-weights="min-bytes=16 file=%t.missing/dir/arena.bin" 2>&1 | FileCheck %s --check-prefix=FILE

// ALIGN: error: mq-externalize-weights: alignment must be a power of two, got 48
// FILE: error: mq-externalize-weights: cannot write '{{.*}}arena.bin': {{.*}}

// A reader with a caller in the module: the call would not pass the arena.

memref.global "private" constant @w : memref<8xf32> = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]>

// expected-error @+1 {{'func.func' op reads weights that mq-externalize-weights moves to an arena argument, but is called in the module; its callers would not pass the arena}}
func.func @step(%i: index) -> f32 {
  %w = memref.get_global @w : memref<8xf32>
  %v = memref.load %w[%i] : memref<8xf32>
  return %v : f32
}

func.func @main() -> f32 {
  %c0 = arith.constant 0 : index
  // expected-note @+1 {{called here}}
  %r = call @step(%c0) : (index) -> f32
  return %r : f32
}

// -----

// A read outside a function.

memref.global "private" constant @w : memref<8xf32> = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]>

llvm.func @not_a_func() {
  // expected-error @+1 {{'memref.get_global' op reads 'w' outside a function; mq-externalize-weights cannot pass it an arena}}
  %w = memref.get_global @w : memref<8xf32>
  llvm.return
}

// -----

// An arena already present.

// expected-error @+1 {{mq-externalize-weights: the module already has an arena}}
module attributes {mq.arena = {size = 0 : i64}} {
}

// -----

// A valid module (the FILE run fails to write its arena).

memref.global "private" constant @w : memref<8xf32> = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]>

func.func @step(%i: index) -> f32 {
  %w = memref.get_global @w : memref<8xf32>
  %v = memref.load %w[%i] : memref<8xf32>
  return %v : f32
}
