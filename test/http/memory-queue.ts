import type { JobQueue } from '../../src/queue/job-queue.ts';
import { InvalidInputError } from '../../src/schema/errors.ts';
import {
  isFinalStatus,
  type Plan,
  type PlanJob,
  type PlanRequest,
  type Sweep,
  type SweepRequest,
  type SweepRow,
} from '../../src/schema/index.ts';

/**
 * An in-memory JobQueue for route tests: nothing runs by itself; a test moves jobs along with
 * `finish`/`setRows` and flips `isReady`. Dedup keys on the request's JSON, which is canonical
 * enough here because the tests send identical literals.
 */
export class MemoryQueue implements JobQueue {
  isReady = true;
  /** Every method called, in order (waitFor with its timeout). */
  readonly calls: string[] = [];
  /** Test control: runs after a new job is created, e.g. to finish it a little later. */
  onSubmit: ((job: PlanJob) => void) | null = null;
  private readonly jobs = new Map<string, PlanJob>();
  private readonly byRequest = new Map<string, string>();
  private readonly sweeps = new Map<string, Sweep>();
  private readonly waiters = new Map<string, (() => void)[]>();
  private nextId = 1;

  async submit(
    request: PlanRequest,
    owner: string | null = null,
  ): Promise<{ job: PlanJob; created: boolean }> {
    this.calls.push('submit');
    const key = `${owner}\n${JSON.stringify(request)}`;
    const known = this.byRequest.get(key);
    if (known !== undefined) return { job: this.jobs.get(known)!, created: false };
    const job = this.newJob(null, owner);
    this.byRequest.set(key, job.id);
    this.onSubmit?.(job);
    return { job, created: true };
  }

  async get(id: string): Promise<PlanJob | null> {
    this.calls.push('get');
    return this.jobs.get(id) ?? null;
  }

  async waitFor(id: string, timeoutMs: number): Promise<PlanJob | null> {
    this.calls.push(`waitFor:${timeoutMs}`);
    const job = this.jobs.get(id);
    if (job === undefined || isFinalStatus(job.status)) return job ?? null;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      const list = this.waiters.get(id) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.waiters.set(id, list);
    });
    return this.jobs.get(id) ?? null;
  }

  async cancel(id: string): Promise<PlanJob | null> {
    this.calls.push('cancel');
    const job = this.jobs.get(id);
    if (job === undefined) return null;
    if (isFinalStatus(job.status)) return job;
    return this.update(id, { status: 'cancelled', finishedAt: new Date(0).toISOString() });
  }

  async submitSweep(sweep: SweepRequest, owner: string | null = null): Promise<Sweep> {
    this.calls.push('submitSweep');
    // Like the real queues, a grid path outside the request is bad input, reported where it is.
    const unknown = Object.keys(sweep.grid).filter((path) => !(path.split('.')[0]! in sweep.base));
    if (unknown.length > 0) {
      throw new InvalidInputError(
        unknown.map((path) => ({ path: `grid.${path}`, message: 'no such field in the base request' })),
        'sweep',
      );
    }
    const [path, values] = Object.entries(sweep.grid)[0] ?? ['', []];
    const id = this.nextIdFor(owner, 'sweep');
    const rows = values.map((value) => {
      const job = this.newJob(id, owner);
      return emptyRow(job.id, { [path]: value });
    });
    const created: Sweep = {
      id,
      points: rows.length,
      counts: { queued: rows.length, running: 0, succeeded: 0, failed: 0, cancelled: 0 },
      rows,
    };
    this.sweeps.set(id, created);
    return created;
  }

  async getSweep(id: string): Promise<Sweep | null> {
    this.calls.push('getSweep');
    return this.sweeps.get(id) ?? null;
  }

  async depth(): Promise<number> {
    this.calls.push('depth');
    return [...this.jobs.values()].filter((job) => !isFinalStatus(job.status)).length;
  }

  async ready(): Promise<boolean> {
    this.calls.push('ready');
    return this.isReady;
  }

  async drain(timeoutMs: number): Promise<void> {
    this.calls.push(`drain:${timeoutMs}`);
  }

  async close(): Promise<void> {
    this.calls.push('close');
  }

  /** Test control: completes a job and wakes its waiters. */
  finish(id: string, plan: Plan): PlanJob {
    return this.update(id, {
      status: 'succeeded',
      progress: { phase: 'done', fraction: 1 },
      finishedAt: new Date(0).toISOString(),
      plan,
    });
  }

  /** Test control: replaces a sweep's rows. */
  setRows(id: string, rows: SweepRow[]): void {
    const sweep = this.sweeps.get(id)!;
    this.sweeps.set(id, { ...sweep, rows });
  }

  /** Ids shaped like the real ones when owned (`<keyId>-<64 hex>`), so the API's ownership check applies. */
  private nextIdFor(owner: string | null, kind: string): string {
    const n = this.nextId++;
    return owner === null ? `${kind}-${n}` : `${owner}-${String(n).padStart(64, '0')}`;
  }

  private newJob(sweepId: string | null, owner: string | null): PlanJob {
    const job: PlanJob = {
      id: this.nextIdFor(owner, 'job'),
      status: 'queued',
      progress: { phase: 'queued', fraction: 0 },
      createdAt: new Date(0).toISOString(),
      startedAt: null,
      finishedAt: null,
      plan: null,
      error: null,
      sweepId,
    };
    this.jobs.set(job.id, job);
    return job;
  }

  private update(id: string, patch: Partial<PlanJob>): PlanJob {
    const job = { ...this.jobs.get(id)!, ...patch };
    this.jobs.set(id, job);
    for (const wake of this.waiters.get(id) ?? []) wake();
    this.waiters.delete(id);
    return job;
  }
}

export function emptyRow(jobId: string, point: Record<string, unknown>): SweepRow {
  return {
    jobId,
    point,
    status: 'queued',
    planStatus: null,
    stepTimeSec: null,
    tokensPerSec: null,
    tflopsPerDevice: null,
    mfu: null,
    peakMemoryBytes: null,
    dp: null,
    tp: null,
    pp: null,
    gpus: null,
    trainingDays: null,
    costUsd: null,
    gpuHours: null,
  };
}
