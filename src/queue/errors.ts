/**
 * Errors of the job queue. Each has a stable `name` and `code`: they cross worker-thread and process
 * boundaries as data (BullMQ keeps only a message), so callers branch on those, not on `instanceof`.
 */

/** The job was cancelled (or its worker is shutting down) while it ran; `reason` says which. */
export class JobCancelledError extends Error {
  override readonly name = 'JobCancelledError';
  readonly code = 'JOB_CANCELLED';
  constructor(readonly reason: string = CANCEL_REASON) {
    super(`the job was stopped: ${reason}`);
  }
}

/** The planner failed for a reason other than bad input: a bug, a crashed thread, an exhausted heap. */
export class PlanWorkerError extends Error {
  override readonly name = 'PlanWorkerError';
  readonly code = 'PLAN_FAILED';
}

/** The queue was closed; it accepts no more work. */
export class QueueClosedError extends Error {
  override readonly name = 'QueueClosedError';
  readonly code = 'QUEUE_CLOSED';
  constructor() {
    super('the job queue is closed');
  }
}

/** Redis does not answer (away, or not reached yet); the client keeps reconnecting by itself. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly code = 'STORE_UNAVAILABLE';
  constructor(detail: string) {
    super(`the job store (Redis) is not reachable: ${detail}`);
  }
}

/** Abort reasons, so a processor can tell a user's cancel from its own worker's shutdown. */
export const CANCEL_REASON = 'cancelled';
export const SHUTDOWN_REASON = 'worker shutting down';
/** A BullMQ worker's lock on the job lapsed (Redis was away longer than the lock lasts). */
export const LOCK_LOST_REASON = 'job lock lost';
