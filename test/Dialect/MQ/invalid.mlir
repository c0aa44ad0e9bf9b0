// RUN: matquant-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{width 9 must be in [1, storage width 8]}}
func.func @bits_over_storage(%a: !mq.weight<4x6xf32, storage = 8, bits = 9>)

// -----

// expected-error @+1 {{storage width must be in [1, 8], got 9}}
func.func @storage_too_wide(%a: !mq.weight<4x6xf32, storage = 9, bits = 4>)

// -----

// expected-error @+1 {{width 0 must be in [1, storage width 8]}}
func.func @bits_zero(%a: !mq.weight<4x6xf32, storage = 8, bits = 0>)

// -----

// expected-error @+1 {{width 3 is not one of the nested widths}}
func.func @bits_not_nested(%a: !mq.weight<4x6xf32, storage = 8, bits = 3, widths = [8, 4, 2]>)

// -----

// expected-error @+1 {{nested width 9 must be in [1, storage width 8]}}
func.func @nested_too_wide(%a: !mq.weight<4x6xf32, storage = 8, bits = 8, widths = [9, 8]>)

// -----

// expected-error @+1 {{nested width 4 is repeated}}
func.func @nested_repeated(%a: !mq.weight<4x6xf32, storage = 8, bits = 8, widths = [8, 4, 4]>)

// -----

// expected-error @+1 {{nested widths must include the storage width 8}}
func.func @nested_without_storage(%a: !mq.weight<4x6xf32, storage = 8, bits = 4, widths = [4, 2]>)

// -----

// expected-error @+1 {{group size 4 does not divide the reduction dimension 6}}
func.func @group_not_dividing(%a: !mq.weight<4x6xf32, storage = 8, bits = 8, group = 4>)

// -----

// expected-error @+1 {{group size 4 does not divide the reduction dimension 6}}
func.func @group_axis1(%a: !mq.weight<6x4xf32, storage = 8, bits = 8, axis = 1, group = 4>)

// -----

// expected-error @+1 {{group size must be non-negative, got -2}}
func.func @group_negative(%a: !mq.weight<4x6xf32, storage = 8, bits = 8, group = -2>)

// -----

// expected-error @+1 {{channel axis must be 0 or 1, got 2}}
func.func @bad_axis(%a: !mq.weight<4x6xf32, storage = 8, bits = 8, axis = 2>)

// -----

// expected-error @+1 {{weight must have rank 2, got rank 3}}
func.func @rank3(%a: !mq.weight<4x6x2xf32, storage = 8, bits = 8>)

// -----

// expected-error @+1 {{weight element type must be f32, f16 or bf16, got 'i32'}}
func.func @int_element(%a: !mq.weight<4x6xi32, storage = 8, bits = 8>)

// -----

