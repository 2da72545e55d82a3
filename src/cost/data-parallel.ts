/**
 * Data parallelism across pipeline replicas (DESIGN.md §4): the gradient traffic ZeRO's stages
 * imply, and the overlap term that hides it behind the backward pass.
 */
import { collectiveSec } from '../cluster/collectives.ts';
import type { MeshAxis } from '../cluster/mesh.ts';
import type { ZeroStage } from '../schema/vocabulary.ts';
import { GRADIENT_BYTES, WEIGHT_BYTES } from './memory.ts';

/**
 * Data-parallel gradient traffic per device. ZeRO 0/1 reduce the whole gradient once per step (an
 * all-reduce, or Megatron's distributed optimizer's reduce-scatter + parameter all-gather: the
 * same volume); ZeRO 2 reduce-scatters after every microbatch's backward and gathers parameters
 * once; ZeRO 3 also gathers parameters before every forward and backward.
 */
export function dataParallelSec(
  elements: number,
  zero: ZeroStage,
  axis: MeshAxis,
): { perStepSec: number; perMicrobatchSec: number } {
  if (axis.size <= 1 || elements <= 0) return { perStepSec: 0, perMicrobatchSec: 0 };
  const gradBytes = elements * GRADIENT_BYTES;
  const weightBytes = elements * WEIGHT_BYTES;
  if (zero <= 1) return { perStepSec: collectiveSec('all-reduce', axis, gradBytes), perMicrobatchSec: 0 };
  const scatter = collectiveSec('reduce-scatter', axis, gradBytes);
  const gather = collectiveSec('all-gather', axis, weightBytes);
  if (zero === 2) return { perStepSec: gather, perMicrobatchSec: scatter };
  return { perStepSec: 0, perMicrobatchSec: scatter + 2 * gather };
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
