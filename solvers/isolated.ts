/**
 * solveIlpIsolated: solveIlp in a worker thread that is terminated at the deadline (timeLimitSec + grace) or
 * when `signal` aborts. The backends are synchronous WebAssembly or JavaScript and not all of them honour
 * their own time limit (javascript-lp-solver bounds only branch-and-bound), so only a thread that can be
 * killed guarantees that a solve never blocks the caller's event loop or overruns.
 */
import { Worker } from 'node:worker_threads';
import { SolveAbortedError, SolverBackendError, throwIfAborted } from './errors.ts';
import { reviveError, type SolveRequest, type WorkerMessage } from './isolated-protocol.ts';
import type { BackendName, IlpProblem, IlpSolution, SolveOptions } from './problem.ts';
import { validateProblem } from './validate.ts';

export interface IsolatedSolveOptions extends SolveOptions {
  /** Time after timeLimitSec before the worker is killed, for verification and messaging. Default 0.5 s. */
  readonly graceSec?: number;
}

/**
 * Under tsx or vitest this module is TypeScript source and a worker thread does not inherit the loader, so
 * the worker starts from a small .mjs bootstrap that registers tsx; compiled to .js it starts directly.
 */
function startWorker(): Worker {
  const runningFromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(runningFromSource ? './isolated-worker.ts' : './isolated-worker.js', import.meta.url);
  // A worker inherits the process's flags by default, and some are fatal for it (`--input-type` when the
  // caller was `node -e`); the solver needs none, and the bootstrap registers tsx itself.
  const execArgv: string[] = [];
  if (!runningFromSource) return new Worker(entry, { execArgv });
  return new Worker(new URL('./isolated-bootstrap.mjs', import.meta.url), {
    execArgv,
    workerData: { entry: entry.href },
  });
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
  const worker = startWorker();
  // With `auto` the DP runs first; the worker names each backend as it starts.
  let current: BackendName = backend === 'auto' ? 'elimination' : backend;

  return new Promise<IlpSolution>((resolve, reject) => {
    let settled = false;
    const timer = Number.isFinite(killAfterMs) ? setTimeout(onDeadline, killAfterMs) : undefined;
    const wallSec = () => (performance.now() - startedMs) / 1000;
    function settle(): boolean {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
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
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'backend') {
        current = message.backend;
        options.onBackendStart?.(current);
      } else if (message.type === 'solution') {
        if (settle()) resolve({ ...message.solution, wallSec: wallSec() });
      } else if (settle()) reject(reviveError(message.error, current));
    });
    worker.on('error', (error) => {
      if (settle()) reject(new SolverBackendError(current, `worker crashed: ${error.message}`));
    });
    worker.on('exit', (code) => {
      if (settle())
        reject(new SolverBackendError(current, `worker exited with code ${code} before answering`));
    });
    worker.postMessage(request);
  });
}
