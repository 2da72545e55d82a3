/** Exact preprocessing: pruning removes what it should and never changes the optimum. */
import { describe, expect, it } from 'vitest';
import type { IlpProblem } from '../../solvers/problem.ts';
import { expandChoice, pruneProblem } from '../../solvers/prune.ts';
import { randomProblem } from '../../solvers/random.ts';
import { bruteForce, costOf, sameObjective } from './oracle.ts';

const INF = Number.POSITIVE_INFINITY;

describe('pruneProblem', () => {
  it('drops dominated, duplicate and forbidden strategies', () => {
    const problem: IlpProblem = {
      nodes: [
        // 1 is dominated by 0; 2 duplicates 0; 3 is forbidden.
        { cost: [1, 2, 1, INF], memory: [5, 5, 5, 1] },
        { cost: [1, 1], memory: [1, 1] },
      ],
      edges: [
        {
          from: 0,
          to: 1,
          cost: [
            [0, 1],
            [0, 1],
            [0, 1],
            [0, 0],
          ],
        },
      ],
      memoryBudget: 100,
      timeLimitSec: 1,
    };
    const pruned = pruneProblem(problem);
    expect(pruned.kept).toEqual([[0], [0]]);
    expect(pruned.infeasible).toBe(false);
    expect(pruned.problem.edges).toEqual([]); // all-zero after pruning
  });

  it('keeps a cheaper strategy that uses more memory when there is a budget, drops it without', () => {
    const problem: IlpProblem = {
      nodes: [{ cost: [1, 2], memory: [5, 3] }],
      edges: [],
      memoryBudget: 10,
      timeLimitSec: 1,
    };
    expect(pruneProblem(problem).kept).toEqual([[0, 1]]);
    expect(pruneProblem({ ...problem, memoryBudget: null }).kept).toEqual([[0]]);
    // With a budget of 4 the lean strategy is the only one left.
    expect(pruneProblem({ ...problem, memoryBudget: 4 }).kept).toEqual([[1]]);
  });

  it('removes strategies whose every pairing is forbidden and reports infeasibility', () => {
    const problem: IlpProblem = {
      nodes: [
        { cost: [1, 1], memory: [1, 1] },
        { cost: [1, 1], memory: [1, 1] },
      ],
      edges: [
        {
          from: 0,
          to: 1,
          cost: [
            [INF, INF],
            [INF, 0],
          ],
        },
      ],
      memoryBudget: null,
      timeLimitSec: 1,
    };
    expect(pruneProblem(problem).kept).toEqual([[1], [1]]);
    const blocked = {
      ...problem,
      edges: [
        {
          from: 0,
          to: 1,
          cost: [
            [INF, INF],
            [INF, INF],
          ],
        },
      ],
    };
    expect(pruneProblem(blocked).infeasible).toBe(true);
    expect(pruneProblem({ ...problem, memoryBudget: 1.5 }).infeasible).toBe(true);
  });

  it('folds self-edges into node costs', () => {
    const problem: IlpProblem = {
      nodes: [{ cost: [1, 2], memory: [1, 1] }],
      edges: [
        {
          from: 0,
          to: 0,
          cost: [
            [5, 0],
            [0, 0],
          ],
        },
      ],
      memoryBudget: null,
      timeLimitSec: 1,
    };
    const pruned = pruneProblem(problem);
    expect(pruned.kept).toEqual([[1]]);
    expect(pruned.problem.edges).toEqual([]);
  });

  it('never changes the optimum (brute force before and after, 200 random problems)', () => {
    let removed = 0;
    for (let seed = 0; seed < 200; seed++) {
      const problem = randomProblem({
        seed: 10_000 + seed,
        nodes: 2 + (seed % 5),
        strategies: [1, 5],
        edgeProbability: 0.4,
        budget: seed % 2 === 0 ? 0.25 : seed % 7 === 0 ? 'infeasible' : null,
        forbiddenProbability: seed % 3 === 0 ? 0.2 : 0,
        integerCosts: seed % 4 === 0,
      });
      const before = bruteForce(problem);
      const pruned = pruneProblem(problem);
      if (pruned.infeasible) {
        expect(before.objective, `seed ${seed}`).toBeNull();
        continue;
      }
      removed += problem.nodes.reduce((n, node, v) => n + node.cost.length - pruned.kept[v]!.length, 0);
      const after = bruteForce(pruned.problem);
      if (before.objective === null) {
        expect(after.objective, `seed ${seed}`).toBeNull();
        continue;
      }
      expect(after.objective, `seed ${seed}`).not.toBeNull();
      expect(sameObjective(after.objective!, before.objective), `seed ${seed}`).toBe(true);
      const mapped = costOf(problem, expandChoice(pruned, after.choice!));
      expect(sameObjective(mapped.objective, before.objective), `seed ${seed}`).toBe(true);
    }
    expect(removed).toBeGreaterThan(100);
  });
});
