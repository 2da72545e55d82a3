/**
 * plan() in worker threads, never on the caller's event loop (DESIGN.md §7: the API answers /healthz
 * while a long plan solves; a BullMQ worker keeps renewing its job locks). A thread is terminated on
 * abort, so a cancelled solve stops at once even inside a synchronous WebAssembly MILP. Threads that
 * answered are kept for the next job: starting one (the planner, tsx, HiGHS) costs seconds.
 */

import type { Worker } from 'node:worker_threads';
import { cutShort, timeLimitReason, unplannedPlan } from '../planner/outcomes.ts';
import { isProcessReport, type ProcessReport, startThread, stopThread } from '../planner/threads.ts';
import { InvalidInputError } from '../schema/errors.ts';
import type { JobProgress, Plan, PlanRequest } from '../schema/index.ts';
import { JobCancelledError, PlanWorkerError, QueueClosedError } from './errors.ts';
import {
  type PlanThreadInput,
  type PlanThreadMessage,
  type PlanThreadTask,
  reviveError,
} from './plan-thread-protocol.ts';

export interface PlanRunHooks {
  readonly onProgress?: (progress: JobProgress) => void;
  readonly signal?: AbortSignal;
}

/** Runs one plan; the seam through which tests substitute a planner. */
export type PlanRunner = (request: PlanRequest, hooks: PlanRunHooks) => Promise<Plan>;

export interface PlanThreadPoolOptions {
  /** Answered threads kept for reuse; more than the queue's concurrency would never be used. */
  readonly maxIdle?: number;
  /** An idle thread is ended after this long, giving back its solver heaps. Default 5 min. */
  readonly idleMs?: number;
  /**
   * The module each thread runs (default ./plan-thread): it answers PlanThreadInput messages with
   * PlanThreadMessages. Tests substitute planners that misbehave.
   */
  readonly threadModule?: URL;
  /** Tasks running at once; later ones wait for a thread in order. Default: no bound. */
  readonly maxThreads?: number;
}

/**
 * How long past the request's deadline a busy thread is left before it is stopped. The planner stops
 * itself at the deadline and only then assembles its answer; a thread still busy after this is inside a
 * solver that ignored its limit. A twentieth of the limit, within [50 ms, 1 s], keeps the job inside
 * its time limit + 10%.
 */
function stopGraceMs(limitMs: number): number {
  return Math.min(1000, Math.max(50, limitMs / 20));
}

/** A job's events: the thread's messages about it (its process reports are the pool's own). */
type ThreadEvent =
  | { readonly kind: 'message'; readonly message: Exclude<PlanThreadMessage, ProcessReport> }
  | { readonly kind: 'crash'; readonly detail: string };

interface PooledThread {
  readonly worker: Worker;
  /** The running job's listener; null while idle. */
  listener: ((event: ThreadEvent) => void) | null;
  idleTimer: NodeJS.Timeout | undefined;
}

function defaultThreadModule(): URL {
  const runningFromSource = import.meta.url.endsWith('.ts');
  return new URL(runningFromSource ? './plan-thread.ts' : './plan-thread.js', import.meta.url);
}

export class PlanThreadPool {
  private readonly idle: PooledThread[] = [];
  private readonly busy = new Set<PooledThread>();
  private readonly maxIdle: number;
  private readonly idleMs: number;
  private readonly threadModule: URL;
  private readonly maxThreads: number;
  private slotsTaken = 0;
  private readonly slotWaiters: { grant: () => void; fail: (error: Error) => void }[] = [];
  private closed = false;

  constructor(options: PlanThreadPoolOptions = {}) {
    this.maxIdle = options.maxIdle ?? 1;
    this.idleMs = options.idleMs ?? 300_000;
    this.threadModule = options.threadModule ?? defaultThreadModule();
    this.maxThreads = Math.max(1, options.maxThreads ?? Number.POSITIVE_INFINITY);
  }

  /**
   * Plans `request` on a pooled thread within its time limit, counted from now: a thread still busy
   * past the limit is terminated and the answer is the best plan it had reported (`feasible`), or
   * `timeout` when it had none. Rejects with JobCancelledError as soon as `signal` aborts.
   */
  readonly run: PlanRunner = (request, hooks) => this.runTask('plan', request, hooks);

  /**
   * Prices the fixed configuration of `request` (`estimate()`) on a pooled thread, under the same time
   * limit, so that a large model's pricing does not hold the caller's event loop.
   */
  estimate(request: PlanRequest, signal?: AbortSignal): Promise<Plan> {
    return this.runTask('estimate', request, signal ? { signal } : {});
  }

