/** The elimination DP: same optimum as HiGHS on long chains and residual blocks, and declines when too wide. */
import { describe, expect, it } from 'vitest';
import { milpColumnCount, solveWithMilp } from '../../solvers/backends/milp.ts';
import { solveByElimination } from '../../solvers/elimination.ts';
import { eliminationOrder } from '../../solvers/elimination-order.ts';
import { milpBackendForSize, solveIlp } from '../../solvers/ilp.ts';
import type { IlpProblem } from '../../solvers/problem.ts';
import { pruneProblem } from '../../solvers/prune.ts';
import { randomProblem } from '../../solvers/random.ts';
import { verifySolution } from '../../solvers/verify.ts';
import { sameObjective } from './oracle.ts';

function eliminate(problem: IlpProblem) {
  const outcome = solveByElimination(problem);
  if (!outcome.applicable) throw new Error(outcome.reason);
  return verifySolution(problem, outcome.answer);
}

describe('elimination on tree-like graphs equals HiGHS', () => {
  // HiGHS needs 0.3-2 s for the larger budgeted ones, so not every combination is run.
  const cases = [
    [50, null],
    [200, null],
    [100, 0.1],
    [200, 0.05],
  ] as const;
  for (const shape of ['chain', 'residual'] as const) {
    for (const [nodes, budget] of cases) {
      it(`${shape} of ${nodes} nodes, budget ${budget ?? 'none'}`, async () => {
        const problem = randomProblem({
          seed: nodes,
          nodes,
          strategies: [2, 4],
          shape,
          budget,
          timeLimitSec: 30,
        });
        const started = performance.now();
        const byElimination = eliminate(problem);
        const eliminationMs = performance.now() - started;
        const byHighs = verifySolution(problem, await solveWithMilp(problem, 'highs', 30));
        expect(byHighs.status).toBe('optimal');
        expect(byElimination.status).toBe('optimal');
        expect(sameObjective(byElimination.objective!, byHighs.objective!)).toBe(true);
        expect(eliminationMs).toBeLessThan(2000);
      });
    }
  }
});

describe('elimination declines or stops instead of blowing up', () => {
  // A complete graph of 12 nodes: every elimination order starts with a table of 3^12 entries.
  const dense = randomProblem({ seed: 3, nodes: 12, strategies: 3, edgeProbability: 1 });

  it('orders a chain with tables of two variables', () => {
    expect(
      eliminationOrder(
        [3, 3, 3, 3],
        [
          [0, 1],
          [1, 2],
          [2, 3],
        ],
        100,
      ),
    ).toMatchObject({ largestTable: 9 });
  });

  it('refuses a graph whose tables would be too large', () => {
    expect(solveByElimination(dense)).toMatchObject({ applicable: false });
    expect(
      eliminationOrder(
        [4, 4, 4],
        [
          [0, 1],
          [1, 2],
          [0, 2],
        ],
        63,
      ),
    ).toBeNull();
  });

  it('refuses when a frontier or the total work exceeds its bound', () => {
    const chain = randomProblem({ seed: 3, nodes: 60, strategies: 4, shape: 'chain', budget: 0.3 });
    expect(solveByElimination(chain, { maxFrontierSize: 2 })).toMatchObject({ applicable: false });
    expect(solveByElimination(chain, { maxWork: 100 })).toMatchObject({ applicable: false });
  });

  it('reports a timeout when the deadline has passed', () => {
    const chain = randomProblem({ seed: 3, nodes: 20, strategies: 3, shape: 'chain' });
    const outcome = solveByElimination(chain, { deadlineMs: performance.now() - 1 });
    expect(outcome).toMatchObject({ applicable: true, answer: { status: 'timeout', selection: null } });
  });

  it('auto falls back to a MILP backend and still answers optimally', async () => {
    const solution = await solveIlp(dense, { backend: 'auto' });
    expect(solution.status).toBe('optimal');
    expect(solution.backend).toBe(milpBackendForSize(milpColumnCount(pruneProblem(dense).problem)));
    expect(['glpk', 'cbc']).toContain(solution.backend);
  });

  it('an explicit elimination request that does not apply is an error', async () => {
    await expect(solveIlp(dense, { backend: 'elimination' })).rejects.toMatchObject({
      name: 'SolverBackendError',
      code: 'SOLVER_BACKEND_FAILED',
    });
  });

  it('handles disconnected graphs and single-strategy nodes', () => {
    const problem: IlpProblem = {
      nodes: [
        { cost: [3], memory: [2] },
        { cost: [1, 2], memory: [4, 1] },
        { cost: [5, 0], memory: [1, 1] },
      ],
      edges: [{ from: 0, to: 1, cost: [[0, 4]] }],
      memoryBudget: 5,
      timeLimitSec: 1,
    };
    // Node 1 must take its lean strategy (2 + 4 on the edge); node 2 its free one.
    expect(eliminate(problem)).toEqual({ status: 'optimal', choice: [0, 1, 1], objective: 9 });
  });
});
