/**
 * A training step of the whole pipeline (DESIGN.md §4, §8): per-stage latencies with interleaving's
 * extra sends, the step time and its named breakdown, each stage's peak memory, and the throughput
 * figures a plan reports.
 */
import type { Breakdown, ScheduleKind } from '../schema/index.ts';
import type { LayoutEval } from './layout-eval.ts';
import { paramBytes } from './memory.ts';
import { inFlightMicrobatches, pipelineStepSec } from './pipeline.ts';
import type { StagePrice } from './stage.ts';

export interface PipelineStep {
  /** Per stage, forward + backward of one microbatch over all its model chunks. */
  readonly latencySec: readonly number[];
  readonly stepSec: number;
  readonly bubbleSec: number;
  /** The stage that paces the steady state. */
  readonly bottleneck: number;
}

/**
 * With v model chunks per stage, each microbatch crosses every stage boundary v times (SC'21
 * §2.2.2). Every device, the two ends included, hands over at both edges of each of its extra v − 1
 * chunks: Megatron-LM's interleaved schedule has every chunk but the model's first receive and every
 * chunk but its last send (schedules.py forward_backward_pipelining_with_interleaving), so the ends
 * cross 2v − 1 boundaries a microbatch and the middle stages 2v. The first stage's data-parallel
 * reduction and optimizer step close the step (later stages finish theirs while it runs its last
 * backward passes).
 */
export function pipelineStep(
  prices: readonly StagePrice[],
  microbatches: number,
  virtualStages: number,
): PipelineStep {
  const latencySec = prices.map(
    (p) => p.latencySec + interleavedHandOverSec(p, prices.length, virtualStages),
  );
  const onceSec = prices[0]!.dpPerStepSec + prices[0]!.optimizerSec;
  return { latencySec, ...pipelineStepSec(latencySec, microbatches, virtualStages, onceSec) };
}

/** The hand-overs a stage's extra v − 1 model chunks add to each microbatch (none on a single stage). */
function interleavedHandOverSec(price: StagePrice, stages: number, virtualStages: number): number {
  return stages > 1 ? 2 * (virtualStages - 1) * price.handOverSec : 0;
}

/** Peak bytes per device of each stage under a schedule: parameter state plus activations in flight. */
export function stagePeakBytes(
  prices: readonly StagePrice[],
  schedule: ScheduleKind,
  microbatches: number,
  virtualStages: number,
): number[] {
  return prices.map(
    (p, i) =>
      paramBytes(p.params) +
      inFlightMicrobatches(schedule, i, prices.length, microbatches, virtualStages) *
        p.activationBytesPerMicrobatch,
  );
}

/**
 * Where the step's time goes, read off the bottleneck stage (whose layers are `bottleneckLayers`):
 * its per-microbatch terms × B, the bubble, and what the step pays once.
 */
export function stepBreakdown(
  step: PipelineStep,
  prices: readonly StagePrice[],
  bottleneckLayers: readonly LayoutEval[],
  microbatches: number,
  virtualStages: number,
): Breakdown {
  const B = microbatches;
  const bottleneck = prices[step.bottleneck]!;
  const sum = (f: (e: LayoutEval) => number) => bottleneckLayers.reduce((s, e) => s + f(e), 0);
  return {
    computeSec: B * sum((e) => e.forwardComputeSec + e.backwardComputeSec),
    tpCommSec: B * sum((e) => e.commSec),
    reshardSec: B * sum((e) => e.reshardSec),
    cpCommSec: B * sum((e) => e.cpCommSec),
    epCommSec: B * sum((e) => e.epCommSec),
    ppCommSec: B * (bottleneck.ppCommSec + interleavedHandOverSec(bottleneck, prices.length, virtualStages)),
    dpCommSec: B * bottleneck.dpPerMicrobatchSec + prices[0]!.dpPerStepSec,
    bubbleSec: step.bubbleSec,
    optimizerSec: prices[0]!.optimizerSec,
    hiddenByOverlapSec: B * bottleneck.hiddenByOverlapSec,
    totalSec: step.stepSec,
  };
}

export interface Throughput {
  /** Model FLOPs (no recomputation) per second per device, TFLOP/s. */
  readonly tflopsPerDevice: number;
  /** FLOPs the hardware executes, recomputation included (SC'21's accounting), TFLOP/s per device. */
  readonly hardwareTflopsPerDevice: number;
  /** Model FLOPs per second as a share of the devices' dense peak. */
  readonly mfu: number;
}

/**
 * Throughput of a step: every microbatch of every replica runs the model's forward FLOPs three
 * times (forward, and twice that backward), plus what recomputation runs again.
 */
export function throughput(options: {
  readonly forwardFlopsPerMicrobatch: number;
  readonly recomputedFlopsPerMicrobatch: number;
  readonly microbatchesPerStep: number;
  readonly stepSec: number;
  readonly devices: number;
  readonly peakFlopsPerDevice: number;
}): Throughput {
  const o = options;
  const modelFlops = 3 * o.forwardFlopsPerMicrobatch * o.microbatchesPerStep;
  const hardwareFlops = modelFlops + o.recomputedFlopsPerMicrobatch * o.microbatchesPerStep;
  const perDevice = (flops: number) => flops / o.stepSec / o.devices;
  return {
    tflopsPerDevice: perDevice(modelFlops) / 1e12,
    hardwareTflopsPerDevice: perDevice(hardwareFlops) / 1e12,
    mfu: perDevice(modelFlops) / o.peakFlopsPerDevice,
  };
}
