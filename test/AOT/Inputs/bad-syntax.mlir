// Not a valid module: the result type is missing.
func.func @kernel(%x: tensor<4xf32>) -> attributes {llvm.emit_c_interface} {
  return %x : tensor<4xf32>
}
