import { z } from 'zod';
import { Recompute, ScheduleKind } from './vocabulary.ts';

/** A plan's configuration and figures at a glance (DESIGN.md §8). */
export const Summary = z.object({
  dp: z.number().int(),
  tp: z.number().int(),
  pp: z.number().int(),
  microBatch: z.number().int(),
  microbatches: z.number().int(),
  virtualStages: z.number().int(),
  recompute: Recompute,
  zero: z.number().int(),
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
});
export type Summary = z.infer<typeof Summary>;
