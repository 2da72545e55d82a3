/**
 * The JobQueue on BullMQ (DESIGN.md §7, REDIS_URL set): jobs live in Redis and any number of
 * `meshplan worker` processes plan them. The job id is the request's canonical hash, so BullMQ's own
 * `jobId` uniqueness deduplicates; retries back off exponentially and bad input is unrecoverable.
 *
 * Sweeps are a record in Redis listing their points' job ids, not a FlowProducer parent: a point's job
 * is shared with every other sweep or plain submission of the same request, and a BullMQ job can have
 * only one parent; a parent would also need a processor of its own and would be blocked (or failed)
 * by a failed child, whereas a sweep is only a view over its jobs.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { parseOrThrow } from '../schema/errors.ts';
import {
  isFinalStatus,
  type Plan,
  type PlanJob,
  PlanRequest,
  type Sweep,
  SweepRequest,
} from '../schema/index.ts';
import { jobView, tombstoneView } from './bull-job-view.ts';
import {
  DEFAULT_KEEP_RESULTS_SEC,
  DEFAULT_QUEUE_NAME,
  PLAN_JOB_NAME,
  type PlanBullJob,
  type PlanJobData,
  type QueueKeys,
  queueKeys,
  Tombstone,
} from './bull-protocol.ts';
import { BullSweeps } from './bull-sweeps.ts';
import { planJobId } from './canonical.ts';
import { QueueClosedError, StoreUnavailableError } from './errors.ts';
import { FinishWatch } from './finish-watch.ts';
import type { JobQueue } from './job-queue.ts';
import { restartsOnResubmit } from './processor.ts';
import { quietRepeats } from './quiet-repeats.ts';

export interface BullJobQueueOptions {
  readonly redisUrl: string;
  /** Default `plans`; tests use a fresh name each. */
  readonly queueName?: string;
  /** Tries per job, the first included (default 3); bad input and cancels are never retried. */
  readonly attempts?: number;
  /** Delay before the first retry, doubling after each (default 5 s). */
  readonly backoffMs?: number;
  /** How long finished jobs, tombstones and sweeps stay readable (default 24 h). */
  readonly keepResultsSec?: number;
  /** `ready()` answers false when Redis does not answer within this (default 500 ms). */
  readonly readyTimeoutMs?: number;
  /** How long `cancel` waits for a worker to stop a running job before answering (default 3 s). */
  readonly cancelWaitMs?: number;
  /** Connection trouble; without a listener an emitted `error` would crash the process. */
  readonly onError?: (error: Error) => void;
}

/** How long a call made before Redis was first reached waits for it, then reports it unavailable. */
const FIRST_CONNECT_WAIT_MS = 2000;

export class BullJobQueue implements JobQueue {
  private readonly client: Redis;
  private readonly queue: Queue<PlanJobData, Plan>;
  private readonly keys: QueueKeys;
  private readonly watch: FinishWatch;
  private readonly sweeps: BullSweeps;
  private readonly keepResultsSec: number;
  private readonly readyTimeoutMs: number;
  private readonly cancelWaitMs: number;
  /** Settles once the first connection is up and BullMQ has loaded its scripts. */
  private readonly firstConnect: Promise<void>;
  private reached = false;
  private accepting = true;

