/** A sweep's summary rows (DESIGN.md §7): one per point, from its job's status and plan summary. */
import type { JobStatus, Plan, Sweep, SweepRow } from '../schema/index.ts';
import { JobStatus as JobStatusSchema } from '../schema/index.ts';
import type { SweepPointValues } from './grid.ts';

/** One sweep point's job as a row needs it: the plan's status and summary, when it succeeded. */
export interface PointJob {
  readonly status: JobStatus;
  readonly plan: Pick<Plan, 'status' | 'summary'> | null;
}

export function sweepRow(jobId: string, point: SweepPointValues, job: PointJob): SweepRow {
  const summary = job.status === 'succeeded' ? (job.plan?.summary ?? null) : null;
  return {
    jobId,
    point,
    status: job.status,
    planStatus: job.status === 'succeeded' ? (job.plan?.status ?? null) : null,
    stepTimeSec: summary?.stepTimeSec ?? null,
    tokensPerSec: summary?.tokensPerSec ?? null,
    tflopsPerDevice: summary?.tflopsPerDevice ?? null,
    mfu: summary?.mfu ?? null,
    peakMemoryBytes: summary?.peakMemoryBytes ?? null,
    dp: summary?.dp ?? null,
    tp: summary?.tp ?? null,
    pp: summary?.pp ?? null,
    gpus: summary?.gpus ?? null,
    trainingDays: summary?.trainingDays ?? null,
    costUsd: summary?.costUsd ?? null,
    gpuHours: summary?.gpuHours ?? null,
  };
}

export function sweepOf(id: string, rows: SweepRow[]): Sweep {
  const counts = Object.fromEntries(JobStatusSchema.options.map((status) => [status, 0])) as Record<
    JobStatus,
    number
  >;
  for (const row of rows) counts[row.status] += 1;
  return { id, points: rows.length, counts, rows };
}
