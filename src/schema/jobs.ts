import { z } from 'zod';
import { Plan } from './plan.ts';
import { Problem } from './problem.ts';
import { PlanRequest } from './request.ts';
import { PlanStatus } from './vocabulary.ts';

export const JobStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type JobStatus = z.infer<typeof JobStatus>;

/** A job in one of these states changes no more: its answer (or error) is final. */
export function isFinalStatus(status: JobStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}

/** How many of the counted jobs are final (a sweep's `counts`). */
export function finalCount(counts: Partial<Record<JobStatus, number>>): number {
  return JobStatus.options.reduce((n, status) => (isFinalStatus(status) ? n + (counts[status] ?? 0) : n), 0);
}

export const JobProgress = z.object({ phase: z.string(), fraction: z.number().min(0).max(1) });
export type JobProgress = z.infer<typeof JobProgress>;

export const PlanJob = z.object({
  id: z.string(),
  status: JobStatus,
  progress: JobProgress,
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  /** The plan, when the job succeeded (its own status may be infeasible: that is an answer). */
  plan: Plan.nullable(),
  /** Why the job failed, when it did. */
  error: Problem.nullable(),
  sweepId: z.string().nullable(),
});
export type PlanJob = z.infer<typeof PlanJob>;

/** A sweep: a grid of dotted request paths to values, expanded as a cartesian product over `base`. */
export const SweepRequest = z
  .object({
    base: PlanRequest,
    grid: z.record(z.string().min(1), z.array(z.unknown()).min(1).max(10_000)),
  })
  .strict();
export type SweepRequest = z.infer<typeof SweepRequest>;

export const SweepRow = z.object({
  jobId: z.string(),
  point: z.record(z.string(), z.unknown()),
  status: JobStatus,
  planStatus: PlanStatus.nullable(),
  stepTimeSec: z.number().nullable(),
  tokensPerSec: z.number().nullable(),
  tflopsPerDevice: z.number().nullable(),
  mfu: z.number().nullable(),
  peakMemoryBytes: z.number().nullable(),
  dp: z.number().nullable(),
  tp: z.number().nullable(),
  pp: z.number().nullable(),
  gpus: z.number().nullable(),
  trainingDays: z.number().nullable(),
  costUsd: z.number().nullable(),
  gpuHours: z.number().nullable(),
});
export type SweepRow = z.infer<typeof SweepRow>;

export const Sweep = z.object({
  id: z.string(),
  points: z.number().int(),
  counts: z.record(JobStatus, z.number().int()),
  rows: z.array(SweepRow),
});
export type Sweep = z.infer<typeof Sweep>;
