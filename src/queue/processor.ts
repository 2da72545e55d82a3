/**
 * The job processor both adapters share: runs a plan through a PlanRunner (worker threads in
 * production) and maps what happened to a job outcome. A plan that is infeasible is still an answer (a
 * succeeded job); bad input fails at once and is never retried; any other failure may be transient.
 */
import { InvalidInputError } from '../schema/errors.ts';
import {
  invalidInputProblem,
  type JobProgress,
  type JobStatus,
  PLAN_FAILED_PROBLEM_TYPE,
  type Plan,
  type PlanRequest,
  type Problem,
} from '../schema/index.ts';
import { JobCancelledError } from './errors.ts';
import type { PlanRunner } from './plan-thread-pool.ts';

export type JobOutcome =
  | { readonly kind: 'succeeded'; readonly plan: Plan }
  | { readonly kind: 'failed'; readonly problem: Problem; readonly retryable: boolean }
  /** `reason` is the abort reason: CANCEL_REASON for a user's cancel, SHUTDOWN_REASON for a worker's. */
  | { readonly kind: 'cancelled'; readonly reason: string };

export const QUEUED_PROGRESS: JobProgress = { phase: 'queued', fraction: 0 };
export const DONE_PROGRESS: JobProgress = { phase: 'done', fraction: 1 };

export interface ProcessHooks {
  readonly runner: PlanRunner;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: JobProgress) => void;
}

export async function processPlanJob(request: PlanRequest, hooks: ProcessHooks): Promise<JobOutcome> {
  const { runner, signal, onProgress } = hooks;
  try {
    const plan = await runner(request, {
      ...(signal ? { signal } : {}),
      ...(onProgress ? { onProgress } : {}),
    });
    return { kind: 'succeeded', plan };
  } catch (error) {
    if (signal?.aborted) return { kind: 'cancelled', reason: String(signal.reason) };
    if (error instanceof JobCancelledError) return { kind: 'cancelled', reason: error.reason };
    return failureOf(error);
  }
}

/** The problem document of a failed job, and whether trying again could change the answer. */
export function failureOf(error: unknown): Extract<JobOutcome, { kind: 'failed' }> {
  if (error instanceof InvalidInputError) {
    return { kind: 'failed', retryable: false, problem: invalidInputProblem(error.issues, error.message) };
  }
  const code = errorCode(error);
  return {
    kind: 'failed',
    retryable: true,
    problem: {
      type: PLAN_FAILED_PROBLEM_TYPE,
      title: 'Planning failed',
      status: 500,
      detail: error instanceof Error ? error.message : String(error),
      code,
    },
  };
}

function errorCode(error: unknown): string {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'PLAN_FAILED';
}

/**
 * Whether submitting the same request again starts the job afresh. Cancelled jobs and transient failures
 * restart; an answer, work in progress, and bad input (the same input fails the same way) are returned.
 */
export function restartsOnResubmit(status: JobStatus, error: Problem | null): boolean {
  if (status === 'cancelled') return true;
  return status === 'failed' && error?.code !== 'INVALID_INPUT';
}
