/**
 * The CBC subprocess backend: its LP file and solution parsing, warm starts, infeasible budgets, and that
 * the process dies on abort and at the deadline. Needs the `cbc` binary (installed by .ci/run).
 */
import { describe, expect, it } from 'vitest';
import { cbcAvailable, parseSolution, runCbc } from '../../solvers/backends/cbc.ts';
import { linearise } from '../../solvers/backends/linearise.ts';
import { writeLpFile } from '../../solvers/backends/lp-file.ts';
import { solveWithMilp } from '../../solvers/backends/milp.ts';
import { solveIlp } from '../../solvers/ilp.ts';
import type { IlpProblem } from '../../solvers/problem.ts';
import { randomProblem } from '../../solvers/random.ts';
import { verifySolution } from '../../solvers/verify.ts';
import { bruteForce, costOf, sameObjective, stoppedOnTime } from './oracle.ts';

describe('parseSolution', () => {
  it('reads status, objective and values, including values flagged with **', () => {
    const run = parseSolution(
      'Optimal - objective value 4.00000000\n      0 x   0   3\n      1 y   1   2\n**    2 z   1   4\n',
    );
    expect(run.status).toBe('optimal');
    expect(run.objective).toBe(4);
    expect([...run.values!]).toEqual([
      ['x', 0],
      ['y', 1],
      ['z', 1],
    ]);
  });

  it('maps infeasible, stopped with and without an integer point', () => {
    expect(parseSolution('Infeasible - objective value 2.0\n').status).toBe('infeasible');
    expect(parseSolution('Integer infeasible - objective value 2.0\n').status).toBe('infeasible');
    const stopped = parseSolution('Stopped on time - objective value 7\n 0 x 1 0\n');
    expect(stopped).toMatchObject({ status: 'stopped', objective: 7 });
    const none = parseSolution(
      'Stopped on time (no integer solution - continuous used) - objective value 1\n',
    );
    expect(none).toMatchObject({ status: 'stopped', values: null });
  });
});

describe.skipIf(!cbcAvailable())('cbc backend', () => {
  it('equals brute force on budgeted DAGs, unpruned, with a warm start never worse than the start', async () => {
    for (let seed = 0; seed < 15; seed++) {
      const problem = randomProblem({ seed, nodes: 6, strategies: 3, edgeProbability: 0.5, budget: 0.3 });
      const oracle = bruteForce(problem);
      const start = oracle.choice!.map((k, v) => (seed % 2 === 0 ? k : (k + v) % 3));
      const startCost = costOf(problem, start);
      const fits = startCost.memory <= problem.memoryBudget!;
      const warm = fits ? { startChoice: start } : {};
      let answer = await solveWithMilp(problem, 'cbc', 10, warm);
      if (stoppedOnTime(answer.status)) answer = await solveWithMilp(problem, 'cbc', 30, warm);
      const verified = verifySolution(problem, answer);
      expect(verified.status, `seed ${seed}`).toBe('optimal');
      expect(sameObjective(verified.objective!, oracle.objective!), `seed ${seed}`).toBe(true);
      if (fits) expect(verified.objective!).toBeLessThanOrEqual(startCost.objective + 1e-9);
    }
  });

  it('says infeasible when no choice fits the budget', async () => {
    const problem = randomProblem({ seed: 3, nodes: 5, strategies: 3, budget: 'infeasible' });
    const verified = verifySolution(problem, await solveWithMilp(problem, 'cbc', 10));
    expect(verified.status).toBe('infeasible');
  });

  const hard: IlpProblem = randomProblem({
    seed: 400,
    nodes: 400,
    strategies: 8,
    edgeProbability: 4 / 400,
    budget: 0.1,
    timeLimitSec: 1.5,
  });

  it('stops at its deadline with a verified choice or a timeout', async () => {
    const started = performance.now();
    const solution = await solveIlp(hard, { backend: 'cbc' });
    expect((performance.now() - started) / 1000).toBeLessThan(hard.timeLimitSec + 1.5);
    expect(['optimal', 'feasible', 'timeout']).toContain(solution.status);
    if (solution.choice !== null)
      expect(costOf(hard, solution.choice).memory).toBeLessThanOrEqual(hard.memoryBudget!);
  });

  it('kills the process when the caller aborts', async () => {
    // runCbc settles only once the process has closed, so its rejection shows the process is gone.
    const lp = writeLpFile(linearise({ ...hard, timeLimitSec: 60 }));
    const controller = new AbortController();
    const started = performance.now();
    const solving = runCbc(lp, 60, { signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    await expect(solving).rejects.toMatchObject({ name: 'AbortError' });
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
