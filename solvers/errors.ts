/**
 * Errors of the solvers. Each class has a stable `name` and `code` so that callers (and the worker-thread
 * runner, which re-creates errors from plain messages) can branch on them without `instanceof`.
 */
import type { BackendName } from './problem.ts';

/** The problem is malformed: wrong shapes, NaN, negative numbers. `path` points at the offending value. */
export class InvalidProblemError extends Error {
  override readonly name = 'InvalidProblemError';
  readonly code = 'INVALID_PROBLEM';
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

/** A backend's answer failed the independent check (fractional, over budget, wrong objective...). */
export class SolverVerificationError extends Error {
  override readonly name = 'SolverVerificationError';
  readonly code = 'SOLVER_VERIFICATION_FAILED';
  constructor(
    readonly backend: BackendName,
    detail: string,
  ) {
    super(`${backend} returned an answer that does not verify: ${detail}`);
  }
}

/** A backend crashed or reported a state that is neither an answer nor a limit (e.g. a numerical error). */
export class SolverBackendError extends Error {
  override readonly name = 'SolverBackendError';
  readonly code = 'SOLVER_BACKEND_FAILED';
  constructor(
    readonly backend: BackendName,
    detail: string,
  ) {
    super(`${backend} failed: ${detail}`);
  }
}

/** The caller aborted the solve. Named like the platform's AbortError so generic handlers recognise it. */
export class SolveAbortedError extends Error {
  override readonly name = 'AbortError';
  readonly code = 'ABORT_ERR';
  constructor(reason?: unknown) {
    super('the solve was aborted', reason === undefined ? undefined : { cause: reason });
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SolveAbortedError(signal.reason);
}
