// Policies of mq-apply-schedule on five transformer blocks and an output
// layer, each a 2x256 weight stored at 8 bits (per channel: 2 (scale,
// offset) pairs, 0.25 bits per parameter of overhead).
//
// RUN: matquant-opt %s --mq-apply-schedule="policy=uniform=3" | FileCheck %s --check-prefix=UNIFORM
// UNIFORM: module attributes {mq.effective_bits = 3.250000e+00 : f64, mq.schedule_widths = {layers.0.feed_forward.w1 = 3 : i64, layers.1.feed_forward.w1 = 3 : i64, layers.2.feed_forward.w1 = 3 : i64, layers.3.feed_forward.w1 = 3 : i64, layers.4.feed_forward.w1 = 3 : i64, output = 3 : i64}}
// UNIFORM-COUNT-6: mq.slice %{{.*}} to !mq.weight<2x256xf32, storage = 8, bits = 3>
//
// A list gives one width per block; the output layer is not a block and
// gets the storage width (default-width = 0).
// RUN: matquant-opt %s --mq-apply-schedule="policy=list=8,4,2,3,6" | FileCheck %s --check-prefix=LIST
// (512 * (8 + 4 + 2 + 3 + 6 + 8) + 6 * 128) / 3072 = 5.416666...
// LIST: mq.effective_bits = 5.41666{{[0-9]*}} : f64
// LIST-SAME: layers.0.feed_forward.w1 = 8 : i64, layers.1.feed_forward.w1 = 4 : i64, layers.2.feed_forward.w1 = 2 : i64, layers.3.feed_forward.w1 = 3 : i64, layers.4.feed_forward.w1 = 6 : i64, output = 8 : i64
// LIST: {layer = "layers.0.feed_forward.w1"} : tensor<256xf32>, !mq.weight<2x256xf32, storage = 8, bits = 8>
// LIST: {layer = "layers.1.feed_forward.w1"} : tensor<256xf32>, !mq.weight<2x256xf32, storage = 8, bits = 4>
// LIST: {layer = "layers.2.feed_forward.w1"} : tensor<256xf32>, !mq.weight<2x256xf32, storage = 8, bits = 2>
// LIST: {layer = "output"} : tensor<256xf32>, !mq.weight<2x256xf32, storage = 8, bits = 8>
//
// RUN: echo '{"layers.0.feed_forward.w1": 4, "output": 2}' > %t.json
// RUN: matquant-opt %s --mq-apply-schedule="policy=json=%t.json default-width=6" | FileCheck %s --check-prefix=JSON
// JSON: layers.0.feed_forward.w1 = 4 : i64, layers.1.feed_forward.w1 = 6 : i64, layers.2.feed_forward.w1 = 6 : i64, layers.3.feed_forward.w1 = 6 : i64, layers.4.feed_forward.w1 = 6 : i64, output = 2 : i64
//
// Pyramid, edge 2, center 8 over blocks 0..4: targets 2, 5, 8, 5, 2; 5 is
// halfway between the allowed 4 and 6 and goes to the wider; the output
// layer gets the edge width.
// RUN: matquant-opt %s --mq-apply-schedule="policy=pyramid" | FileCheck %s --check-prefix=PYRAMID
// PYRAMID: layers.0.feed_forward.w1 = 2 : i64, layers.1.feed_forward.w1 = 6 : i64, layers.2.feed_forward.w1 = 8 : i64, layers.3.feed_forward.w1 = 6 : i64, layers.4.feed_forward.w1 = 2 : i64, output = 2 : i64
// With allowed widths 3 and 4 only, edge 3, center 4: targets 3, 3.5, 4, 3.5, 3.
// RUN: matquant-opt %s --mq-apply-schedule="policy=pyramid pyramid-edge=3 pyramid-center=4 allowed-widths=4,3" | FileCheck %s --check-prefix=PYRAMID34
// PYRAMID34: layers.0.feed_forward.w1 = 3 : i64, layers.1.feed_forward.w1 = 4 : i64, layers.2.feed_forward.w1 = 4 : i64, layers.3.feed_forward.w1 = 4 : i64, layers.4.feed_forward.w1 = 3 : i64, output = 3 : i64
//
// The report remark.
// RUN: matquant-opt %s --mq-apply-schedule="policy=uniform=4 report=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT
// REPORT: remark: Mix'n'Match schedule (policy uniform=4), 4.2500 effective bits per parameter
// REPORT-NEXT: layer params width bits/param sq. error
// REPORT-NEXT: layers.0.feed_forward.w1 512 4 4.2500 -
// REPORT: output 512 4 4.2500 -
// REPORT-NEXT: (weight errors are computed for policy=budget only)

module {
  func.func @blocks(%x: tensor<256xf32>, %s: tensor<2x1xf32>, %q0: !mq.weight<2x256xf32, storage = 8, bits = 8>, %q1: !mq.weight<2x256xf32, storage = 8, bits = 8>, %q2: !mq.weight<2x256xf32, storage = 8, bits = 8>, %q3: !mq.weight<2x256xf32, storage = 8, bits = 8>, %q4: !mq.weight<2x256xf32, storage = 8, bits = 8>, %q5: !mq.weight<2x256xf32, storage = 8, bits = 8>) -> (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) {
    %y0 = mq.matvec %x, %q0, %s, %s {layer = "layers.0.feed_forward.w1"} : tensor<256xf32>, !mq.weight<2x256xf32, storage = 8, bits = 8>, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2xf32>
    %y1 = mq.matvec %x, %q1, %s, %s {layer = "layers.1.feed_forward.w1"} : tensor<256xf32>, !mq.weight<2x256xf32, storage = 8, bits = 8>, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2xf32>
    %y2 = mq.matvec %x, %q2, %s, %s {layer = "layers.2.feed_forward.w1"} : tensor<256xf32>, !mq.weight<2x256xf32, storage = 8, bits = 8>, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2xf32>
    %y3 = mq.matvec %x, %q3, %s, %s {layer = "layers.3.feed_forward.w1"} : tensor<256xf32>, !mq.weight<2x256xf32, storage = 8, bits = 8>, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2xf32>
    %y4 = mq.matvec %x, %q4, %s, %s {layer = "layers.4.feed_forward.w1"} : tensor<256xf32>, !mq.weight<2x256xf32, storage = 8, bits = 8>, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2xf32>
    %y5 = mq.matvec %x, %q5, %s, %s {layer = "output"} : tensor<256xf32>, !mq.weight<2x256xf32, storage = 8, bits = 8>, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2xf32>
    return %y0, %y1, %y2, %y3, %y4, %y5 : tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>
  }
}
