/**
 * What the API side (BullJobQueue) and the worker side (PlanWorker) of the BullMQ adapter agree on:
 * names, job data, the extra Redis keys, and how a failure's problem document survives in a job.
 */
import { type Job, type JobState, UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import { PLAN_FAILED_PROBLEM_TYPE, Plan, type PlanRequest, Problem } from '../schema/index.ts';

export const DEFAULT_QUEUE_NAME = 'plans';
export const PLAN_JOB_NAME = 'plan';
/** Results, tombstones and sweep records are kept this long unless configured otherwise. */
export const DEFAULT_KEEP_RESULTS_SEC = 24 * 3600;

export interface PlanJobData {
  readonly request: PlanRequest;
  /** The sweep that first asked for this point; later sweeps share the job (it is deduplicated). */
  readonly sweepId: string | null;
}

export type PlanBullJob = Job<PlanJobData, Plan>;
export type BullState = JobState | 'unknown';

/**
 * Keys meshplan keeps beside BullMQ's own, under `meshplan:<queue>:` (BullMQ owns `bull:<queue>:`):
 * - cancel:<id>    a running job the user cancelled; its worker fails it as cancelled, even one that
 *                  picks it up again after a stall
 * - tombstone:<id> a job cancelled before it ran: removed from BullMQ, remembered here
 * - outline:<id>   a finished plan's status and summary, so a sweep's rows skip the full plans
 * - sweep:<id>     a sweep's points and their job ids
 */
export function queueKeys(queueName: string) {
  const base = `meshplan:${queueName}`;
  return {
    cancelChannel: `${base}:cancel`,
    cancelMark: (jobId: string) => `${base}:cancel:${jobId}`,
    tombstone: (jobId: string) => `${base}:tombstone:${jobId}`,
    outline: (jobId: string) => `${base}:outline:${jobId}`,
    sweep: (id: string) => `${base}:sweep:${id}`,
    /** Every key of this queue, for clean-up. */
    pattern: `${base}:*`,
  };
}
export type QueueKeys = ReturnType<typeof queueKeys>;

/** What a sweep row needs of a plan. */
export const PlanOutline = Plan.pick({ status: true, summary: true });
export type PlanOutline = z.infer<typeof PlanOutline>;

export const Tombstone = z.object({
  createdAtMs: z.number(),
  cancelledAtMs: z.number(),
  sweepId: z.string().nullable(),
});
export type Tombstone = z.infer<typeof Tombstone>;

export const SweepRecord = z.object({
  points: z.array(z.object({ jobId: z.string(), point: z.record(z.string(), z.unknown()) })),
});
export type SweepRecord = z.infer<typeof SweepRecord>;

export const CANCELLED_PROBLEM: Problem = {
  type: 'urn:meshplan:problem:cancelled',
  title: 'Cancelled',
  status: 409,
  code: 'JOB_CANCELLED',
};

/**
 * BullMQ keeps only an error's message, so the message is the problem document as JSON. Unrecoverable
 * failures skip the remaining attempts; the others are retried with backoff.
 */
export function failureError(problem: Problem, retryable: boolean): Error {
  const message = JSON.stringify(problem);
  return retryable ? new Error(message) : new UnrecoverableError(message);
}

/** The problem of a failed job; BullMQ's own reasons (a job stalled too often …) become plan failures. */
export function decodeFailure(failedReason: string | undefined): Problem {
  try {
    const parsed = Problem.safeParse(JSON.parse(failedReason ?? ''));
    if (parsed.success) return parsed.data;
  } catch {
    // Not JSON: a reason BullMQ wrote itself.
  }
  return {
    type: PLAN_FAILED_PROBLEM_TYPE,
    title: 'Planning failed',
    status: 500,
    detail: failedReason || 'the job failed without a reason',
    code: 'PLAN_FAILED',
  };
}

/** The retention BullMQ was given for a finished job, so meshplan's own keys expire with it. */
export function keepSecOf(job: PlanBullJob): number {
  const keep = job.opts.removeOnComplete;
  return typeof keep === 'object' && 'age' in keep ? keep.age : DEFAULT_KEEP_RESULTS_SEC;
}
