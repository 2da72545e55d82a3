import { z } from 'zod';
import type { InputIssue } from './errors.ts';

/** RFC 9457 problem details; `errors` lists validation failures by field. */
export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  code: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type Problem = z.infer<typeof Problem>;

/** Problem types of meshplan's own (RFC 9457 `type`); every other problem is a plain HTTP status. */
export const INVALID_INPUT_PROBLEM_TYPE = 'urn:meshplan:problem:invalid-input';
export const PLAN_FAILED_PROBLEM_TYPE = 'urn:meshplan:problem:plan-failed';

/** The path of an issue with the whole input, as the CLI prints it. */
const ROOT_PATH = '(root)';

/**
 * Bad input as a problem document, wherever it is found (the API at submit, a job that failed):
 * a 400 with `errors` naming each field.
 */
export function invalidInputProblem(issues: readonly InputIssue[], detail: string): Problem {
  return {
    type: INVALID_INPUT_PROBLEM_TYPE,
    title: 'Invalid input',
    status: 400,
    detail,
    code: 'INVALID_INPUT',
    // A fault of the whole document (a body that is not an object) still names where it is.
    errors: issues.map(({ path, message }) => ({ path: path || ROOT_PATH, message })),
  };
}
