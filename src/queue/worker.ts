/**
 * The worker side of the BullMQ adapter (`meshplan worker`): takes plan jobs from Redis and plans them
 * on worker threads. The event loop stays free while a plan solves, so job locks keep being renewed and
 * a cancel arrives at once. A worker that dies loses its locks; BullMQ's stalled-job check on any other
 * worker then puts its jobs back in the queue.
 */
import { availableParallelism } from 'node:os';
import { type Job, WaitingError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { parseOrThrow } from '../schema/errors.ts';
import { type JobProgress, type Plan, PlanRequest } from '../schema/index.ts';
import {
  CANCELLED_PROBLEM,
  DEFAULT_QUEUE_NAME,
  decodeFailure,
  failureError,
  keepSecOf,
  type PlanJobData,
  type PlanOutline,
  type QueueKeys,
  queueKeys,
} from './bull-protocol.ts';
import { CANCEL_REASON, LOCK_LOST_REASON, SHUTDOWN_REASON } from './errors.ts';
import { type PlanRunner, PlanThreadPool } from './plan-thread-pool.ts';
import { failureOf, type JobOutcome, processPlanJob } from './processor.ts';
import { quietRepeats } from './quiet-repeats.ts';

export interface PlanWorkerOptions {
  readonly redisUrl: string;
  /** Default `plans`, the API's. */
  readonly queueName?: string;
  /** Jobs planned at once, one thread each; default: one per CPU (the main thread is nearly idle). */
  readonly concurrency?: number;
  /** How plans run; default: a pool of worker threads owned by this worker. */
  readonly runner?: PlanRunner;
  /** A job whose lock is not renewed for this long counts as stalled (BullMQ default 30 s). */
  readonly lockDurationMs?: number;
  /** How often stalled jobs are looked for (BullMQ default 30 s). */
  readonly stalledIntervalMs?: number;
  /** One line per job outcome and connection error. */
  readonly log?: (line: string) => void;
}

/** Progress goes to Redis at most this often; a phase change always goes through. */
const PROGRESS_INTERVAL_MS = 250;

export class PlanWorker {
  private graceTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly worker: Worker<PlanJobData, Plan>,
    private readonly client: Redis,
    private readonly subscriber: Redis,
    private readonly pool: PlanThreadPool | null,
  ) {}

  static async start(options: PlanWorkerOptions): Promise<PlanWorker> {
    const name = options.queueName ?? DEFAULT_QUEUE_NAME;
    const log = options.log ?? (() => {});
    const keys = queueKeys(name);
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? availableParallelism()));
    // BullMQ's blocking commands must never give up on a retry (STACK-NOTES: maxRetriesPerRequest null).
    const client = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
    // While Redis is away each of these reports every reconnect attempt.
    const logFailure = quietRepeats(log);
    client.on('error', (error) => logFailure(`redis: ${error.message}`));
    const subscriber = client.duplicate();
    subscriber.on('error', (error) => logFailure(`redis (cancel channel): ${error.message}`));
    // Listening before taking jobs: no cancel may slip past a job that has just started.
    await subscriber.subscribe(keys.cancelChannel);
    const pool = options.runner ? null : new PlanThreadPool({ maxIdle: concurrency });
    const runner = options.runner ?? pool!.run;
    const worker = new Worker<PlanJobData, Plan>(name, jobProcessor(runner, client, keys), {
      connection: client,
      concurrency,
      lockDuration: options.lockDurationMs ?? 30_000,
      stalledInterval: options.stalledIntervalMs ?? 30_000,
      // A job is failed only after its worker vanished twice; once may be a deploy.
      maxStalledCount: 2,
    });
    subscriber.on('message', (_channel: string, jobId: string) => worker.cancelJob(jobId, CANCEL_REASON));
    // A lock that could not be renewed (Redis was away longer than it lasts) means the job is this
    // worker's no more: its result could not be written, and the stalled-job check queues it again.
    // Solving on would only hold a slot (and a core) that the job's next run needs.
    worker.on('lockRenewalFailed', (jobIds) => {
      for (const id of jobIds) worker.cancelJob(id, LOCK_LOST_REASON);
    });
    worker.on('error', (error) => logFailure(`worker: ${error.message}`));
    worker.on('completed', (job) => log(`job ${job.id} succeeded in ${secondsSince(job.processedOn)} s`));
    worker.on('failed', (job, error) => {
      const problem = decodeFailure(error.message);
      if (problem.code === CANCELLED_PROBLEM.code) log(`job ${job?.id} cancelled`);
      else {
        const attempt = `attempt ${job?.attemptsMade} of ${job?.opts.attempts ?? 1}`;
        log(`job ${job?.id} failed (${attempt}): ${problem.code}: ${problem.detail ?? problem.title}`);
      }
    });
    await worker.waitUntilReady();
    return new PlanWorker(worker, client, subscriber, pool);
  }

  /**
   * Stops taking jobs and lets the running ones finish for up to `graceMs`; those still running then are
   * stopped and put back in the queue (no attempt spent) for another worker. Calling it again with a
   * shorter grace (a second Ctrl-C) cuts the wait short.
   */
  close(graceMs = 0): Promise<void> {
    clearTimeout(this.graceTimer);
    this.graceTimer = setTimeout(() => this.worker.cancelAllJobs(SHUTDOWN_REASON), graceMs).unref();
    this.closing ??= (async () => {
      await this.worker.close();
      clearTimeout(this.graceTimer);
      await this.pool?.close();
      await this.subscriber.quit().catch(() => this.subscriber.disconnect());
      await this.client.quit().catch(() => this.client.disconnect());
    })();
    return this.closing;
  }
}

