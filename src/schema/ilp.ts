import { z } from 'zod';

const cost = z.number().nonnegative();

/** The pure numeric intra-op problem of `meshplan solve-ilp` (solvers/problem.ts in JSON form). */
export const IlpProblemSpec = z
  .object({
    nodes: z
      .array(
        z
          .object({ cost: z.array(cost).min(1), memory: z.array(z.number().nonnegative().finite()).min(1) })
          .strict(),
      )
      .max(100_000),
    edges: z
      .array(
        z
          .object({
            from: z.number().int().nonnegative(),
            to: z.number().int().nonnegative(),
            cost: z.array(z.array(cost).min(1)).min(1),
          })
          .strict(),
      )
      .max(1_000_000),
    memoryBudget: z.number().nonnegative().finite().nullable().default(null),
    timeLimitSec: z.number().positive().finite().max(86_400).default(60),
  })
  .strict();
export type IlpProblemSpec = z.infer<typeof IlpProblemSpec>;
