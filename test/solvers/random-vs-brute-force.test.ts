/**
 * Every backend, through solveIlp and directly on the unpruned linearisation, against brute force on small
 * random problems: half with a binding memory budget, some with infeasible budgets, some with forbidden
 * (infinite) costs.
 */
import { describe, expect, it } from 'vitest';
import { cbcAvailable } from '../../solvers/backends/cbc.ts';
import { solveWithMilp } from '../../solvers/backends/milp.ts';
import { solveByElimination } from '../../solvers/elimination.ts';
import { solveIlp } from '../../solvers/ilp.ts';
import type { BackendChoice, IlpProblem, IlpSolution } from '../../solvers/problem.ts';
import { randomProblem } from '../../solvers/random.ts';
import { verifySolution } from '../../solvers/verify.ts';
import { bruteForce, costOf, type OracleAnswer, sameObjective, stoppedOnTime } from './oracle.ts';

const PROBLEM_COUNT = 200;
/** A second solve's limit after a timeout (these take milliseconds on a free CPU), within the test's 60 s. */
const RETRY_LIMIT_SEC = 30;

function problemFor(seed: number): IlpProblem {
  const budgets = [null, 0.1, null, 0.3, null, 0.5, null, 'infeasible', null, 0.2] as const;
  return randomProblem({
    seed,
    nodes: 1 + (seed % 7),
    strategies: [1, 4],
    edgeProbability: 0.2 + (seed % 5) * 0.1,
    budget: budgets[seed % budgets.length]!,
    forbiddenProbability: seed % 3 === 0 ? 0.15 : 0,
    integerCosts: seed % 4 === 1,
  });
}

const cases = Array.from({ length: PROBLEM_COUNT }, (_, seed) => {
  const problem = problemFor(seed);
  return { seed, problem, oracle: bruteForce(problem) };
});

/** The answer must match the oracle: same infeasibility, same optimum, and a choice that really costs that. */
function expectMatches(
  seed: number,
  problem: IlpProblem,
  oracle: OracleAnswer,
  status: string,
  choice: readonly number[] | null,
  objective: number | null,
) {
  const where = `seed ${seed}`;
  if (oracle.objective === null) {
    expect(status, where).toBe('infeasible');
    expect(choice, where).toBeNull();
    return;
  }
  expect(status, where).toBe('optimal');
  expect(choice, where).not.toBeNull();
  const recomputed = costOf(problem, choice!);
  expect(
    sameObjective(recomputed.objective, oracle.objective),
    `${where}: ${recomputed.objective} vs ${oracle.objective}`,
  ).toBe(true);
  expect(sameObjective(objective!, oracle.objective), where).toBe(true);
  if (problem.memoryBudget !== null)
    expect(recomputed.memory, where).toBeLessThanOrEqual(problem.memoryBudget);
}

describe('random small problems against brute force', () => {
  it('covers binding, infeasible and forbidden cases', () => {
    const infeasible = cases.filter((c) => c.oracle.objective === null).length;
    const budgeted = cases.filter((c) => c.problem.memoryBudget !== null).length;
    expect(infeasible).toBeGreaterThan(20);
    expect(budgeted).toBeGreaterThanOrEqual(PROBLEM_COUNT / 2);
  });

  const backends: BackendChoice[] = ['auto', 'elimination', 'highs', 'glpk', 'lp-solver', 'cbc'];
  for (const backend of backends) {
    // cbc is a Debian binary: optional locally, installed by .ci/run so that CI runs these.
    it.skipIf(backend === 'cbc' && !cbcAvailable())(
      `solveIlp with ${backend} equals brute force`,
      async () => {
        for (const { seed, problem, oracle } of cases) {
          let solution: IlpSolution = await solveIlp(problem, { backend });
          if (stoppedOnTime(solution.status))
            solution = await solveIlp({ ...problem, timeLimitSec: RETRY_LIMIT_SEC }, { backend });
          expectMatches(seed, problem, oracle, solution.status, solution.choice, solution.objective);
          if (backend !== 'auto') expect(solution.backend).toBe(backend);
        }
      },
    );
  }

  // solveIlp prunes first, which can leave a backend little to do: also run each on the full problem.
  for (const backend of ['highs', 'glpk', 'lp-solver', 'cbc'] as const) {
    it.skipIf(backend === 'cbc' && !cbcAvailable())(
      `${backend} on the unpruned linearisation equals brute force`,
      async () => {
        for (const { seed, problem, oracle } of cases) {
          let solved = await solveWithMilp(problem, backend, 10);
          if (stoppedOnTime(solved.status)) solved = await solveWithMilp(problem, backend, RETRY_LIMIT_SEC);
          const verified = verifySolution(problem, solved);
          expectMatches(seed, problem, oracle, verified.status, verified.choice, verified.objective);
        }
      },
    );
  }

  it('elimination on the unpruned problem equals brute force', () => {
    for (const { seed, problem, oracle } of cases) {
      const outcome = solveByElimination(problem);
      if (!outcome.applicable) throw new Error(`seed ${seed}: ${outcome.reason}`);
      const verified = verifySolution(problem, outcome.answer);
      expectMatches(seed, problem, oracle, verified.status, verified.choice, verified.objective);
    }
  });
});
