// Compiles, but an unranked memref has no descriptor struct in the header.
func.func @unranked(%x: tensor<*xf32>) -> tensor<*xf32>
    attributes {llvm.emit_c_interface} {
  return %x : tensor<*xf32>
}
