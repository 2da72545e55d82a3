import type { PlanRequest } from '../schema/index.ts';
import type { GradientReduction, Recompute, ScheduleKind, ZeroStage } from '../schema/vocabulary.ts';

/** The knobs of one pipeline replica that the outer search (or an estimate) fixes. */
export interface PipelineConfig {
  readonly dp: number;
  readonly microBatch: number;
  readonly microbatches: number;
  readonly recompute: Recompute;
  readonly zero: ZeroStage;
  readonly schedule: ScheduleKind;
  readonly virtualStages: number;
  /** When data-parallel gradients travel (a framework's runtime decides; DESIGN.md §9). */
  readonly gradientReduction: GradientReduction;
  readonly overlapTensorParallelComm: boolean;
}

/**
 * A replica's configuration: what the caller chose, and the request's pins or their defaults for the
 * rest (a gradient reduction overlapped as DDP, FSDP and Megatron's --overlap-grad-reduce do; tensor
 * parallelism not overlapped; 1F1B unless GPipe is asked for).
 */
export function pipelineConfig(
  request: PlanRequest,
  chosen: Pick<PipelineConfig, 'dp' | 'microBatch' | 'recompute' | 'zero'>,
): PipelineConfig {
  const p = request.parallel;
  return {
    ...chosen,
    microbatches: request.training.globalBatch / (chosen.dp * chosen.microBatch),
    schedule: p?.schedule === 'gpipe' ? 'gpipe' : '1f1b',
    virtualStages: p?.virtualStages ?? 1,
    gradientReduction: p?.overlapGradReduce === false ? 'after-backward' : 'overlapped',
    overlapTensorParallelComm: p?.overlapTensorParallelComm ?? false,
  };
}