  private async runTask(task: PlanThreadTask, request: PlanRequest, hooks: PlanRunHooks): Promise<Plan> {
    const { onProgress, signal } = hooks;
    if (this.closed) throw new QueueClosedError();
    if (signal?.aborted) throw new JobCancelledError(String(signal.reason));
    await this.takeSlot(signal);
    if (this.closed) {
      this.giveSlot();
      throw new QueueClosedError();
    }
    const thread = this.acquire();
    const startedMs = Date.now();
    const limitMs = request.options.timeLimitSec * 1000;
    let bestJson: string | null = null;

    return new Promise<Plan>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!finish(false)) return;
        const wallSec = (Date.now() - startedMs) / 1000;
        resolve(
          bestJson !== null
            ? cutShort(JSON.parse(bestJson) as Plan, wallSec)
            : unplannedPlan(
                'timeout',
                `${timeLimitReason(request.options.timeLimitSec)}; the planner was stopped inside a solver`,
                { ilpSolves: 0, dpStates: 0, configurationsTried: 0, wallSec },
              ),
        );
      }, limitMs + stopGraceMs(limitMs));
      const onAbort = () => {
        if (finish(false)) reject(new JobCancelledError(String(signal?.reason ?? 'aborted')));
      };
      /** Ends this job on the thread; false when it had already ended. */
      const finish = (reusable: boolean): boolean => {
        if (thread.listener === null) return false;
        thread.listener = null;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.release(thread, reusable);
        this.giveSlot();
        return true;
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      thread.listener = (event) => {
        if (event.kind === 'crash') {
          if (finish(false)) reject(new PlanWorkerError(event.detail));
        } else if (event.message.type === 'progress') {
          onProgress?.(event.message.progress);
        } else if (event.message.type === 'best') {
          bestJson = event.message.planJson;
        } else if (event.message.type === 'plan') {
          if (finish(true)) resolve(event.message.plan);
        } else {
          const error = reviveError(event.message.error);
          // Bad input leaves the thread sound; after any other error it is not trusted again.
          if (finish(error instanceof InvalidInputError)) reject(error);
        }
      };
      const input: PlanThreadInput = { task, request, deadlineMs: startedMs + limitMs };
      thread.worker.postMessage(input);
    });
  }

  /** Terminates every thread; tasks still running reject with PlanWorkerError, waiting ones with QueueClosedError. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.slotWaiters.splice(0)) waiter.fail(new QueueClosedError());
    const threads = [...this.idle, ...this.busy];
    this.idle.length = 0;
    await Promise.all(threads.map((thread) => this.terminate(thread)));
  }

  /** Resolves once fewer than maxThreads tasks run; a slot freed later is handed to the oldest waiter. */
  private takeSlot(signal: AbortSignal | undefined): Promise<void> {
    if (this.slotsTaken < this.maxThreads) {
      this.slotsTaken += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const at = this.slotWaiters.indexOf(waiter);
        if (at >= 0) this.slotWaiters.splice(at, 1);
        reject(new JobCancelledError(String(signal?.reason ?? 'aborted')));
      };
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        fail: (error: Error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      this.slotWaiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private giveSlot(): void {
    const next = this.slotWaiters.shift();
    if (next) next.grant();
    else this.slotsTaken -= 1;
  }

  private acquire(): PooledThread {
    const reused = this.idle.pop();
    const thread = reused ?? this.spawn();
    clearTimeout(thread.idleTimer);
    thread.worker.ref();
    this.busy.add(thread);
    return thread;
  }

  private release(thread: PooledThread, reusable: boolean): void {
    this.busy.delete(thread);
    if (!reusable || this.closed || this.idle.length >= this.maxIdle) {
      void this.terminate(thread);
      return;
    }
    // An idle thread must not keep a finished CLI (or test) process alive.
    thread.worker.unref();
    thread.idleTimer = setTimeout(() => void this.terminate(thread), this.idleMs).unref();
    this.idle.push(thread);
  }

  private spawn(): PooledThread {
    const thread: PooledThread = {
      worker: startThread(this.threadModule),
      listener: null,
      idleTimer: undefined,
    };
    thread.worker.on('message', (message: PlanThreadMessage) => {
      if (!isProcessReport(message)) thread.listener?.({ kind: 'message', message });
    });
    thread.worker.on('error', (error) =>
      thread.listener?.({ kind: 'crash', detail: `the planning thread crashed: ${error.message}` }),
    );
    thread.worker.on('exit', (code) => {
      this.forget(thread);
      thread.listener?.({ kind: 'crash', detail: `the planning thread exited with code ${code}` });
    });
    return thread;
  }

  private async terminate(thread: PooledThread): Promise<void> {
    this.forget(thread);
    // Its solver processes (cbc) go with it, or they would run to their own limit.
    await stopThread(thread.worker);
  }

  private forget(thread: PooledThread): void {
    clearTimeout(thread.idleTimer);
    this.busy.delete(thread);
    const at = this.idle.indexOf(thread);
    if (at >= 0) this.idle.splice(at, 1);
  }
}