  constructor(options: BullJobQueueOptions) {
    const name = options.queueName ?? DEFAULT_QUEUE_NAME;
    const logFailure = quietRepeats((line) => process.stderr.write(`${line}\n`));
    const onError = options.onError ?? ((error) => logFailure(`meshplan queue: ${error.message}`));
    this.keepResultsSec = options.keepResultsSec ?? DEFAULT_KEEP_RESULTS_SEC;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 500;
    this.cancelWaitMs = options.cancelWaitMs ?? 3000;
    // An API call fails at once while Redis is away (the HTTP layer answers 503; /readyz reports it)
    // rather than waiting in ioredis's offline queue for a reconnect, as BullMQ advises for producers
    // behind an API; a command already sent when the connection drops is retried once. The client
    // keeps reconnecting by itself meanwhile.
    this.client = new Redis(options.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    this.client.on('error', onError);
    this.keys = queueKeys(name);
    this.queue = new Queue<PlanJobData, Plan>(name, {
      connection: this.client,
      defaultJobOptions: {
        attempts: options.attempts ?? 3,
        backoff: { type: 'exponential', delay: options.backoffMs ?? 5000 },
        removeOnComplete: { age: this.keepResultsSec },
        removeOnFail: { age: this.keepResultsSec },
      },
    });
    this.queue.on('error', onError);
    this.firstConnect = this.queue.waitUntilReady().then(() => {
      this.reached = true;
    });
    // Awaited by the calls; a failure (closed before it ever connected) is theirs to report.
    this.firstConnect.catch(() => {});
    this.watch = new FinishWatch(name, this.client, 1000, onError);
    this.sweeps = new BullSweeps(
      this.queue,
      this.client,
      this.keys,
      this.keepResultsSec,
      (request, sweepId, owner) => this.enqueue(request, sweepId, owner),
    );
  }

  async submit(
    request: PlanRequest,
    owner: string | null = null,
  ): Promise<{ job: PlanJob; created: boolean }> {
    const parsed = parseOrThrow(PlanRequest, request, 'request');
    this.assertAccepting();
    await this.connected();
    return this.enqueue(parsed, null, owner);
  }

  async get(id: string): Promise<PlanJob | null> {
    await this.connected();
    // The state is read before the job's hash: a job seen completed then has its result in the hash,
    // whereas a hash read first could predate a result the state already reports.
    const [state, mark, tombstone] = await Promise.all([
      this.queue.getJobState(id),
      this.client.get(this.keys.cancelMark(id)),
      this.client.get(this.keys.tombstone(id)),
    ]);
    const job = state === 'unknown' ? undefined : await this.queue.getJob(id);
    if (job) return jobView(job, state, mark === null ? null : Number(mark));
    return tombstone === null ? null : tombstoneView(id, Tombstone.parse(JSON.parse(tombstone)));
  }

  async waitFor(id: string, timeoutMs: number): Promise<PlanJob | null> {
    return this.watch.until(id, timeoutMs, async () => {
      const job = await this.get(id);
      return { done: job === null || isFinalStatus(job.status), value: job };
    });
  }

  async cancel(id: string): Promise<PlanJob | null> {
    await this.connected();
    const job = await this.queue.getJob(id);
    if (!job) return this.get(id);
    const state = await job.getState();
    if (state === 'completed' || state === 'failed' || state === 'unknown') return this.get(id);
    if (state !== 'active' && (await this.removeQueued(job))) return this.get(id);
    // Running (or just picked up): its worker aborts it when told, or finds the mark when it starts.
    await this.client.set(this.keys.cancelMark(id), String(Date.now()), 'EX', this.keepResultsSec);
    await this.client.publish(this.keys.cancelChannel, id);
    await this.settled(id, this.cancelWaitMs);
    return this.get(id);
  }

  async submitSweep(sweep: SweepRequest, owner: string | null = null): Promise<Sweep> {
    const parsed = parseOrThrow(SweepRequest, sweep, 'sweep');
    this.assertAccepting();
    await this.connected();
    return this.sweeps.submit(parsed, owner);
  }

  async getSweep(id: string): Promise<Sweep | null> {
    await this.connected();
    return this.sweeps.get(id);
  }

  async depth(): Promise<number> {
    await this.connected();
    const counts = await this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  }

  async ready(): Promise<boolean> {
    const pong = this.client
      .ping()
      .then((reply) => reply === 'PONG')
      .catch(() => false);
    const timeout = new Promise<false>((resolve) => setTimeout(resolve, this.readyTimeoutMs, false).unref());
    return Promise.race([pong, timeout]);
  }

  /** Jobs live in Redis and workers run them: a stopping API has none to wait for. */
  async drain(_timeoutMs: number): Promise<void> {
    this.accepting = false;
  }

  async close(): Promise<void> {
    this.accepting = false;
    await this.watch.close();
    await this.queue.close();
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private assertAccepting(): void {
    if (!this.accepting) throw new QueueClosedError();
  }

  /**
   * The client fails commands at once while Redis is away (see the constructor), including before it
   * was first reached; a call made then waits a little for that first connection instead.
   */
  private async connected(): Promise<void> {
    if (this.reached) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError('not connected yet')), FIRST_CONNECT_WAIT_MS);
    });
    try {
      await Promise.race([this.firstConnect, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async enqueue(
    request: PlanRequest,
    sweepId: string | null,
    owner: string | null,
  ): Promise<{ job: PlanJob; created: boolean }> {
    const id = planJobId(request, owner);
    const existing = await this.get(id);
    if (existing && !restartsOnResubmit(existing.status, existing.error))
      return { job: existing, created: false };
    if (existing) await this.restart(id, { request, sweepId: existing.sweepId ?? sweepId });
    else await this.queue.add(PLAN_JOB_NAME, { request, sweepId }, { jobId: id });
    const job = await this.get(id);
    if (job === null) throw new Error(`job ${id} vanished right after it was queued`);
    return { job, created: true };
  }

  /** Starts a cancelled or failed job afresh under the same id. */
  private async restart(id: string, data: PlanJobData): Promise<void> {
    // A cancel still being carried out ends first: the job is then failed (or done, had it won the race).
    await this.settled(id, this.cancelWaitMs);
    await this.client.del(this.keys.cancelMark(id), this.keys.tombstone(id));
    const job = await this.queue.getJob(id);
    if (!job) {
      await this.queue.add(PLAN_JOB_NAME, data, { jobId: id });
    } else if ((await job.getState()) === 'failed') {
      // Throws when a concurrent submission has just retried it, which is as good.
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }).catch(() => {});
    }
  }

  /** Removes a job that has not started; false when a worker took it meanwhile. */
  private async removeQueued(job: PlanBullJob): Promise<boolean> {
    const id = job.id!;
    const tombstone: Tombstone = {
      createdAtMs: job.timestamp,
      cancelledAtMs: Date.now(),
      sweepId: job.data.sweepId ?? null,
    };
    // Written first: a reader between the two steps sees the job or the tombstone, never neither.
    await this.client.set(this.keys.tombstone(id), JSON.stringify(tombstone), 'EX', this.keepResultsSec);
    try {
      await job.remove();
      return true;
    } catch {
      // Locked: a worker has just started it.
      await this.client.del(this.keys.tombstone(id));
      return false;
    }
  }

  /** Waits until BullMQ has finished the job (or forgotten it), up to `timeoutMs`. */
  private async settled(id: string, timeoutMs: number): Promise<void> {
    await this.watch.until(id, timeoutMs, async () => {
      const state = await this.queue.getJobState(id);
      return { done: state === 'completed' || state === 'failed' || state === 'unknown', value: state };
    });
  }
}
