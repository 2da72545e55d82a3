import type { PlanJob, PlanRequest, Sweep, SweepRequest } from '../schema/index.ts';

/**
 * The one queue concept (DESIGN.md §7) with two adapters: BullMQ on Redis when REDIS_URL is set,
 * and an inline queue running jobs on worker threads inside the API process (the embedded default).
 * Requests arrive here already validated.
 */
export interface JobQueue {
  /**
   * Enqueues a plan, or returns the job an identical request (canonical JSON hash) already has.
   * `owner` (an API key's id) scopes the job: see `planJobId`.
   */
  submit(request: PlanRequest, owner?: string | null): Promise<{ job: PlanJob; created: boolean }>;
  get(id: string): Promise<PlanJob | null>;
  /** Resolves once the job has finished (any final status) or `timeoutMs` passed; null if unknown. */
  waitFor(id: string, timeoutMs: number): Promise<PlanJob | null>;
  /** Cancels a queued job, or aborts a running one through its AbortSignal. */
  cancel(id: string): Promise<PlanJob | null>;
  /** Queues a sweep's points as jobs of `owner`, like `submit`. */
  submitSweep(sweep: SweepRequest, owner?: string | null): Promise<Sweep>;
  getSweep(id: string): Promise<Sweep | null>;
  /** Jobs waiting or running (for /metrics). */
  depth(): Promise<number>;
  /** Whether the backing store answers and the queue takes jobs (for /readyz). */
  ready(): Promise<boolean>;
  /**
   * Stops taking jobs (`submit` then throws QueueClosedError) and resolves once the jobs already
   * accepted have finished, or after `timeoutMs`. Only jobs run by this process are waited for: the
   * inline queue's; BullMQ's live in Redis and outlast the process.
   */
  drain(timeoutMs: number): Promise<void>;
  /** Ends what still runs here (the inline queue cancels its jobs) and releases connections. */
  close(): Promise<void>;
}
