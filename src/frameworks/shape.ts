import { paramGatherAsked } from '../cost/quantized-gemm.ts';
import { cpCommTypeOf } from '../model/dims.ts';
import { DEFAULT_RECOMPUTE_MODULES } from '../schema/index.ts';
import type { ExportContext } from './context.ts';
import type { RunShape } from './framework.ts';

/** The facts of a finished plan that frameworks' rules read (the search builds them for candidates). */
export function shapeOfPlan(ctx: ExportContext): RunShape {
  const { summary, request, layout, dims } = ctx;
  return {
    model: dims,
    precision: request.training.precision,
    devices: ctx.devices,
    tp: summary.tp,
    pp: summary.pp,
    dp: summary.dp,
    cp: summary.cp,
    cpCommType: cpCommTypeOf(request),
    ep: summary.ep,
    etp: summary.etp,
    sequenceParallel: summary.sequenceParallel,
    zero: summary.zero as RunShape['zero'],
    quantizedParamGather: paramGatherAsked(request.training.precision, request.parallel),
    zero3Prefetch: summary.zero3Prefetch ?? true,
    recompute: summary.recompute,
    recomputeModules: summary.recomputeModules ?? DEFAULT_RECOMPUTE_MODULES,
    schedule: summary.schedule,
    virtualStages: summary.virtualStages,
    microbatches: summary.microbatches,
    rankMicroBatch: ctx.rankMicroBatch,
    globalBatch: request.training.globalBatch,
    blocksPerStage: dims === null ? null : ctx.blocks,
    layouts:
      layout.megatronProblems.length === 0
        ? { kind: 'megatron' }
        : { kind: 'other', reason: layout.megatronProblems.join('; ') },
  };
}