/**
 * BullMQ hands an AbortSignal only to a processor that declares three parameters (`length >= 3`), so
 * `token` and `signal` stay in the signature even where unused.
 */
function jobProcessor(runner: PlanRunner, client: Redis, keys: QueueKeys) {
  return async (job: Job<PlanJobData, Plan>, token?: string, signal?: AbortSignal): Promise<Plan> => {
    const id = job.id!;
    if ((await client.exists(keys.cancelMark(id))) > 0) throw failureError(CANCELLED_PROBLEM, false);
    let outcome: JobOutcome;
    try {
      const request = parseOrThrow(PlanRequest, job.data.request, 'request');
      outcome = await processPlanJob(request, {
        runner,
        onProgress: progressReporter(job),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      outcome = failureOf(error);
    }
    if (outcome.kind === 'succeeded') {
      const outline: PlanOutline = { status: outcome.plan.status, summary: outcome.plan.summary };
      // Only a shortcut for sweep rows (they fall back to the plan): losing it must not fail the job.
      await client.set(keys.outline(id), JSON.stringify(outline), 'EX', keepSecOf(job)).catch(() => {});
      return outcome.plan;
    }
    if (outcome.kind === 'failed') throw failureError(outcome.problem, outcome.retryable);
    if (outcome.reason === LOCK_LOST_REASON) {
      // Left where Redis has it: the stalled-job check moves it back to the queue, no attempt spent.
      throw new WaitingError();
    }
    if (outcome.reason === SHUTDOWN_REASON && token !== undefined) {
      // Back to the queue for another worker; WaitingError tells BullMQ this is no failure.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    throw failureError(CANCELLED_PROBLEM, false);
  };
}

function progressReporter(job: Job<PlanJobData, Plan>): (progress: JobProgress) => void {
  let lastPhase = '';
  let lastMs = 0;
  return (progress) => {
    const now = Date.now();
    if (progress.phase === lastPhase && now - lastMs < PROGRESS_INTERVAL_MS) return;
    lastPhase = progress.phase;
    lastMs = now;
    // Progress is advisory: a lost update must not fail the job.
    job.updateProgress(progress).catch(() => {});
  };
}

function secondsSince(ms: number | undefined): string {
  return ms === undefined ? '?' : ((Date.now() - ms) / 1000).toFixed(1);
}
