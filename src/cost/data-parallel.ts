/**
 * Data parallelism across pipeline replicas (DESIGN.md §4): the gradient traffic ZeRO's stages
 * imply, and the overlap term that hides it behind the backward pass.
 */
import { collectiveSec } from '../cluster/collectives.ts';
import type { MeshAxis } from '../cluster/mesh.ts';
import type { GradientReduction, ZeroStage } from '../schema/vocabulary.ts';
import { GRADIENT_BYTES, WEIGHT_BYTES } from './memory.ts';

/** One device's data-parallel traffic: once per step, and per microbatch during each of its passes. */
export interface DataParallelTraffic {
  /** Once per step, after the last microbatch's backward: the gradient reduction. */
  readonly perStepSec: number;
  /** Once per step, before the next step's first forward: ZeRO 1–2's gather of the updated parameters. */
  readonly perStepGatherSec: number;
  /** Per microbatch, before or during its forward pass: ZeRO-3's parameter gathers. */
  readonly forwardPerMicrobatchSec: number;
  /** Per microbatch, during or after its backward pass: gathers again, and gradient reductions. */
  readonly backwardPerMicrobatchSec: number;
}

/**
 * Data-parallel gradient traffic per device. ZeRO 0 all-reduces the whole gradient once per step, or
 * at every microbatch where the runtime reduces each accumulation step (DDP without pipelining:
 * `every-microbatch`); ZeRO 1 (Megatron's distributed optimizer) reduce-scatters it once per step and
 * all-gathers the updated parameters; ZeRO 2 reduce-scatters after every microbatch's backward and
 * gathers parameters once; ZeRO 3 also gathers parameters before every forward and backward. How
 * much of it each pass hides is the stage's to price (stage.ts): a runtime that overlaps the gradient
 * reduction overlaps the per-microbatch traffic the same way (FSDP2, Megatron-FSDP and DeepSpeed's ZeRO
 * with `overlap_comm` prefetch the next layer's parameters and reduce a layer's gradients while other
 * layers compute); one that reduces after the backward (`after-backward`) waits for each.
 */
export function dataParallelSec(
  elements: number,
  zero: ZeroStage,
  axis: MeshAxis,
  reduction: GradientReduction,
): DataParallelTraffic {
  const none = {
    perStepSec: 0,
    perStepGatherSec: 0,
    forwardPerMicrobatchSec: 0,
    backwardPerMicrobatchSec: 0,
  };
  if (axis.size <= 1 || elements <= 0) return none;
  const gradBytes = elements * GRADIENT_BYTES;
  const weightBytes = elements * WEIGHT_BYTES;
  if (zero === 0 || (zero === 1 && reduction === 'every-microbatch')) {
    const allReduce = collectiveSec('all-reduce', axis, gradBytes);
    return reduction === 'every-microbatch'
      ? { ...none, backwardPerMicrobatchSec: allReduce }
      : { ...none, perStepSec: allReduce };
  }
  const scatter = collectiveSec('reduce-scatter', axis, gradBytes);
  const gather = collectiveSec('all-gather', axis, weightBytes);
  if (zero === 1) return { ...none, perStepSec: scatter, perStepGatherSec: gather };
  if (zero === 2) return { ...none, perStepGatherSec: gather, backwardPerMicrobatchSec: scatter };
  return { ...none, forwardPerMicrobatchSec: gather, backwardPerMicrobatchSec: gather + scatter };
}

/**
 * The overlap term of DESIGN.md §4: with bucketed reduction, a layer's gradients travel while the
 * layers before it run their last backward pass (and with prefetching, a layer's parameters while the
 * layer before it runs its pass), so only what exceeds that window — and at least one layer's share —
 * stays exposed. No traffic exposes nothing.
 */
export function exposedGradientSec(
  syncSec: number,
  windowSec: number,
  layers: number,
  overlap: boolean,
): number {
  if (!overlap) return syncSec;
  return Math.max(syncSec / Math.max(1, layers), syncSec - windowSec);
}
