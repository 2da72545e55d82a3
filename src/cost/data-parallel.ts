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
  /**
   * Whether the per-microbatch traffic travels behind the pass it belongs to, layer by layer (bucketed
   * reductions, prefetched gathers), or waits for the pass to end.
   */
  readonly overlapped: boolean;
}

/**
 * Data-parallel gradient traffic per device. ZeRO 0 all-reduces the whole gradient once per step, or
 * at every microbatch where the runtime reduces each accumulation step (DDP without pipelining:
 * `every-microbatch`); ZeRO 1 (Megatron's distributed optimizer) reduce-scatters it once per step and
 * all-gathers the updated parameters; ZeRO 2 reduce-scatters after every microbatch's backward and
 * gathers parameters once; ZeRO 3 also gathers parameters before every forward and backward. A runtime that overlaps the gradient reduction overlaps these the same way: FSDP2,
 * Megatron-FSDP and DeepSpeed's ZeRO with `overlap_comm` prefetch the next layer's parameters and
 * reduce a layer's gradients while other layers compute; one that reduces after the backward
 * (`after-backward`) waits for each.
 */
export function dataParallelSec(
  elements: number,
  zero: ZeroStage,
  axis: MeshAxis,
  reduction: GradientReduction,
): DataParallelTraffic {
  const overlapped = reduction !== 'after-backward';
  const none = {
    perStepSec: 0,
    perStepGatherSec: 0,
    forwardPerMicrobatchSec: 0,
    backwardPerMicrobatchSec: 0,
    overlapped,
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

/** What a pass's data-parallel traffic adds to its time: all of it, or what its overlap leaves exposed. */
export function exposedPassTrafficSec(
  trafficSec: number,
  passComputeSec: number,
  layers: number,
  overlapped: boolean,
): number {
  return trafficSec > 0 ? exposedGradientSec(trafficSec, passComputeSec, layers, overlapped) : 0;
}

/**
 * The overlap term of DESIGN.md §4: with bucketed reduction, a layer's gradients travel while the
 * layers before it run their last backward pass, so only what exceeds that window — and at least
 * the last layer's share — stays exposed.
 */
export function exposedGradientSec(
  syncSec: number,
  backwardWindowSec: number,
  layers: number,
  overlap: boolean,
): number {
  if (!overlap) return syncSec;
  return Math.max(syncSec / Math.max(1, layers), syncSec - backwardWindowSec);
}
