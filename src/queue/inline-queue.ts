/**
 * The embedded queue (DESIGN.md §7, no REDIS_URL): jobs in memory, run first-in first-out on worker
 * threads of the API process, at most `concurrency` at once. Nothing survives a restart; that is what
 * the BullMQ adapter is for.
 */
import { availableParallelism } from 'node:os';
import { parseOrThrow } from '../schema/errors.ts';
import {
  isFinalStatus,
  type JobProgress,
  type JobStatus,
  type Plan,
  type PlanJob,
  PlanRequest,
  type Problem,
  type Sweep,
  SweepRequest,
} from '../schema/index.ts';
import { expandSweep, type SweepPointValues } from '../sweep/grid.ts';
import { sweepOf, sweepRow } from '../sweep/rows.ts';
import { validatePlanRequest } from './admission.ts';
import { planJobId, sweepId } from './canonical.ts';
import { CANCEL_REASON, QueueClosedError } from './errors.ts';
import type { JobQueue } from './job-queue.ts';
import { type PlanRunner, PlanThreadPool } from './plan-thread-pool.ts';
import {
  DONE_PROGRESS,
  type JobOutcome,
  processPlanJob,
  QUEUED_PROGRESS,
  restartsOnResubmit,
} from './processor.ts';

export interface InlineJobQueueOptions {
  /** Jobs planned at once; default: one per CPU but one, left to the API itself (at least 1). */
  readonly concurrency?: number;
  /** How plans run; default: a pool of worker threads owned (and closed) by this queue. */
  readonly runner?: PlanRunner;
  /** How long a finished job (and a sweep) is kept after it was last finished or asked for. Default 24 h. */
  readonly keepResultsMs?: number;
}

interface JobRecord {
  readonly id: string;
  readonly request: PlanRequest;
  readonly sweepId: string | null;
  readonly createdAt: string;
  status: JobStatus;
  progress: JobProgress;
  startedAt: string | null;
  finishedAt: string | null;
  plan: Plan | null;
  error: Problem | null;
  controller: AbortController | null;
  /** Settles once the running job has ended and its outcome is recorded. */
  running: Promise<void> | null;
  /** Last time the job finished or was submitted again; expiry counts from here. */
  touchedMs: number;
}

interface SweepRecord {
  readonly createdMs: number;
  readonly points: readonly { readonly jobId: string; readonly point: SweepPointValues }[];
}

const PRUNE_INTERVAL_MS = 60_000;

export class InlineJobQueue implements JobQueue {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly sweeps = new Map<string, SweepRecord>();
  /** Queued job ids; a Set keeps insertion (FIFO) order and drops a cancelled id in O(1). */
  private readonly queued = new Set<string>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly concurrency: number;
  private readonly runner: PlanRunner;
  private readonly pool: PlanThreadPool | null;
  private readonly keepResultsMs: number;
  private runningCount = 0;
  private lastPruneMs = Date.now();
  /** False once draining or closed: no new jobs, though queued ones still start while draining. */
  private accepting = true;
  private closed = false;

