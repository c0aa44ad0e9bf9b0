// A valid kernel, for the option and output errors.
func.func @kernel(%x: tensor<64xf32>,
    %w: !mq.weight<8x64xf32, storage = 8, bits = 4,
                   layout = #mq.layout<interleaved, 4, block = 64>>,
    %s: tensor<8x1xf32>, %m: tensor<8x1xf32>)
    -> tensor<8xf32> attributes {llvm.emit_c_interface} {
  %y = mq.matvec %x, %w, %s, %m : tensor<64xf32>,
      !mq.weight<8x64xf32, storage = 8, bits = 4,
                 layout = #mq.layout<interleaved, 4, block = 64>>,
      tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
  return %y : tensor<8xf32>
}
