// RUN: not matquant-opt %s --mq-apply-schedule='schedule="#mq.layout<dense, 4>"' 2>&1 | FileCheck %s
// CHECK: error: option 'schedule' is not a #mq.schedule attribute: '#mq.layout<dense, 4>'
module {
}
