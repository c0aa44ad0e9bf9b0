// RUN: not matquant-opt %s --convert-mq-to-vector="vector-width=12" 2>&1 | FileCheck %s
// RUN: not matquant-opt %s --convert-mq-to-vector="row-tile=0" 2>&1 | FileCheck %s
// CHECK: error: convert-mq-to-vector: vector-width must be a power of two and accumulators, batch-tile, row-tile positive
module {
}
