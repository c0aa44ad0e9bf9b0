// RUN: matquant-opt %s --mq-capture-layer-inputs -verify-diagnostics

// expected-error @+1 {{mq-capture-layer-inputs: function 'decode_step' must have a single block}}
func.func @decode_step(%a: f32, %c: i1) -> f32 {
  cf.cond_br %c, ^bb1, ^bb2
^bb1:
  return %a : f32
^bb2:
  return %a : f32
}
