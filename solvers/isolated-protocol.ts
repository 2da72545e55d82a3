/** Messages between solveIlpIsolated and its worker thread (structured-cloned, so plain data only). */
import type { ProcessReport } from './child-processes.ts';
import {
  InvalidProblemError,
  SolveAbortedError,
  SolverBackendError,
  SolverVerificationError,
} from './errors.ts';
import type { BackendChoice, BackendName, IlpProblem, IlpSolution } from './problem.ts';

export interface SolveRequest {
  readonly problem: IlpProblem;
  readonly backend: BackendChoice;
  /** Date.now() time by which the solve must end; the worker gives the solver only what is left. */
  readonly deadlineEpochMs: number;
}

/** Errors cross the thread boundary as data and are rebuilt on the other side by their stable name. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly path?: string;
  readonly backend?: BackendName;
}

export type WorkerMessage =
  | { readonly type: 'backend'; readonly backend: BackendName }
  /** A solver process (cbc) the thread started or saw end: the runner kills those still running with it. */
  | ProcessReport
  | { readonly type: 'solution'; readonly solution: IlpSolution }
  | { readonly type: 'error'; readonly error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { path, backend } = error as Partial<Pick<SerializedError, 'path' | 'backend'>>;
  return {
    name: error.name,
    message: error.message,
    ...(typeof path === 'string' ? { path } : {}),
    ...(typeof backend === 'string' ? { backend } : {}),
  };
}

/** Rebuilds the named error classes; anything else (a bug in the worker) becomes a SolverBackendError. */
export function reviveError(data: SerializedError, fallbackBackend: BackendName): Error {
  const backend = data.backend ?? fallbackBackend;
  let error: Error;
  switch (data.name) {
    case 'InvalidProblemError':
      error = new InvalidProblemError(data.path ?? '', '');
      break;
    case 'SolverVerificationError':
      error = new SolverVerificationError(backend, '');
      break;
    case 'SolverBackendError':
      error = new SolverBackendError(backend, '');
      break;
    case 'AbortError':
      error = new SolveAbortedError();
      break;
    default:
      return new SolverBackendError(backend, `worker error ${data.name}: ${data.message}`);
  }
  error.message = data.message;
  return error;
}
