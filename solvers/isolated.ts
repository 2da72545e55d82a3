/**
 * solveIlpIsolated: solveIlp in a worker thread that is terminated at the deadline (timeLimitSec + grace) or
 * when `signal` aborts. The backends are synchronous WebAssembly or JavaScript and not all of them honour
 * their own time limit (javascript-lp-solver bounds only branch-and-bound), so only a thread that can be
 * killed guarantees that a solve never blocks the caller's event loop or overruns.
 */

import type { Worker } from 'node:worker_threads';
import { isProcessReport, stopThread } from './child-processes.ts';
import { SolveAbortedError, SolverBackendError, throwIfAborted } from './errors.ts';
import { reviveError, type SolveRequest, type WorkerMessage } from './isolated-protocol.ts';
import type { BackendName, IlpProblem, IlpSolution, SolveOptions } from './problem.ts';
import { startThread } from './thread.ts';
import { validateProblem } from './validate.ts';

export interface IsolatedSolveOptions extends SolveOptions {
  /** Time after timeLimitSec before the worker is killed, for verification and messaging. Default 0.5 s. */
  readonly graceSec?: number;
}

/**
 * Threads that answered are kept for the next solve: starting one (and loading tsx and the WebAssembly
 * solvers in it) costs ~0.3 s, a solve of a small problem a few milliseconds. A thread that was killed
 * (deadline, abort) or crashed is never reused. Idle threads are unref'd, so they do not keep the process
 * alive.
 */
interface IdleWorker {
  readonly worker: Worker;
  /** Drops the thread from the idle list if it dies while idle (its errors have nobody to go to). */
  readonly onGone: () => void;
}
const idleWorkers: IdleWorker[] = [];
const MAX_IDLE_WORKERS = 2;

function takeWorker(): Worker {
  const idle = idleWorkers.pop();
  if (idle === undefined) return startWorker();
  // Only this module's own listeners: Worker keeps internal ones that deliver its messages.
  idle.worker.off('exit', idle.onGone).off('error', idle.onGone);
  idle.worker.ref();
  return idle.worker;
}

function releaseWorker(worker: Worker): void {
  if (idleWorkers.length >= MAX_IDLE_WORKERS) {
    void worker.terminate();
    return;
  }
  worker.unref();
  const idle: IdleWorker = {
    worker,
    onGone: () => {
      const at = idleWorkers.indexOf(idle);
      if (at >= 0) idleWorkers.splice(at, 1);
    },
  };
  worker.once('exit', idle.onGone).on('error', idle.onGone);
  idleWorkers.push(idle);
}

/** The solver thread: its entry as source under tsx or vitest, as built JavaScript otherwise. */
function startWorker(): Worker {
  const runningFromSource = import.meta.url.endsWith('.ts');
  return startThread(
    new URL(runningFromSource ? './isolated-worker.ts' : './isolated-worker.js', import.meta.url),
  );
}

export async function solveIlpIsolated(
  problem: IlpProblem,
  options: IsolatedSolveOptions = {},
): Promise<IlpSolution> {
  const startedMs = performance.now();
  const { signal } = options;
  throwIfAborted(signal);
  // Bad input is the caller's bug: report it here, with its path, without paying for a thread.
  validateProblem(problem);
  const backend = options.backend ?? 'auto';
  const request: SolveRequest = {
    problem,
    backend,
    deadlineEpochMs: Date.now() + problem.timeLimitSec * 1000,
  };
  const killAfterMs = (problem.timeLimitSec + (options.graceSec ?? 0.5)) * 1000;
  const worker = takeWorker();
  // With `auto` the DP runs first; the worker names each backend as it starts.
  let current: BackendName = backend === 'auto' ? 'elimination' : backend;

  return new Promise<IlpSolution>((resolve, reject) => {
    let settled = false;
    const timer = Number.isFinite(killAfterMs) ? setTimeout(onDeadline, killAfterMs) : undefined;
    const wallSec = () => (performance.now() - startedMs) / 1000;
    /** `healthy`: the thread answered and may serve the next solve; otherwise it is killed. */
    function settle(healthy = false): boolean {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      if (healthy) releaseWorker(worker);
      // Its solver processes go with it, or they would run to their own limit.
      else void stopThread(worker);
      return true;
    }
    function onDeadline() {
      if (settle())
        resolve({ status: 'timeout', objective: null, choice: null, wallSec: wallSec(), backend: current });
    }
    function onAbort() {
      if (settle()) reject(new SolveAbortedError(signal?.reason));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    function onMessage(message: WorkerMessage) {
      if (isProcessReport(message)) return;
      if (message.type === 'backend') {
        current = message.backend;
        options.onBackendStart?.(current);
      } else if (message.type === 'solution') {
        if (settle(true)) resolve({ ...message.solution, wallSec: wallSec() });
      } else if (settle(true)) reject(reviveError(message.error, current));
    }
    function onError(error: Error) {
      if (settle()) reject(new SolverBackendError(current, `worker crashed: ${error.message}`));
    }
    function onExit(code: number) {
      if (settle())
        reject(new SolverBackendError(current, `worker exited with code ${code} before answering`));
    }
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    worker.postMessage(request);
  });
}
