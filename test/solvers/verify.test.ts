/** verifySolution must reject every kind of wrong answer a backend could give, and evaluateChoice recompute. */
import { describe, expect, it } from 'vitest';
import { InvalidProblemError, SolverVerificationError } from '../../solvers/errors.ts';
import type { BackendAnswer, IlpProblem } from '../../solvers/problem.ts';
import { evaluateChoice, verifySolution } from '../../solvers/verify.ts';

// Two nodes, one edge; the optimum under the budget is (1, 0): 2 + 1 + 0 = 3, memory 5 + 4 = 9.
const problem: IlpProblem = {
  nodes: [
    { cost: [1, 2], memory: [10, 5] },
    { cost: [1, 3], memory: [4, 1] },
  ],
  edges: [
    {
      from: 0,
      to: 1,
      cost: [
        [0, 7],
        [0, Number.POSITIVE_INFINITY],
      ],
    },
  ],
  memoryBudget: 10,
  timeLimitSec: 1,
};

const answer = (selection: number[][] | null, claimedObjective: number | null = null): BackendAnswer => ({
  backend: 'lp-solver',
  status: selection === null ? 'infeasible' : 'optimal',
  selection,
  claimedObjective,
});

function rejection(candidate: BackendAnswer): SolverVerificationError {
  try {
    verifySolution(problem, candidate);
  } catch (error) {
    expect(error).toBeInstanceOf(SolverVerificationError);
    return error as SolverVerificationError;
  }
  throw new Error('verifySolution accepted a wrong answer');
}

describe('evaluateChoice', () => {
  it('recomputes objective and memory and checks the budget', () => {
    expect(evaluateChoice(problem, [1, 0])).toEqual({ objective: 3, memory: 9, feasible: true });
    expect(evaluateChoice(problem, [0, 0])).toEqual({ objective: 2, memory: 14, feasible: false });
    expect(evaluateChoice(problem, [1, 1]).feasible).toBe(false);
    expect(evaluateChoice(problem, [1, 1]).objective).toBe(Number.POSITIVE_INFINITY);
  });

  it('rejects an index out of range with a path', () => {
    expect(() => evaluateChoice(problem, [0, 2])).toThrow(InvalidProblemError);
    expect(() => evaluateChoice(problem, [0])).toThrow(/choice/);
  });
});

describe('verifySolution', () => {
  it('accepts a correct answer and returns the recomputed objective', () => {
    expect(
      verifySolution(
        problem,
        answer(
          [
            [0, 1],
            [1, 0],
          ],
          3.0000000001,
        ),
      ),
    ).toEqual({
      status: 'optimal',
      choice: [1, 0],
      objective: 3,
    });
  });

  it('accepts values within the integrality tolerance', () => {
    expect(
      verifySolution(
        problem,
        answer([
          [1e-9, 1 - 1e-9],
          [1, 0],
        ]),
      ).choice,
    ).toEqual([1, 0]);
  });

  it('rejects a fractional point', () => {
    const error = rejection(
      answer([
        [0.5, 0.5],
        [1, 0],
      ]),
    );
    expect(error.name).toBe('SolverVerificationError');
    expect(error.code).toBe('SOLVER_VERIFICATION_FAILED');
    expect(error.message).toMatch(/fractional/);
  });

  it('rejects an over-budget point', () => {
    expect(
      rejection(
        answer([
          [1, 0],
          [1, 0],
        ]),
      ).message,
    ).toMatch(/exceeds the budget/);
  });

  it('rejects a claimed objective that the choice does not have', () => {
    expect(
      rejection(
        answer(
          [
            [0, 1],
            [1, 0],
          ],
          2.5,
        ),
      ).message,
    ).toMatch(/claimed objective/);
  });

  it('rejects a forbidden pair', () => {
    const generous = { ...problem, memoryBudget: null };
    expect(() =>
      verifySolution(
        generous,
        answer([
          [0, 1],
          [0, 1],
        ]),
      ),
    ).toThrow(/forbidden/);
  });

  it('rejects zero or two strategies on a node and wrong shapes', () => {
    expect(
      rejection(
        answer([
          [0, 0],
          [1, 0],
        ]),
      ).message,
    ).toMatch(/no strategy/);
    expect(
      rejection(
        answer([
          [1, 1],
          [1, 0],
        ]),
      ).message,
    ).toMatch(/both chosen/);
    expect(rejection(answer([[0, 1]])).message).toMatch(/nodes/);
    expect(
      rejection(
        answer([
          [0, 1, 0],
          [1, 0],
        ]),
      ).message,
    ).toMatch(/binaries/);
    expect(
      rejection(
        answer([
          [0, Number.NaN],
          [1, 0],
        ]),
      ).message,
    ).toMatch(/fractional/);
  });

  it('rejects a status that contradicts the presence of a point', () => {
    expect(
      rejection({
        ...answer([
          [0, 1],
          [1, 0],
        ]),
        status: 'infeasible',
      }).message,
    ).toMatch(/comes with a point/);
    expect(rejection({ ...answer(null), status: 'optimal' }).message).toMatch(/without a point/);
  });

  it('passes infeasible and timeout through without a choice', () => {
    expect(verifySolution(problem, answer(null))).toEqual({
      status: 'infeasible',
      choice: null,
      objective: null,
    });
  });
});
