import { z } from 'zod';
import { Recompute, RecomputeModule, ScheduleKind, Zero3Collectives } from './vocabulary.ts';

/** A plan's configuration and figures at a glance (DESIGN.md §8). */
export const Summary = z.object({
  dp: z.number().int(),
  tp: z.number().int(),
  pp: z.number().int(),
  /** Context-parallel degree (1: none). */
  cp: z.number().int(),
  /** Expert-parallel degree (1: none, or a dense model). */
  ep: z.number().int(),
  /** Expert tensor-parallel degree. */
  etp: z.number().int(),
  /** GPUs the plan runs on. */
  gpus: z.number().int(),
  microBatch: z.number().int(),
  microbatches: z.number().int(),
  virtualStages: z.number().int(),
  recompute: Recompute,
  /** What selective recomputation redoes (Megatron-LM's --recompute-modules); only with "selective". */
  recomputeModules: z.array(RecomputeModule).optional(),
  zero: z.number().int(),
  /** ZeRO-3 only: whether the next layer's parameters are gathered while one runs (request `parallel.zero3Prefetch`). */
  zero3Prefetch: z.boolean().optional(),
  /** ZeRO-3 only: how its gathers and reductions were cut (request `parallel.zero3Collectives`). */
  zero3Collectives: Zero3Collectives.optional(),
  sequenceParallel: z.boolean(),
  schedule: ScheduleKind,
  stepTimeSec: z.number(),
  tokensPerSec: z.number(),
  /** Model FLOPs (no recomputation) per second per device, in TFLOP/s. */
  tflopsPerDevice: z.number(),
  /** FLOPs the hardware executes, recomputation included (SC'21's accounting), TFLOP/s per device. */
  hardwareTflopsPerDevice: z.number(),
  mfu: z.number(),
  peakMemoryBytes: z.number(),
  /** Days to train `training.tokens`, when the request gives them. */
  trainingDays: z.number().optional(),
  /** GPU-hours of the whole training when `training.tokens` is given, else of one step; with a price. */
  gpuHours: z.number().optional(),
  /** `gpuHours` × `cluster.pricePerGpuHour`, USD, when the request gives the price. */
  costUsd: z.number().optional(),
});
export type Summary = z.infer<typeof Summary>;