// expected-error @+1 {{layout width 4 does not match the index width 2 of a 2-bit clamped slice}}
func.func @layout_width(%a: !mq.weight<4x6xf32, storage = 8, bits = 2, layout = #mq.layout<dense, 4>>)

// -----

// expected-error @+1 {{layout width 2 does not match the index width 3 of a 2-bit extra_precision slice}}
func.func @layout_width_ep(%a: !mq.weight<4x6xf32, storage = 8, bits = 2, mode = extra_precision, layout = #mq.layout<dense, 2>>)

// -----

// A prefix-exact slice has no extra top level: r bits, not r + 1.
// expected-error @+1 {{layout width 3 does not match the index width 2 of a 2-bit prefix_exact slice}}
func.func @layout_width_pe(%a: !mq.weight<4x6xf32, storage = 8, bits = 2, mode = prefix_exact, layout = #mq.layout<planes, 3>>)

// -----

// expected-error @+1 {{layout width must be in [1, 8], got 9}}
func.func @dense_too_wide(%a: !mq.weight<4x6xf32, storage = 8, bits = 8, layout = #mq.layout<dense, 9>>)

// -----

// expected-error @+1 {{layout width must be in [1, 8], got 0}}
func.func @layout_zero(%a: !mq.weight<4x6xf32, storage = 8, bits = 8, layout = #mq.layout<planes, 0>>)

// -----

// expected-error @+1 {{weight type needs 'storage' and 'bits'}}
func.func @missing_bits(%a: !mq.weight<4x6xf32, storage = 8>)

// -----

// expected-error @+1 {{unknown weight parameter 'foo'}}
func.func @unknown_param(%a: !mq.weight<4x6xf32, storage = 8, bits = 8, foo = 1>)

// -----

// expected-error @+1 {{parameter 'bits' is repeated}}
func.func @repeated_param(%a: !mq.weight<4x6xf32, storage = 8, bits = 8, bits = 4>)

// -----

// expected-error @+1 {{unknown slice mode 'truncate', expected 'clamped', 'extra_precision' or 'prefix_exact'}}
func.func @bad_mode(%a: !mq.weight<4x6xf32, storage = 8, bits = 8, mode = truncate>)

// -----

// expected-error @+1 {{expected a #mq.layout attribute}}
func.func @bad_layout(%a: !mq.weight<4x6xf32, storage = 8, bits = 8, layout = 3>)

// -----

// expected-error @+1 {{'storage' must be a small non-negative integer}}
func.func @huge_storage(%a: !mq.weight<4x6xf32, storage = 99999, bits = 8>)

// -----

// expected-error @+1 {{weight dimensions must be static and positive}}
func.func @zero_dim(%a: !mq.weight<0x6xf32, storage = 8, bits = 8>)

// -----

// expected-error @+1 {{schedule default width must be in [1, 8], got 9}}
func.func @schedule_default() attributes {s = #mq.schedule<default = 9, layers = {}>}

// -----

// expected-error @+1 {{schedule entry 'l0' has width 0, expected [1, 8]}}
func.func @schedule_entry() attributes {s = #mq.schedule<default = 4, layers = {l0 = 0}>}

// -----

// expected-error @+1 {{schedule entry 'l0' must be an integer width}}
func.func @schedule_entry_type() attributes {s = #mq.schedule<default = 4, layers = {l0 = "x"}>}

// -----

func.func @slice_up(%a: !mq.weight<4x6xf32, storage = 8, bits = 2>) {
  // expected-error @+1 {{cannot slice a 2-bit weight to 4 bits: the slice width must not exceed the input width}}
  %0 = mq.slice %a : !mq.weight<4x6xf32, storage = 8, bits = 2> to !mq.weight<4x6xf32, storage = 8, bits = 4>
  return
}

// -----

func.func @slice_changes_group(%a: !mq.weight<4x6xf32, storage = 8, bits = 8>) {
  // expected-error @+1 {{result must differ from the input only in its width}}
  %0 = mq.slice %a : !mq.weight<4x6xf32, storage = 8, bits = 8> to !mq.weight<4x6xf32, storage = 8, bits = 4, group = 3>
  return
}

// -----

// The mode cannot change along a chain of slices.
func.func @slice_changes_mode(%a: !mq.weight<4x6xf32, storage = 8, bits = 8>) {
  // expected-error @+1 {{result must differ from the input only in its width}}
  %0 = mq.slice %a : !mq.weight<4x6xf32, storage = 8, bits = 8> to !mq.weight<4x6xf32, storage = 8, bits = 4, mode = prefix_exact>
  return
}

// -----

func.func @slice_packed(%a: !mq.weight<4x6xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>) {
  // expected-error @+1 {{slices logical weights only; unpack a packed weight first}}
  %0 = mq.slice %a : !mq.weight<4x6xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>> to !mq.weight<4x6xf32, storage = 8, bits = 2>
  return
}

// -----

func.func @quantize_shape(%w: tensor<4x5xf32>) {
  // expected-error @+1 {{input shape does not match the weight shape}}
  %q, %s, %m = mq.quantize %w : tensor<4x5xf32> -> !mq.weight<4x6xf32, storage = 8, bits = 8>, tensor<4x1xf32>, tensor<4x1xf32>
  return
}

// -----

func.func @quantize_elt(%w: tensor<4x6xf16>) {
  // expected-error @+1 {{input element type 'f16' does not match the weight element type 'f32'}}
  %q, %s, %m = mq.quantize %w : tensor<4x6xf16> -> !mq.weight<4x6xf32, storage = 8, bits = 8>, tensor<4x1xf32>, tensor<4x1xf32>
  return
}

// -----

func.func @quantize_sliced(%w: tensor<4x6xf32>) {
  // expected-error @+1 {{result must hold the full storage width 8, got width 4 (use mq.slice)}}
  %q, %s, %m = mq.quantize %w : tensor<4x6xf32> -> !mq.weight<4x6xf32, storage = 8, bits = 4>, tensor<4x1xf32>, tensor<4x1xf32>
  return
}

// -----

func.func @quantize_packed(%w: tensor<4x6xf32>) {
  // expected-error @+1 {{result must not have a layout (use mq.pack)}}
  %q, %s, %m = mq.quantize %w : tensor<4x6xf32> -> !mq.weight<4x6xf32, storage = 8, bits = 8, layout = #mq.layout<dense, 8>>, tensor<4x1xf32>, tensor<4x1xf32>
  return
}

// -----

func.func @quantize_clip(%w: tensor<4x6xf32>) {
  // expected-error @+1 {{clip gamma must be in (0, 1], got 1.5}}
  %q, %s, %m = mq.quantize %w clip(1.5, 0.9) : tensor<4x6xf32> -> !mq.weight<4x6xf32, storage = 8, bits = 8>, tensor<4x1xf32>, tensor<4x1xf32>
  return
}

// -----

func.func @quantize_clip_beta(%w: tensor<4x6xf32>) {
  // expected-error @+1 {{clip beta must be in (0, 1], got 0}}
  %q, %s, %m = mq.quantize %w clip(0.5, 0.0) : tensor<4x6xf32> -> !mq.weight<4x6xf32, storage = 8, bits = 8>, tensor<4x1xf32>, tensor<4x1xf32>
  return
}

// -----

func.func @quantize_half_clip(%w: tensor<4x6xf32>) {
  // expected-error @+1 {{clip needs both gamma and beta}}
  %q, %s, %m = "mq.quantize"(%w) <{gamma = 0.5 : f32}> : (tensor<4x6xf32>) -> (!mq.weight<4x6xf32, storage = 8, bits = 8>, tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

func.func @quantize_scales(%w: tensor<4x6xf32>) {
  // expected-error @+1 {{scales type 'tensor<4x1xf32>' does not match the expected 'tensor<4x2xf32>' for 2 group(s) per channel}}
  %q, %s, %m = mq.quantize %w : tensor<4x6xf32> -> !mq.weight<4x6xf32, storage = 8, bits = 8, group = 3>, tensor<4x1xf32>, tensor<4x2xf32>
  return
}

// -----

func.func @quantize_offsets(%w: tensor<6x4xf32>) {
  // expected-error @+1 {{offsets type 'tensor<6x1xf32>' does not match the expected 'tensor<3x4xf32>' for 3 group(s) per channel}}
  %q, %s, %m = mq.quantize %w : tensor<6x4xf32> -> !mq.weight<6x4xf32, storage = 8, bits = 8, axis = 1, group = 2>, tensor<3x4xf32>, tensor<6x1xf32>
  return
}

// -----

func.func @quantize_int(%w: tensor<4x6xi32>) {
  // expected-error @+1 {{operand #0 must be 2D tensor of 32-bit float or 16-bit float or bfloat16 type values}}
  %q, %s, %m = "mq.quantize"(%w) : (tensor<4x6xi32>) -> (!mq.weight<4x6xf32, storage = 8, bits = 8>, tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

func.func @dequantize_packed(%a: !mq.weight<4x6xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{input must be a logical weight without a layout (use mq.unpack)}}
  %0 = mq.dequantize %a, %s, %s : !mq.weight<4x6xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4x6xf32>
  return
}

// -----

func.func @dequantize_shape(%a: !mq.weight<4x6xf32, storage = 8, bits = 4>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{result shape does not match the weight shape}}
  %0 = mq.dequantize %a, %s, %s : !mq.weight<4x6xf32, storage = 8, bits = 4>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<6x4xf32>
  return
}

// -----

func.func @dequantize_scales(%a: !mq.weight<4x6xf32, storage = 8, bits = 4>, %s: tensor<4x2xf32>, %m: tensor<4x1xf32>) {
  // expected-error @+1 {{scales type 'tensor<4x2xf32>' does not match the expected 'tensor<4x1xf32>' for 1 group(s) per channel}}
  %0 = mq.dequantize %a, %s, %m : !mq.weight<4x6xf32, storage = 8, bits = 4>, tensor<4x2xf32>, tensor<4x1xf32> -> tensor<4x6xf32>
  return
}

// -----

func.func @pack_logical_result(%a: !mq.weight<4x6xf32, storage = 8, bits = 4>) {
  // expected-error @+1 {{packed side '!mq.weight<4x6xf32, storage = 8, bits = 4>' must have a layout}}
  %0 = mq.pack %a : !mq.weight<4x6xf32, storage = 8, bits = 4> to !mq.weight<4x6xf32, storage = 8, bits = 4>
  return
}

// -----

func.func @pack_packed_input(%a: !mq.weight<4x6xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>) {
  // expected-error @+1 {{logical side '!mq.weight<4x6xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>' must not have a layout}}
  %0 = mq.pack %a : !mq.weight<4x6xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>> to !mq.weight<4x6xf32, storage = 8, bits = 4, layout = #mq.layout<planes, 4>>
  return
}

// -----

func.func @pack_changes_width(%a: !mq.weight<4x6xf32, storage = 8, bits = 4>) {
  // expected-error @+1 {{packed and logical types must differ only in the layout}}
  %0 = mq.pack %a : !mq.weight<4x6xf32, storage = 8, bits = 4> to !mq.weight<4x6xf32, storage = 8, bits = 2, layout = #mq.layout<dense, 2>>
  return
}

// -----

func.func @unpack_logical(%a: !mq.weight<4x6xf32, storage = 8, bits = 4>) {
  // expected-error @+1 {{packed side '!mq.weight<4x6xf32, storage = 8, bits = 4>' must have a layout}}
  %0 = mq.unpack %a : !mq.weight<4x6xf32, storage = 8, bits = 4> to !mq.weight<4x6xf32, storage = 8, bits = 4>
  return
}

// -----

func.func @matvec_k(%x: tensor<5xf32>, %a: !mq.weight<4x6xf32, storage = 8, bits = 4>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{activation reduction size 5 does not match the weight's 6}}
  %0 = mq.matvec %x, %a, %s, %s : tensor<5xf32>, !mq.weight<4x6xf32, storage = 8, bits = 4>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4xf32>
  return
}

// -----

func.func @matvec_n(%x: tensor<6xf32>, %a: !mq.weight<4x6xf32, storage = 8, bits = 4>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{result size 6 does not match the weight's 4 output channels}}
  %0 = mq.matvec %x, %a, %s, %s : tensor<6xf32>, !mq.weight<4x6xf32, storage = 8, bits = 4>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<6xf32>
  return
}

// -----

func.func @matvec_axis1(%x: tensor<6xf32>, %a: !mq.weight<6x4xf32, storage = 8, bits = 4, axis = 1>, %s: tensor<1x4xf32>) {
  // expected-error @+1 {{result size 6 does not match the weight's 4 output channels}}
  %0 = mq.matvec %x, %a, %s, %s : tensor<6xf32>, !mq.weight<6x4xf32, storage = 8, bits = 4, axis = 1>, tensor<1x4xf32>, tensor<1x4xf32> -> tensor<6xf32>
  return
}

// -----

func.func @matvec_elt(%x: tensor<6xf32>, %a: !mq.weight<4x6xf32, storage = 8, bits = 4>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{result element type 'f16' must be the activation type 'f32' or f32}}
  %0 = mq.matvec %x, %a, %s, %s : tensor<6xf32>, !mq.weight<4x6xf32, storage = 8, bits = 4>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4xf16>
  return
}

// -----

func.func @matmul_elt(%x: tensor<2x6xbf16>, %a: !mq.weight<4x6xf32, storage = 8, bits = 4>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{result element type 'f16' must be the activation type 'bf16' or f32}}
  %0 = mq.matmul %x, %a, %s, %s : tensor<2x6xbf16>, !mq.weight<4x6xf32, storage = 8, bits = 4>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<2x4xf16>
  return
}

// -----

func.func @matmul_batch(%x: tensor<3x6xf32>, %a: !mq.weight<4x6xf32, storage = 8, bits = 4>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{batch size 2 of the result does not match the activations' 3}}
  %0 = mq.matmul %x, %a, %s, %s : tensor<3x6xf32>, !mq.weight<4x6xf32, storage = 8, bits = 4>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_offsets(%x: tensor<3x6xf32>, %a: !mq.weight<4x6xf32, storage = 8, bits = 4, group = 3>, %s: tensor<4x2xf32>, %m: tensor<4x1xf32>) {
  // expected-error @+1 {{offsets type 'tensor<4x1xf32>' does not match the expected 'tensor<4x2xf32>' for 2 group(s) per channel}}
  %0 = mq.matmul %x, %a, %s, %m : tensor<3x6xf32>, !mq.weight<4x6xf32, storage = 8, bits = 4, group = 3>, tensor<4x2xf32>, tensor<4x1xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @constant_shape() {
  // expected-error @+1 {{value type 'tensor<2x2xi8>' does not match the storage type 'tensor<2x3xi8>' of '!mq.weight<2x3xf32, storage = 8, bits = 2>'}}
  %c = mq.constant dense<0> : tensor<2x2xi8> : !mq.weight<2x3xf32, storage = 8, bits = 2>
  return
}

// -----

func.func @constant_range() {
  // expected-error @+1 {{index 4 at element 2 exceeds the largest index 3 of a 2-bit slice}}
  %c = mq.constant dense<[[0, 1, 4], [0, 0, 0]]> : tensor<2x3xi8> : !mq.weight<2x3xf32, storage = 8, bits = 2>
  return
}

// -----

// Prefix exact: the top index of an int2 slice is 3, as when clamped.
func.func @constant_range_prefix() {
  // expected-error @+1 {{index 4 at element 1 exceeds the largest index 3 of a 2-bit slice}}
  %c = mq.constant dense<[[0, 4, 3], [0, 0, 0]]> : tensor<2x3xi8> : !mq.weight<2x3xf32, storage = 8, bits = 2, mode = prefix_exact>
  return
}

// -----

func.func @pack_changes_mode(%a: !mq.weight<4x6xf32, storage = 8, bits = 2, mode = prefix_exact>) {
  // expected-error @+1 {{packed and logical types must differ only in the layout}}
  %0 = mq.pack %a : !mq.weight<4x6xf32, storage = 8, bits = 2, mode = prefix_exact> to !mq.weight<4x6xf32, storage = 8, bits = 2, mode = extra_precision, layout = #mq.layout<dense, 3>>
  return
}

// -----

func.func @constant_range_neg() {
  // expected-error @+1 {{index 255 at element 0 exceeds the largest index 127 of a 7-bit slice}}
  %c = mq.constant dense<[[-1, 1, 4], [0, 0, 0]]> : tensor<2x3xi8> : !mq.weight<2x3xf32, storage = 8, bits = 7>
  return
}

// -----

// expected-error @+1 {{interleaved layout needs a block that is a positive multiple of 8 (at most 4096), got 12}}
func.func @interleaved_block(%a: !mq.weight<4x24xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 12>>)

// -----

// expected-error @+1 {{interleaved layout needs a block that is a positive multiple of 8 (at most 4096), got 0}}
func.func @interleaved_no_block(%a: !mq.weight<4x24xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4>>)

// -----

// expected-error @+1 {{only the interleaved and mma layouts take a block}}
func.func @dense_block(%a: !mq.weight<4x24xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4, block = 8>>)

// -----

// expected-error @+1 {{the interleaved layout needs channel axis 0}}
func.func @interleaved_axis(%a: !mq.weight<24x4xf32, storage = 8, bits = 4, axis = 1, layout = #mq.layout<interleaved, 4, block = 8>>)

// -----

// expected-error @+1 {{interleaved block 16 does not divide the group size 24}}
func.func @interleaved_group(%a: !mq.weight<4x48xf32, storage = 8, bits = 4, group = 24, layout = #mq.layout<interleaved, 4, block = 16>>)

// -----

// expected-error @+1 {{interleaved row tile 8 does not divide the 12 rows}}
func.func @interleaved_rows(%a: !mq.weight<12x48xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 16, rows = 8>>)

// -----

// expected-error @+1 {{layout row tile must be in [1, 64], got 0}}
func.func @interleaved_rows_zero(%a: !mq.weight<12x48xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 16, rows = 0>>)

// -----

// expected-error @+1 {{layout row tile must be in [1, 64], got 128}}
func.func @interleaved_rows_large(%a: !mq.weight<128x48xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 16, rows = 128>>)

// -----

// expected-error @+1 {{only the interleaved layout takes a row tile}}
func.func @mma_rows(%a: !mq.weight<16x64xf16, storage = 8, bits = 4, layout = #mq.layout<mma, 4, block = 64, rows = 2>>)

// -----

// The row tile follows the block, which the interleaved layout needs.
// expected-error @+1 {{expected 'block'}}
func.func @rows_without_block(%a: !mq.weight<8x48xf32, storage = 8, bits = 1, layout = #mq.layout<planes, 1, rows = 4>>)

// -----

func.func @dot4_bytes(%acc: vector<4xi32>, %a: vector<16xi8>, %b: vector<12xi8>) -> vector<4xi32> {
  // expected-error @+1 {{operands have 16 and 12 bytes; expected the same number}}
  %r = mq.dot4 %acc, %a, %b : vector<16xi8>, vector<12xi8> into vector<4xi32>
  return %r : vector<4xi32>
}

// -----

func.func @dot4_lanes(%acc: vector<8xi32>, %a: vector<16xi8>, %b: vector<16xi8>) -> vector<8xi32> {
  // expected-error @+1 {{expected 4 bytes per i32 lane (32), got 16}}
  %r = mq.dot4 %acc, %a, %b : vector<16xi8>, vector<16xi8> into vector<8xi32>
  return %r : vector<8xi32>
}

// -----

func.func @dynamic_needs_stored_model(%x: tensor<16xf32>, %w: !mq.weight<4x16xf32, storage = 8, bits = 4>, %s: tensor<4x1xf32>, %r: i32) {
  // expected-error @+1 {{weight must be the stored model (bits = storage = 8), got a 4-bit slice: the width is chosen at run time}}
  %y = mq.matvec_dynamic %x, %w, %s, %s, width %r : tensor<16xf32>, !mq.weight<4x16xf32, storage = 8, bits = 4>, tensor<4x1xf32>, tensor<4x1xf32>, i32 -> tensor<4xf32>
  return
}

// -----

func.func @dynamic_batch(%x: tensor<3x16xf32>, %w: !mq.weight<4x16xf32, storage = 8, bits = 8>, %s: tensor<4x1xf32>, %r: i32) {
  // expected-error @+1 {{batch size 2 of the result does not match the activations' 3}}
  %y = mq.matmul_dynamic %x, %w, %s, %s, width %r : tensor<3x16xf32>, !mq.weight<4x16xf32, storage = 8, bits = 8>, tensor<4x1xf32>, tensor<4x1xf32>, i32 -> tensor<2x4xf32>
  return
}

// -----

func.func @dynamic_reduction(%x: tensor<12xf32>, %w: !mq.weight<4x16xf32, storage = 8, bits = 8>, %s: tensor<4x1xf32>, %r: index) {
  // expected-error @+1 {{activation reduction size 12 does not match the weight's 16}}
  %y = mq.matvec_dynamic %x, %w, %s, %s, width %r : tensor<12xf32>, !mq.weight<4x16xf32, storage = 8, bits = 8>, tensor<4x1xf32>, tensor<4x1xf32>, index -> tensor<4xf32>
  return
}

// -----

func.func @dynamic_scales(%x: tensor<16xf32>, %w: !mq.weight<4x16xf32, storage = 8, bits = 8, group = 8>, %s: tensor<4x1xf32>, %r: i32) {
  // expected-error @+1 {{scales type 'tensor<4x1xf32>' does not match the expected 'tensor<4x2xf32>' for 2 group(s) per channel}}
  %y = mq.matvec_dynamic %x, %w, %s, %s, width %r : tensor<16xf32>, !mq.weight<4x16xf32, storage = 8, bits = 8, group = 8>, tensor<4x1xf32>, tensor<4x1xf32>, i32 -> tensor<4xf32>
  return
}

// -----

func.func @dynamic_width_type(%x: tensor<16xf32>, %w: !mq.weight<4x16xf32, storage = 8, bits = 8>, %s: tensor<4x1xf32>, %r: f32) {
  // expected-error @+1 {{'mq.matvec_dynamic' op operand #4 must be 32-bit signless integer or index, but got 'f32'}}
  %y = "mq.matvec_dynamic"(%x, %w, %s, %s, %r) : (tensor<16xf32>, !mq.weight<4x16xf32, storage = 8, bits = 8>, tensor<4x1xf32>, tensor<4x1xf32>, f32) -> tensor<4xf32>
  return
}

// -----

// expected-error @+1 {{mma layout needs a column tile that is a multiple of 16 giving every piece of a 2-bit index whole 32-bit lane words, got 16}}
func.func @mma_tile(%a: !mq.weight<16x64xf16, storage = 8, bits = 2, layout = #mq.layout<mma, 2, block = 16>>)

// -----

// expected-error @+1 {{mma layout needs a column tile that is a multiple of 16 giving every piece of a 4-bit index whole 32-bit lane words, got 24}}
func.func @mma_tile24(%a: !mq.weight<16x64xf16, storage = 8, bits = 4, layout = #mq.layout<mma, 4, block = 24>>)

// -----

// expected-error @+1 {{the mma layout needs channel axis 0}}
func.func @mma_axis(%a: !mq.weight<64x16xf16, storage = 8, bits = 4, axis = 1, layout = #mq.layout<mma, 4, block = 64>>)

// -----

// expected-error @+1 {{mma block 64 does not divide the group size 32}}
func.func @mma_group(%a: !mq.weight<16x64xf16, storage = 8, bits = 4, group = 32, layout = #mq.layout<mma, 4, block = 64>>)

// -----

func.func @transpose_bits_words(%v: vector<12xi8>) -> vector<12xi8> {
  // expected-error @+1 {{expected whole 8-byte words, got 12 bytes}}
  %t = mq.transpose_bits %v : vector<12xi8>
  return %t : vector<12xi8>
}

// -----

func.func @pack_scales_shape(%s: tensor<17x2xf32>) -> tensor<1x2x8x2xf32> {
  // expected-error @+1 {{expected result type 'tensor<2x2x8x2xf32>' for 'tensor<17x2xf32>', got 'tensor<1x2x8x2xf32>'}}
  %p = mq.pack_scales %s : tensor<17x2xf32> -> tensor<1x2x8x2xf32>
  return %p : tensor<1x2x8x2xf32>
}

// -----

func.func @pack_scales_dynamic(%s: tensor<?x2xf32>) -> tensor<?x2x8x2xf32> {
  // expected-error @+1 {{expected statically shaped scales, got 'tensor<?x2xf32>'}}
  %p = mq.pack_scales %s : tensor<?x2xf32> -> tensor<?x2x8x2xf32>
  return %p : tensor<?x2x8x2xf32>
}

// -----

func.func @pack_scales_type(%s: tensor<16x2xf16>) -> tensor<1x2x8x2xf16> {
  // expected-error @+1 {{operand #0 must be 2D tensor of 32-bit float values}}
  %p = mq.pack_scales %s : tensor<16x2xf16> -> tensor<1x2x8x2xf16>
  return %p : tensor<1x2x8x2xf16>
}
