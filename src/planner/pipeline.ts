import { collectiveSec } from '../cluster/collectives.ts';
import type { MeshAxis } from '../cluster/mesh.ts';
import type { GpuSpec, ScheduleKind } from '../schema/index.ts';

/** ZeRO stage: 0 none; 1 optimizer state, 2 + gradients, 3 + parameters sharded over data parallelism. */
export type ZeroStage = 0 | 1 | 2 | 3;

/** Mixed-precision Adam (DESIGN.md §4): bf16 weight 2 B, bf16 gradient 2 B, fp32 master + m + v 12 B. */
export const WEIGHT_BYTES = 2;
export const GRADIENT_BYTES = 2;
export const OPTIMIZER_BYTES = 12;
/** Everything a trained parameter keeps without ZeRO: Adam mixed precision's 16 bytes. */
export const PARAM_STATE_BYTES = WEIGHT_BYTES + GRADIENT_BYTES + OPTIMIZER_BYTES;

export interface ParamMemory {
  readonly parametersBytes: number;
  readonly gradientsBytes: number;
  readonly optimizerBytes: number;
}

/** Per-device bytes of `elements` parameters, with ZeRO sharding the later terms over `dp`. */
export function paramMemory(elements: number, zero: ZeroStage, dp: number): ParamMemory {
  return {
    parametersBytes: (elements * WEIGHT_BYTES) / (zero >= 3 ? dp : 1),
    gradientsBytes: (elements * GRADIENT_BYTES) / (zero >= 2 ? dp : 1),
    optimizerBytes: (elements * OPTIMIZER_BYTES) / (zero >= 1 ? dp : 1),
  };
}

/**
 * Microbatches whose activations stage `index` of `stages` holds at its peak. 1F1B: the stage
 * runs (stages − index) forwards before its first backward; GPipe: all of them; interleaved 1F1B
 * (v chunks): Korthikanti et al. 2022 §4.2.3, the first stage holds (1 + (p − 1)/(p·v)) times the
 * 1F1B amount.
 */
export function inFlightMicrobatches(
  schedule: ScheduleKind,
  index: number,
  stages: number,
  microbatches: number,
  virtualStages: number,
): number {
  if (schedule === 'gpipe') return microbatches;
  const plain = Math.min(stages - index, microbatches);
  if (schedule === '1f1b' || virtualStages <= 1) return plain;
  return Math.min(microbatches, Math.ceil(plain * (1 + (stages - 1) / (stages * virtualStages))));
}

/**
 * Step time of a pipeline whose stage i takes `latencySec[i]` per microbatch (forward + backward):
 * Alpa's Σ t_i + (B − 1)·max t_i, the (p − 1) fill and drain slots shrunk v-fold by interleaving
 * (Narayanan et al. SC'21 §2.2.2), plus what is paid once per step.
 */
export function pipelineStepSec(
  latencySec: readonly number[],
  microbatches: number,
  virtualStages: number,
  onceSec: number,
): { stepSec: number; bubbleSec: number; bottleneck: number } {
  let bottleneck = 0;
  for (let i = 1; i < latencySec.length; i++) if (latencySec[i]! > latencySec[bottleneck]!) bottleneck = i;
  const tMax = latencySec[bottleneck] ?? 0;
  const sum = latencySec.reduce((s, t) => s + t, 0);
  const bubbleSec = (sum - tMax) / Math.max(1, virtualStages);
  return { stepSec: microbatches * tMax + bubbleSec + onceSec, bubbleSec, bottleneck };
}

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

/*
 * The Adam step streams, per parameter it owns: fp32 master, m, v and the gradient in and the three
 * fp32 states plus the bf16 weight out — about 30 bytes — so it is HBM-bound.
 */
const ADAM_BYTES_TOUCHED_PER_PARAM = 30;

export function optimizerStepSec(elementsOwned: number, gpu: GpuSpec): number {
  return (elementsOwned * ADAM_BYTES_TOUCHED_PER_PARAM) / (gpu.hbmGBps * 1e9 * gpu.efficiency.memory);
}
