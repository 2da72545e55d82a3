/** The greedy warm start: feasible exactly when some choice is, never better than the optimum, priced honestly. */
import { describe, expect, it } from 'vitest';
import { greedyIncumbent } from '../../solvers/incumbent.ts';
import { randomProblem } from '../../solvers/random.ts';
import { bruteForce, costOf, sameObjective } from './oracle.ts';

describe('greedyIncumbent', () => {
  it('finds a choice within the budget whenever brute force does, priced as the oracle prices it', () => {
    let optimalHits = 0;
    for (let seed = 0; seed < 120; seed++) {
      const budgets = [0.1, 0.3, 0.6, 'infeasible', 0.05] as const;
      const problem = randomProblem({
        seed,
        nodes: 2 + (seed % 6),
        strategies: [1, 4],
        edgeProbability: 0.4,
        budget: budgets[seed % budgets.length]!,
      });
      const oracle = bruteForce(problem);
      const incumbent = greedyIncumbent(problem);
      if (oracle.objective === null) {
        expect(incumbent, `seed ${seed}`).toBeNull();
        continue;
      }
      expect(incumbent, `seed ${seed}`).not.toBeNull();
      const priced = costOf(problem, incumbent!.choice);
      expect(priced.memory).toBeLessThanOrEqual(problem.memoryBudget!);
      expect(sameObjective(priced.objective, incumbent!.objective), `seed ${seed}`).toBe(true);
      expect(incumbent!.objective).toBeGreaterThanOrEqual(oracle.objective - 1e-9);
      if (sameObjective(incumbent!.objective, oracle.objective)) optimalHits++;
    }
    // A local search, not a proof; but it should often land on the optimum of such small problems.
    expect(optimalHits).toBeGreaterThan(20);
  });

  it('improves on the leanest choice when the budget leaves room', () => {
    const problem = {
      nodes: [
        { cost: [1, 10], memory: [5, 1] },
        { cost: [1, 10], memory: [5, 1] },
      ],
      edges: [],
      memoryBudget: 6,
      timeLimitSec: 1,
    };
    // Leanest is [1, 1] (cost 20); the budget allows one node its fat, cheap strategy.
    expect(greedyIncumbent(problem)?.objective).toBe(11);
  });
});
