/**
 * The pipeline schedule's terms (DESIGN.md §4, §6): how many microbatches a stage holds at its peak,
 * and the step time of stages with given per-microbatch latencies, bubble included.
 */
import type { ScheduleKind } from '../schema/vocabulary.ts';

/**
 * Microbatches' worth of activations stage `index` of `stages` holds at its peak. 1F1B: the stage
 * runs (stages − index) forwards before its first backward; GPipe: all of them. Interleaved 1F1B (v
 * chunks a stage, each 1/v of its layers): stage i runs 2(p − i − 1) + (v − 1)·p chunk forwards
 * before its first backward, then one more before each (Megatron-LM's schedules.py
 * get_pp_rank_microbatches with its default microbatch group of p; PyTorch's ScheduleInterleaved1F1B
 * warms up the same), so it holds that many plus one chunks' activations, 1/v of a microbatch's each
 * — a fraction of microbatches: p + (p − 1)/v on the first stage (Korthikanti et al. 2022 §4.2.3),
 * p − (p − 1)/v on the last, which holds far more than plain 1F1B's one.
 */
export function inFlightMicrobatches(
  schedule: ScheduleKind,
  index: number,
  stages: number,
  microbatches: number,
  virtualStages: number,
): number {
  if (schedule === 'gpipe') return microbatches;
  if (schedule === '1f1b' || virtualStages <= 1) return Math.min(stages - index, microbatches);
  const v = virtualStages;
  const warmup = 2 * (stages - index - 1) + (v - 1) * stages;
  return Math.min(warmup + 1, v * microbatches) / v;
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
