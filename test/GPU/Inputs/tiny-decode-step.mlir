// A decode step small enough to check by hand, in the convention of
// matquant-run --gpu-out / matquant-gpu-run: (token, position, state) ->
// (logits, next state). The next state is the state plus the token's row of
// an 8x4 embedding table; the logits are the table times the next state.
// Used by decode-to-gpu-small.test and gpu-run-no-driver.test (and, on a
// GPU, decode-to-gpu-execute.test).
func.func @decode_step(%tok: index, %pos: index, %s: tensor<4xf32>) -> (tensor<8xf32>, tensor<4xf32>) {
  %emb = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [0.5, 0.25, 0.125, 1.0], [2.0, 0.0, 1.0, 3.0], [1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0], [3.0, 2.0, 1.0, 0.0], [9.0, 8.0, 7.0, 6.0]]> : tensor<8x4xf32>
  %row = tensor.extract_slice %emb[%tok, 0] [1, 4] [1, 1] : tensor<8x4xf32> to tensor<4xf32>
  %e = tensor.empty() : tensor<4xf32>
  %next = linalg.add ins(%s, %row : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %z = arith.constant 0.0 : f32
  %l0 = tensor.empty() : tensor<8xf32>
  %l1 = linalg.fill ins(%z : f32) outs(%l0 : tensor<8xf32>) -> tensor<8xf32>
  %logits = linalg.matvec ins(%emb, %next : tensor<8x4xf32>, tensor<4xf32>) outs(%l1 : tensor<8xf32>) -> tensor<8xf32>
  return %logits, %next : tensor<8xf32>, tensor<4xf32>
}
