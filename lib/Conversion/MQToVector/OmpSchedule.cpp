//===- OmpSchedule.cpp - OpenMP schedules of the kernels' row loops -------===//
//
// scf-to-openmp makes every omp.wsloop statically scheduled: thread t gets
// the t-th contiguous share of the rows. When the threads run at different
// speeds (vCPUs of a VM), the faster one then waits at the join. This pass
// sets another schedule, and with `chunks-per-thread` a chunk of the loop's
// iterations / (threads * chunks-per-thread), so that the threads take
// contiguous chunks as they become free.
//
//===----------------------------------------------------------------------===//

#include "matquant/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/IR/Builders.h"

namespace matquant {
#define GEN_PASS_DEF_OMPSCHEDULEPASS
#include "matquant/Conversion/Passes.h.inc"
} // namespace matquant

using namespace mlir;

namespace {
struct OmpSchedulePass : matquant::impl::OmpSchedulePassBase<OmpSchedulePass> {
  using Base::Base;
  void runOnOperation() override {
    std::optional<omp::ClauseScheduleKind> scheduleKind =
        omp::symbolizeClauseScheduleKind(kind);
    if (!scheduleKind || *scheduleKind == omp::ClauseScheduleKind::Distribute) {
      getOperation()->emitError()
          << "matquant-omp-schedule: unknown schedule kind '" << kind
          << "' (static, dynamic, guided, auto or runtime)";
      return signalPassFailure();
    }
    bool chunked = chunksPerThread > 0 &&
                   *scheduleKind != omp::ClauseScheduleKind::Auto &&
                   *scheduleKind != omp::ClauseScheduleKind::Runtime;
    if (chunked && threads == 0) {
      getOperation()->emitError()
          << "matquant-omp-schedule: chunks-per-thread needs threads > 0";
      return signalPassFailure();
    }
    getOperation()->walk([&](omp::WsloopOp loop) {
      loop.setScheduleKind(*scheduleKind);
      if (!chunked)
        return;
      auto nest = dyn_cast<omp::LoopNestOp>(loop.getWrappedLoop());
      if (!nest || nest.getLoopLowerBounds().size() != 1 ||
          nest.getLoopInclusive())
        return;
      // chunk = max(1, ceil(trip / parts)), trip = ceil((ub - lb) / step),
      // computed before the loop (its bounds are defined outside it).
      OpBuilder b(loop);
      Location loc = loop.getLoc();
      Value lb = nest.getLoopLowerBounds()[0];
      Value ub = nest.getLoopUpperBounds()[0];
      Value step = nest.getLoopSteps()[0];
      Type type = lb.getType();
      auto constant = [&](int64_t v) -> Value {
        return arith::ConstantOp::create(b, loc, type,
                                         b.getIntegerAttr(type, v));
      };
      Value trip = arith::CeilDivSIOp::create(
          b, loc, arith::SubIOp::create(b, loc, ub, lb), step);
      Value chunk = arith::MaxSIOp::create(
          b, loc,
          arith::CeilDivSIOp::create(
              b, loc, trip,
              constant(static_cast<int64_t>(threads) * chunksPerThread)),
          constant(1));
      if (type.isIndex())
        chunk = arith::IndexCastOp::create(b, loc, b.getI64Type(), chunk);
      loop.getScheduleChunkMutable().assign(chunk);
    });
  }
};
} // namespace
