// RUN: matquant-opt %s --mq-apply-schedule -split-input-file -verify-diagnostics

// expected-error @+1 {{no schedule: pass the 'schedule' option or set the module's 'mq.schedule' attribute}}
module {
}

// -----

// expected-error @+1 {{'mq.schedule' must be a #mq.schedule attribute, got 4 : i64}}
module attributes {mq.schedule = 4} {
}

// -----

module attributes {mq.schedule = #mq.schedule<default = 8, layers = {}>} {
  func.func @wider(%x: tensor<12xf32>, %q: !mq.weight<8x12xf32, storage = 4, bits = 4>, %s: tensor<8x1xf32>) -> tensor<8xf32> {
    // expected-error @+1 {{schedule gives layer 'l0' 8 bits, wider than its stored 4-bit model}}
    %y = mq.matvec %x, %q, %s, %s {layer = "l0"} : tensor<12xf32>, !mq.weight<8x12xf32, storage = 4, bits = 4>, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
    return %y : tensor<8xf32>
  }
}

// -----

module attributes {mq.schedule = #mq.schedule<default = 3, layers = {}>} {
  func.func @not_nested(%x: tensor<12xf32>, %q: !mq.weight<8x12xf32, storage = 8, bits = 8, widths = [8, 4, 2]>, %s: tensor<8x1xf32>) -> tensor<8xf32> {
    // expected-error @+1 {{schedule gives layer 'l0' 3 bits, which is not one of the nested widths of '!mq.weight<8x12xf32, storage = 8, bits = 8, widths = [8, 4, 2]>'}}
    %y = mq.matvec %x, %q, %s, %s {layer = "l0"} : tensor<12xf32>, !mq.weight<8x12xf32, storage = 8, bits = 8, widths = [8, 4, 2]>, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
    return %y : tensor<8xf32>
  }
}

// -----

module attributes {mq.schedule = #mq.schedule<default = 2, layers = {}>} {
  func.func @packed(%x: tensor<12xf32>, %q: !mq.weight<8x12xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>, %s: tensor<8x1xf32>) -> tensor<8xf32> {
    // expected-error @+1 {{weight of layer 'l0' is already packed; apply the schedule before packing}}
    %y = mq.matvec %x, %q, %s, %s {layer = "l0"} : tensor<12xf32>, !mq.weight<8x12xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
    return %y : tensor<8xf32>
  }
}
