import { expect } from 'vitest';
import { type InputIssue, InvalidInputError } from '../../src/schema/errors.ts';

/** Runs `fn`, expecting an InvalidInputError, and returns its issues for the test to check. */
export function issuesOf(fn: () => unknown): readonly InputIssue[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as InvalidInputError).issues;
  }
  throw new Error('expected an InvalidInputError');
}
