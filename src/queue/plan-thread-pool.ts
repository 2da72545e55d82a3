/**
 * plan() in worker threads, never on the caller's event loop (DESIGN.md §7: the API answers /healthz
 * while a long plan solves; a BullMQ worker keeps renewing its job locks). A thread is terminated on
 * abort, so a cancelled solve stops at once even inside a synchronous WebAssembly MILP. Threads that
 * answered are kept for the next job: starting one (the planner, tsx, HiGHS) costs seconds.
 */
import { Worker } from 'node:worker_threads';
import { InvalidInputError } from '../schema/errors.ts';
import type { JobProgress, Plan, PlanRequest } from '../schema/index.ts';
import { JobCancelledError, PlanOverrunError, PlanWorkerError, QueueClosedError } from './errors.ts';
import { type PlanThreadInput, type PlanThreadMessage, reviveError } from './plan-thread-protocol.ts';

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
}

/**
 * Time past the request's own limit before the thread is killed: the planner stops at its deadline by
 * itself, then still assembles the plan and its exports; only a solver ignoring its limit needs this.
 */
const OVERRUN_GRACE_MS = 30_000;

type ThreadEvent =
  | { readonly kind: 'message'; readonly message: PlanThreadMessage }
  | { readonly kind: 'crash'; readonly detail: string };

interface PooledThread {
  readonly worker: Worker;
  /** The running job's listener; null while idle. */
  listener: ((event: ThreadEvent) => void) | null;
  idleTimer: NodeJS.Timeout | undefined;
}

/**
 * Under tsx or vitest this module is TypeScript source and a worker thread does not inherit the loader,
 * so the thread starts from the solvers' generic bootstrap, which registers tsx and imports `entry`.
 */
function startWorker(): Worker {
  const runningFromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(runningFromSource ? './plan-thread.ts' : './plan-thread.js', import.meta.url);
  // Inherited flags can be fatal to a worker (`--input-type` under `node -e`); the planner needs none.
  const execArgv: string[] = [];
  if (!runningFromSource) return new Worker(entry, { execArgv });
  return new Worker(new URL('../../solvers/isolated-bootstrap.mjs', import.meta.url), {
    execArgv,
    workerData: { entry: entry.href },
  });
}

export class PlanThreadPool {
  private readonly idle: PooledThread[] = [];
  private readonly busy = new Set<PooledThread>();
  private readonly maxIdle: number;
  private readonly idleMs: number;
  private closed = false;

  constructor(options: PlanThreadPoolOptions = {}) {
    this.maxIdle = options.maxIdle ?? 1;
    this.idleMs = options.idleMs ?? 300_000;
  }

  /** Plans `request` on a pooled thread; rejects with JobCancelledError as soon as `signal` aborts. */
  readonly run: PlanRunner = (request, { onProgress, signal }) => {
    if (this.closed) return Promise.reject(new QueueClosedError());
    if (signal?.aborted) return Promise.reject(new JobCancelledError(String(signal.reason)));
    const thread = this.acquire();
    const killAfterMs = request.options.timeLimitSec * 1000 + OVERRUN_GRACE_MS;

    return new Promise<Plan>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (finish(false))
          reject(new PlanOverrunError(`the planner ran past its time limit + ${OVERRUN_GRACE_MS / 1000} s`));
      }, killAfterMs);
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
        return true;
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      thread.listener = (event) => {
        if (event.kind === 'crash') {
          if (finish(false)) reject(new PlanWorkerError(event.detail));
        } else if (event.message.type === 'progress') {
          onProgress?.(event.message.progress);
        } else if (event.message.type === 'plan') {
          if (finish(true)) resolve(event.message.plan);
        } else {
          const error = reviveError(event.message.error);
          // Bad input leaves the thread sound; after any other error it is not trusted again.
          if (finish(error instanceof InvalidInputError)) reject(error);
        }
      };
      const input: PlanThreadInput = { request };
      thread.worker.postMessage(input);
    });
  };

  /** Terminates every thread; jobs still running reject with PlanWorkerError. */
  async close(): Promise<void> {
    this.closed = true;
    const threads = [...this.idle, ...this.busy];
    this.idle.length = 0;
    await Promise.all(threads.map((thread) => this.terminate(thread)));
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
    const thread: PooledThread = { worker: startWorker(), listener: null, idleTimer: undefined };
    thread.worker.on('message', (message: PlanThreadMessage) =>
      thread.listener?.({ kind: 'message', message }),
    );
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
    await thread.worker.terminate();
  }

  private forget(thread: PooledThread): void {
    clearTimeout(thread.idleTimer);
    this.busy.delete(thread);
    const at = this.idle.indexOf(thread);
    if (at >= 0) this.idle.splice(at, 1);
  }
}
