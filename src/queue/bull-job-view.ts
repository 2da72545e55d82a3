/** A BullMQ job (or the tombstone of one cancelled before it ran) as the PlanJob the API returns. */
import {
  isFinalStatus,
  JobProgress,
  type JobStatus,
  PLAN_FAILED_PROBLEM_TYPE,
  Plan,
  type PlanJob,
  type Problem,
} from '../schema/index.ts';
import {
  type BullState,
  CANCELLED_PROBLEM,
  decodeFailure,
  type PlanBullJob,
  type Tombstone,
} from './bull-protocol.ts';
import { DONE_PROGRESS, QUEUED_PROGRESS } from './processor.ts';

/** BullMQ's states as meshplan's statuses; a job waiting out a retry backoff (`delayed`) is queued. */
export function statusOf(state: BullState, failure: Problem | null): JobStatus | null {
  switch (state) {
    case 'completed':
      return 'succeeded';
    case 'failed':
      return failure?.code === CANCELLED_PROBLEM.code ? 'cancelled' : 'failed';
    case 'active':
      return 'running';
    case 'unknown':
      return null;
    default:
      return 'queued';
  }
}

/**
 * `cancelMarkMs`: when a user cancelled this job while it ran. Until its worker has stopped it, the job
 * already reads as cancelled: it will not produce a plan (unless it finished first, which then wins).
 */
export function jobView(job: PlanBullJob, state: BullState, cancelMarkMs: number | null): PlanJob | null {
  const failure = state === 'failed' ? decodeFailure(job.failedReason) : null;
  let status = statusOf(state, failure);
  if (status === null) return null;
  if (cancelMarkMs !== null && !isFinalStatus(status)) status = 'cancelled';
  let plan: Plan | null = null;
  let error: Problem | null = status === 'failed' ? failure : null;
  if (status === 'succeeded') {
    const parsed = Plan.safeParse(job.returnvalue);
    if (parsed.success) plan = parsed.data;
    else {
      status = 'failed';
      error = {
        type: PLAN_FAILED_PROBLEM_TYPE,
        title: 'Planning failed',
        status: 500,
        detail: 'the stored plan does not match the plan schema (written by another meshplan version?)',
        code: 'RESULT_UNREADABLE',
      };
    }
  }
  const finishedMs = isFinalStatus(status) ? (job.finishedOn ?? cancelMarkMs ?? Date.now()) : null;
  return {
    id: job.id!,
    status,
    progress: progressOf(job, status),
    createdAt: new Date(job.timestamp).toISOString(),
    // A job queued again for a retry shows its earlier start only once it runs again.
    startedAt: status !== 'queued' && job.processedOn ? new Date(job.processedOn).toISOString() : null,
    finishedAt: finishedMs === null ? null : new Date(finishedMs).toISOString(),
    plan,
    error,
    sweepId: typeof job.data?.sweepId === 'string' ? job.data.sweepId : null,
  };
}

function progressOf(job: PlanBullJob, status: JobStatus): JobProgress {
  if (status === 'queued') return QUEUED_PROGRESS;
  if (status === 'succeeded') return DONE_PROGRESS;
  const reported = JobProgress.safeParse(job.progress);
  return reported.success ? reported.data : { phase: 'starting', fraction: 0 };
}

export function tombstoneView(id: string, tombstone: Tombstone): PlanJob {
  return {
    id,
    status: 'cancelled',
    progress: QUEUED_PROGRESS,
    createdAt: new Date(tombstone.createdAtMs).toISOString(),
    startedAt: null,
    finishedAt: new Date(tombstone.cancelledAtMs).toISOString(),
    plan: null,
    error: null,
    sweepId: tombstone.sweepId,
  };
}
