/** Messages between runPlanInThread and its worker thread (structured-cloned, so plain data only). */

import type { ProcessReport } from '../planner/threads.ts';
import { type InputIssue, InvalidInputError } from '../schema/errors.ts';
import type { JobProgress, Plan, PlanRequest } from '../schema/index.ts';
import { PlanWorkerError } from './errors.ts';

/** `plan` searches (plan()); `estimate` prices the configuration the request fixes (estimate()). */
export type PlanThreadTask = 'plan' | 'estimate';

export interface PlanThreadInput {
  readonly task: PlanThreadTask;
  readonly request: PlanRequest;
  /** When the request's time limit runs out (epoch ms), counted from when the job started. */
  readonly deadlineMs: number;
}

export type PlanThreadMessage =
  | { readonly type: 'progress'; readonly progress: JobProgress }
  /**
   * A better plan than any before, stamped `feasible`: the answer if the thread must be stopped. As
   * JSON text: a string crosses the thread boundary as one copy, where a megabyte-sized plan object
   * would be rebuilt on the receiving event loop each time, though it is rarely read.
   */
  | { readonly type: 'best'; readonly planJson: string }
  | { readonly type: 'plan'; readonly plan: Plan }
  | { readonly type: 'error'; readonly error: SerializedError }
  /** A solver process (cbc) the thread started or saw end: stopping the thread kills those running. */
  | ProcessReport;

/** Errors cross the thread boundary as data and are rebuilt on this side by their stable name. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly issues?: readonly InputIssue[];
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof InvalidInputError) {
    return {
      name: error.name,
      message: error.message,
      issues: error.issues.map(({ path, message }) => ({ path, message })),
    };
  }
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

/** Bad input keeps its class and issues; anything else is a planner failure that names the original. */
export function reviveError(data: SerializedError): Error {
  if (data.name === 'InvalidInputError' && data.issues !== undefined) {
    const error = new InvalidInputError(data.issues);
    error.message = data.message;
    return error;
  }
  return new PlanWorkerError(`${data.name}: ${data.message}`);
}
