/**
 * The pipeline schedule's terms (DESIGN.md §4, §6): how many microbatches a stage holds at its peak,
 * and the step time of stages with given per-microbatch latencies, bubble included.
 */
import type { ScheduleKind } from '../schema/vocabulary.ts';

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
