import { z } from 'zod';
import { Optimizer, Precision } from './vocabulary.ts';

export const TrainingSpec = z
  .object({
    /** Sequences per optimizer step. */
    globalBatch: z.number().int().positive().max(1e9),
    /** Sequences per microbatch; the planner searches it when absent. */
    microBatch: z.number().int().positive().max(1e9).optional(),
    precision: Precision.default('bf16'),
    optimizer: Optimizer.default('adam'),
    /** Tokens to train on in total; with it every plan's summary says how many days that takes. */
    tokens: z.number().positive().max(1e18).optional(),
  })
  .strict();
export type TrainingSpec = z.infer<typeof TrainingSpec>;
