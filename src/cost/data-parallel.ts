/**
 * Data parallelism across pipeline replicas (DESIGN.md §4): the gradient traffic ZeRO's stages
 * imply, and the overlap term that hides it behind the backward pass.
 */
import { collectiveSec } from '../cluster/collectives.ts';
import type { MeshAxis } from '../cluster/mesh.ts';
import type { GradientReduction, ZeroStage } from '../schema/vocabulary.ts';
import { GRADIENT_BYTES, WEIGHT_BYTES } from './memory.ts';

/**
 * Data-parallel gradient traffic per device. ZeRO 0/1 reduce the whole gradient once per step (an
 * all-reduce, or Megatron's distributed optimizer's reduce-scatter + parameter all-gather: the
 * same volume) — or at every microbatch where the runtime reduces each accumulation step (DDP and
 * FSDP without pipelining: `every-microbatch`); ZeRO 2 reduce-scatters after every microbatch's
 * backward and gathers parameters once; ZeRO 3 also gathers parameters before every forward and
 * backward. `overlappedPerMicrobatchSec`: the part of the per-microbatch traffic that travels during
 * that microbatch's backward pass (a gradient reduction at every microbatch).
 */
export function dataParallelSec(
  elements: number,
  zero: ZeroStage,
  axis: MeshAxis,
  reduction: GradientReduction,
): { perStepSec: number; perMicrobatchSec: number; overlappedPerMicrobatchSec: number } {
  if (axis.size <= 1 || elements <= 0)
    return { perStepSec: 0, perMicrobatchSec: 0, overlappedPerMicrobatchSec: 0 };
  const gradBytes = elements * GRADIENT_BYTES;
  const weightBytes = elements * WEIGHT_BYTES;
  if (zero <= 1) {
    const allReduce = collectiveSec('all-reduce', axis, gradBytes);
    return reduction === 'every-microbatch'
      ? { perStepSec: 0, perMicrobatchSec: allReduce, overlappedPerMicrobatchSec: allReduce }
      : { perStepSec: allReduce, perMicrobatchSec: 0, overlappedPerMicrobatchSec: 0 };
  }
  const scatter = collectiveSec('reduce-scatter', axis, gradBytes);
  const gather = collectiveSec('all-gather', axis, weightBytes);
  if (zero === 2) return { perStepSec: gather, perMicrobatchSec: scatter, overlappedPerMicrobatchSec: 0 };
  return { perStepSec: 0, perMicrobatchSec: scatter + 2 * gather, overlappedPerMicrobatchSec: 0 };
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
