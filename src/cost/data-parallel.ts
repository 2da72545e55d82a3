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
  readonly perStepSec: number;
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
 * Data-parallel gradient traffic per device. ZeRO 0/1 reduce the whole gradient once per step (an
 * all-reduce, or Megatron's distributed optimizer's reduce-scatter + parameter all-gather: the
 * same volume) — or at every microbatch where the runtime reduces each accumulation step (DDP and
 * FSDP without pipelining: `every-microbatch`); ZeRO 2 reduce-scatters after every microbatch's
 * backward and gathers parameters once; ZeRO 3 also gathers parameters before every forward and
 * backward. A runtime that overlaps the gradient reduction overlaps these the same way: FSDP2,
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
  const none = { perStepSec: 0, forwardPerMicrobatchSec: 0, backwardPerMicrobatchSec: 0, overlapped };
  if (axis.size <= 1 || elements <= 0) return none;
  const gradBytes = elements * GRADIENT_BYTES;
  const weightBytes = elements * WEIGHT_BYTES;
  if (zero <= 1) {
    const allReduce = collectiveSec('all-reduce', axis, gradBytes);
    return reduction === 'every-microbatch'
      ? { ...none, backwardPerMicrobatchSec: allReduce }
      : { ...none, perStepSec: allReduce };
  }
  const scatter = collectiveSec('reduce-scatter', axis, gradBytes);
  const gather = collectiveSec('all-gather', axis, weightBytes);
  if (zero === 2) return { ...none, perStepSec: gather, backwardPerMicrobatchSec: scatter };
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