  constructor(options: InlineJobQueueOptions = {}) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? availableParallelism() - 1));
    this.pool = options.runner ? null : new PlanThreadPool({ maxIdle: this.concurrency });
    this.runner = options.runner ?? this.pool!.run;
    this.keepResultsMs = options.keepResultsMs ?? 24 * 3600 * 1000;
  }

  async submit(
    request: PlanRequest,
    owner: string | null = null,
  ): Promise<{ job: PlanJob; created: boolean }> {
    this.assertOpen();
    return this.enqueue(parseOrThrow(PlanRequest, request, 'request'), null, owner);
  }

  async get(id: string): Promise<PlanJob | null> {
    const record = this.jobs.get(id);
    return record ? view(record) : null;
  }

  async waitFor(id: string, timeoutMs: number): Promise<PlanJob | null> {
    const record = this.jobs.get(id);
    if (!record) return null;
    if (!isFinalStatus(record.status) && timeoutMs > 0) await this.finished(id, timeoutMs);
    return this.get(id);
  }

  async cancel(id: string): Promise<PlanJob | null> {
    const record = this.jobs.get(id);
    if (!record) return null;
    if (record.status === 'queued') {
      this.queued.delete(id);
      this.record(record, { kind: 'cancelled', reason: CANCEL_REASON });
    } else if (record.status === 'running') {
      // Aborting terminates the job's thread; its outcome is recorded before `running` settles.
      record.controller?.abort(CANCEL_REASON);
      await record.running;
    }
    return view(record);
  }

  async submitSweep(sweep: SweepRequest, owner: string | null = null): Promise<Sweep> {
    this.assertOpen();
    const parsed = parseOrThrow(SweepRequest, sweep, 'sweep');
    const points = expandSweep(parsed, validatePlanRequest);
    const id = sweepId(parsed, owner);
    // Created before its jobs are touched, so that none of them expires before the sweep does.
    const createdMs = Date.now();
    const entries = points.map(({ point, request }) => ({
      jobId: this.enqueue(request, id, owner).job.id,
      point,
    }));
    this.sweeps.set(id, { createdMs, points: entries });
    return (await this.getSweep(id))!;
  }

  async getSweep(id: string): Promise<Sweep | null> {
    const sweep = this.sweeps.get(id);
    if (!sweep) return null;
    const rows = sweep.points.map(({ jobId, point }) => {
      const record = this.jobs.get(jobId);
      // Jobs outlive their sweeps (see submitSweep); a missing one means its results expired.
      return sweepRow(jobId, point, record ?? { status: 'failed', plan: null });
    });
    return sweepOf(id, rows);
  }

  async depth(): Promise<number> {
    return this.queued.size + this.runningCount;
  }

  async ready(): Promise<boolean> {
    return this.accepting;
  }

  /**
   * The jobs live only in this process: a shutdown lets the accepted ones (queued included) finish,
   * so that their waiting callers get their plans, rather than dropping them.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.accepting = false;
    const unfinished = [...this.jobs.values()].filter((record) => !isFinalStatus(record.status));
    await Promise.all(unfinished.map((record) => this.finished(record.id, timeoutMs)));
  }

  /** Cancels queued jobs, aborts running ones and ends the threads. */
  async close(): Promise<void> {
    this.accepting = false;
    this.closed = true;
    const running = [...this.jobs.values()].filter((record) => record.status === 'running');
    for (const id of this.queued) await this.cancel(id);
    await Promise.all(running.map((record) => this.cancel(record.id)));
    await this.pool?.close();
  }

  private assertOpen(): void {
    if (!this.accepting) throw new QueueClosedError();
  }

  private enqueue(
    request: PlanRequest,
    sweepId: string | null,
    owner: string | null,
  ): { job: PlanJob; created: boolean } {
    this.prune();
    const id = planJobId(request, owner);
    const existing = this.jobs.get(id);
    if (existing && !restartsOnResubmit(existing.status, existing.error)) {
      existing.touchedMs = Date.now();
      return { job: view(existing), created: false };
    }
    const record: JobRecord = {
      id,
      request,
      sweepId: existing?.sweepId ?? sweepId,
      createdAt: new Date().toISOString(),
      status: 'queued',
      progress: QUEUED_PROGRESS,
      startedAt: null,
      finishedAt: null,
      plan: null,
      error: null,
      controller: null,
      running: null,
      touchedMs: Date.now(),
    };
    this.jobs.set(id, record);
    this.queued.add(id);
    this.pump();
    return { job: view(record), created: true };
  }

  private pump(): void {
    for (const id of this.queued) {
      if (this.runningCount >= this.concurrency) return;
      this.queued.delete(id);
      const record = this.jobs.get(id);
      if (record?.status === 'queued') this.start(record);
    }
  }

  private start(record: JobRecord): void {
    this.runningCount += 1;
    const controller = new AbortController();
    record.status = 'running';
    record.startedAt = new Date().toISOString();
    record.progress = { phase: 'starting', fraction: 0 };
    record.controller = controller;
    record.running = processPlanJob(record.request, {
      runner: this.runner,
      signal: controller.signal,
      onProgress: (progress) => {
        record.progress = progress;
      },
    })
      .then((outcome) => this.record(record, outcome))
      .finally(() => {
        record.controller = null;
        this.runningCount -= 1;
        if (!this.closed) this.pump();
      });
  }

  private record(record: JobRecord, outcome: JobOutcome): void {
    record.finishedAt = new Date().toISOString();
    record.touchedMs = Date.now();
    if (outcome.kind === 'succeeded') {
      record.status = 'succeeded';
      record.plan = outcome.plan;
      record.progress = DONE_PROGRESS;
    } else if (outcome.kind === 'failed') {
      // No retry here: in one process a transient fault (a crashed thread) tends to recur at once.
      record.status = 'failed';
      record.error = outcome.problem;
    } else {
      record.status = 'cancelled';
    }
    const waiting = this.waiters.get(record.id);
    this.waiters.delete(record.id);
    for (const wake of waiting ?? []) wake();
  }

  private finished(id: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const waiting = this.waiters.get(id) ?? new Set<() => void>();
      this.waiters.set(id, waiting);
      const wake = () => {
        clearTimeout(timer);
        waiting.delete(wake);
        if (waiting.size === 0 && this.waiters.get(id) === waiting) this.waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      waiting.add(wake);
    });
  }

  /** Forgets finished jobs and sweeps past their keep time; checked at most once a minute. */
  private prune(): void {
    const now = Date.now();
    if (now - this.lastPruneMs < PRUNE_INTERVAL_MS) return;
    this.lastPruneMs = now;
    for (const [id, record] of this.jobs) {
      if (isFinalStatus(record.status) && record.touchedMs + this.keepResultsMs < now) this.jobs.delete(id);
    }
    for (const [id, sweep] of this.sweeps) {
      if (sweep.createdMs + this.keepResultsMs < now) this.sweeps.delete(id);
    }
  }
}

function view(record: JobRecord): PlanJob {
  return {
    id: record.id,
    status: record.status,
    progress: { ...record.progress },
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    plan: record.plan,
    error: record.error,
    sweepId: record.sweepId,
  };
}
