/**
 * solveIlpIsolated: answers like solveIlp, but a solve that overruns is killed at its deadline, an abort
 * rejects at once, and the caller's event loop keeps running throughout.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { InvalidProblemError } from '../../solvers/errors.ts';
import { solveIlpIsolated } from '../../solvers/isolated.ts';
import { randomProblem } from '../../solvers/random.ts';
import { bruteForce, sameObjective } from './oracle.ts';

/**
 * A problem that takes javascript-lp-solver far longer than a second: its dense tableau over ~9000 columns
 * is built before its own time limit, which bounds only branch-and-bound, is even looked at.
 */
const heavy = randomProblem({
  seed: 7,
  nodes: 150,
  strategies: 6,
  edgeProbability: 0.05,
  budget: 0.3,
  timeLimitSec: 1,
});

/** Counts setInterval ticks while `work` runs, to show that the event loop is not blocked. */
async function ticksDuring<T>(work: Promise<T>): Promise<{ result: T; ticks: number; elapsedMs: number }> {
  let ticks = 0;
  const started = performance.now();
  const timer = setInterval(() => ticks++, 20);
  try {
    const result = await work;
    return { result, ticks, elapsedMs: performance.now() - started };
  } finally {
    clearInterval(timer);
  }
}

describe('solveIlpIsolated', () => {
  it('answers like the oracle', async () => {
    const problem = randomProblem({ seed: 11, nodes: 6, strategies: [2, 3], budget: 0.3 });
    const solution = await solveIlpIsolated(problem, { backend: 'auto' });
    expect(solution.status).toBe('optimal');
    expect(sameObjective(solution.objective!, bruteForce(problem).objective!)).toBe(true);
  });

  it('answers every solve of a sequence and concurrent solves on reused threads, also after a kill', async () => {
    const problems = Array.from({ length: 6 }, (_, seed) =>
      randomProblem({ seed: 100 + seed, nodes: 6, strategies: [2, 4], budget: seed % 2 === 0 ? 0.3 : null }),
    );
    const check = async (problem: (typeof problems)[number]) => {
      const solution = await solveIlpIsolated(problem);
      expect(solution.status).toBe('optimal');
      expect(sameObjective(solution.objective!, bruteForce(problem).objective!)).toBe(true);
    };
    for (const problem of problems.slice(0, 3)) await check(problem);
    await Promise.all(problems.slice(3).map(check));
    // A thread killed at its deadline is not returned to the idle ones: the next solve still answers.
    const killed = await solveIlpIsolated(
      { ...heavy, timeLimitSec: 0.3 },
      { backend: 'lp-solver', graceSec: 0 },
    );
    expect(['timeout', 'feasible']).toContain(killed.status);
    for (const problem of problems.slice(0, 2)) await check(problem);
  });

  it('kills a backend that overruns its limit and reports a timeout within deadline + 1 s', async () => {
    const { result, ticks, elapsedMs } = await ticksDuring(solveIlpIsolated(heavy, { backend: 'lp-solver' }));
    expect(['timeout', 'feasible']).toContain(result.status);
    expect(result.backend).toBe('lp-solver');
    expect(elapsedMs).toBeLessThan((heavy.timeLimitSec + 1) * 1000);
    // 20 ms ticks over ≥ 1 s: a blocked loop would show none.
    expect(ticks).toBeGreaterThan(20);
  });

  it('stops a HiGHS solve at the deadline too', async () => {
    const { result, elapsedMs } = await ticksDuring(solveIlpIsolated(heavy, { backend: 'highs' }));
    expect(['timeout', 'feasible']).toContain(result.status);
    expect(elapsedMs).toBeLessThan((heavy.timeLimitSec + 1) * 1000);
  });

  it('rejects quickly with an AbortError when the signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = performance.now();
    const solve = solveIlpIsolated(
      { ...heavy, timeLimitSec: 30 },
      { backend: 'lp-solver', signal: controller.signal },
    );
    await expect(solve).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('rejects at once when the signal is already aborted', async () => {
    await expect(solveIlpIsolated(heavy, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('reports invalid input with its path, and worker-side errors by their stable name', async () => {
    await expect(solveIlpIsolated({ ...heavy, memoryBudget: -1 })).rejects.toBeInstanceOf(
      InvalidProblemError,
    );
    const dense = randomProblem({ seed: 3, nodes: 12, strategies: 3, edgeProbability: 1 });
    await expect(solveIlpIsolated(dense, { backend: 'elimination' })).rejects.toMatchObject({
      name: 'SolverBackendError',
      code: 'SOLVER_BACKEND_FAILED',
      backend: 'elimination',
    });
  });

  it('starts its TypeScript worker under plain tsx too, not only under vitest', async () => {
    const index = new URL('../../solvers/index.ts', import.meta.url).href;
    const script = `
      const { solveIlpIsolated, randomProblem } = await import(${JSON.stringify(index)});
      const solution = await solveIlpIsolated(randomProblem({ seed: 2, nodes: 5, strategies: 3 }));
      process.stdout.write(solution.status);
    `;
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ]);
    expect(stdout).toBe('optimal');
  });
});
