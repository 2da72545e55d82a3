/**
 * Memory per device (DESIGN.md §4): the state every trained parameter keeps, ZeRO's sharding of it
 * over data parallelism, and the rule that decides whether a stage fits with its microbatches in
 * flight.
 */
import type { ScheduleKind, ZeroStage } from '../schema/vocabulary.ts';

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

/**
 * Per-device bytes of `elements` parameters, with ZeRO sharding the later terms over `dp`.
 * `heldGradientBytes`: what a gradient element takes where ZeRO 0–1 hold it whole, in the runtime's
 * accumulation dtype. Sharded (ZeRO 2–3), 2 + 2 + 12 bytes stand for any split of a parameter's 16
 * (torchtitan's float32 shards of weight and gradient included).
 */
export function paramMemory(
  elements: number,
  zero: ZeroStage,
  dp: number,
  heldGradientBytes = GRADIENT_BYTES,
): ParamMemory {
  return {
    parametersBytes: (elements * WEIGHT_BYTES) / (zero >= 3 ? dp : 1),
    gradientsBytes: zero >= 2 ? (elements * GRADIENT_BYTES) / dp : elements * heldGradientBytes,
    optimizerBytes: (elements * OPTIMIZER_BYTES) / (zero >= 1 ? dp : 1),
  };
}

/**
 * What ZeRO-3 holds unsharded at its peak, besides its shards: the layer that runs and, with
 * `prefetch`, the next one (FSDP2's and Megatron-FSDP's default of one unit ahead, DeepSpeed's prefetch
 * bucket), and in the backward the running layer's full gradient until its reduce-scatter. The
 * largest layer sets it.
 */
export function zero3WorkingSet(
  largestLayerElements: number,
  prefetch: boolean,
): Omit<ParamMemory, 'optimizerBytes'> {
  const layerBytes = zero3PrefetchBytes(largestLayerElements);
  return {
    parametersBytes: prefetch ? 2 * layerBytes : layerBytes,
    gradientsBytes: largestLayerElements * GRADIENT_BYTES,
  };
}

/** What ZeRO-3's prefetch holds besides the running layer: the next one's parameters, whole. */
export function zero3PrefetchBytes(largestLayerElements: number): number {
  return largestLayerElements * WEIGHT_BYTES;
}

export function paramBytes(p: ParamMemory): number {
  return p.parametersBytes + p.gradientsBytes + p.optimizerBytes;
}

/** What a stage holds: parameter state, plus activations per microbatch in flight. */
export interface StageMemory {
  readonly params: ParamMemory;
  readonly activationBytesPerMicrobatch: number;
}

/**
 * Alpa's memory check as the stage DP takes it: how many stages may follow this one (1F1B keeps one
 * more microbatch in flight per later stage, up to all B) before it overflows; GPipe keeps all B.
 * Negative: the stage does not fit even as the last one.
 */
export function maxStagesAfter(
  stage: StageMemory,
  capacityBytes: number,
  schedule: ScheduleKind,
  microbatches: number,
): number {
  const fixed = paramBytes(stage.params);
  const act = stage.activationBytesPerMicrobatch;
  if (fixed + microbatches * act <= capacityBytes) return Number.POSITIVE_INFINITY;
  if (schedule === 'gpipe' || act <= 0) return -1;
  const inFlight = Math.floor((capacityBytes - fixed) / act);
  return inFlight >= 1 ? inFlight - 1 : -1;
}
