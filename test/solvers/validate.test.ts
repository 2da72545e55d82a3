/** Malformed problems are rejected with InvalidProblemError naming the offending value. */
import { describe, expect, it } from 'vitest';
import { InvalidProblemError } from '../../solvers/errors.ts';
import { solveIlp } from '../../solvers/ilp.ts';
import type { IlpProblem } from '../../solvers/problem.ts';
import { validateProblem } from '../../solvers/validate.ts';

const valid: IlpProblem = {
  nodes: [
    { cost: [1, 2], memory: [1, 1] },
    { cost: [0, Number.POSITIVE_INFINITY], memory: [0, 3] },
  ],
  edges: [
    {
      from: 0,
      to: 1,
      cost: [
        [0, 1],
        [1, 0],
      ],
    },
  ],
  memoryBudget: 5,
  timeLimitSec: 1,
};

function pathOf(problem: unknown): string {
  try {
    validateProblem(problem as IlpProblem);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidProblemError);
    const invalid = error as InvalidProblemError;
    expect(invalid.name).toBe('InvalidProblemError');
    expect(invalid.code).toBe('INVALID_PROBLEM');
    return invalid.path;
  }
  throw new Error('accepted an invalid problem');
}

describe('validateProblem', () => {
  it('accepts infinite costs (forbidden) and a null budget', () => {
    expect(() => validateProblem(valid)).not.toThrow();
    expect(() => validateProblem({ ...valid, memoryBudget: null })).not.toThrow();
  });

  it.each([
    ['nodes[1].memory', { ...valid, nodes: [valid.nodes[0], { cost: [1, 2], memory: [1] }] }],
    ['nodes[0].cost[1]', { ...valid, nodes: [{ cost: [1, Number.NaN], memory: [1, 1] }, valid.nodes[1]] }],
    ['nodes[0].cost[0]', { ...valid, nodes: [{ cost: [-1, 1], memory: [1, 1] }, valid.nodes[1]] }],
    [
      'nodes[0].memory[1]',
      { ...valid, nodes: [{ cost: [1, 1], memory: [1, Number.POSITIVE_INFINITY] }, valid.nodes[1]] },
    ],
    ['nodes[0].cost', { ...valid, nodes: [{ cost: [], memory: [] }, valid.nodes[1]] }],
    [
      'edges[0].to',
      {
        ...valid,
        edges: [
          {
            from: 0,
            to: 2,
            cost: [
              [0, 1],
              [1, 0],
            ],
          },
        ],
      },
    ],
    [
      'edges[0].from',
      {
        ...valid,
        edges: [
          {
            from: 0.5,
            to: 1,
            cost: [
              [0, 1],
              [1, 0],
            ],
          },
        ],
      },
    ],
    ['edges[0].cost', { ...valid, edges: [{ from: 0, to: 1, cost: [[0, 1]] }] }],
    ['edges[0].cost[1]', { ...valid, edges: [{ from: 0, to: 1, cost: [[0, 1], [1]] }] }],
    [
      'edges[0].cost[1][0]',
      {
        ...valid,
        edges: [
          {
            from: 0,
            to: 1,
            cost: [
              [0, 1],
              [-2, 0],
            ],
          },
        ],
      },
    ],
    ['memoryBudget', { ...valid, memoryBudget: -1 }],
    ['memoryBudget', { ...valid, memoryBudget: Number.POSITIVE_INFINITY }],
    ['timeLimitSec', { ...valid, timeLimitSec: 0 }],
    ['nodes', { ...valid, nodes: 'x' }],
  ])('names %s', (path, problem) => {
    expect(pathOf(problem)).toBe(path);
  });

  it('makes solveIlp reject before solving', async () => {
    await expect(solveIlp({ ...valid, timeLimitSec: Number.NaN })).rejects.toMatchObject({
      name: 'InvalidProblemError',
      path: 'timeLimitSec',
    });
  });
});
