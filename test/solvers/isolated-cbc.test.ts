/**
 * A cbc process started by a solver thread dies with the thread: killed at the deadline or on abort, the
 * thread cannot stop its own child processes, and without the runner's help cbc would run on to its own
 * time limit. The oracle is the operating system's process table.
 */
import { describe, expect, it } from 'vitest';
import { cbcAvailable } from '../../solvers/backends/cbc.ts';
import { solveIlpIsolated } from '../../solvers/isolated.ts';
import { cbcPids, HARD_FOR_CBC as hard } from '../support/cbc-processes.ts';

async function waitFor<T>(probe: () => T | null, timeoutMs: number): Promise<T | null> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== null || performance.now() > until) return found;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const pidsOnceRunning = () => {
  const pids = cbcPids(true);
  return pids.length > 0 ? pids : null;
};
/** True once no cbc child is left, neither running nor a zombie. */
const noneLeft = () => (cbcPids(false).length === 0 ? true : null);

describe.skipIf(!cbcAvailable())('a cbc process under solveIlpIsolated', () => {
  it('is killed with its thread when the signal aborts', async () => {
    expect(cbcPids(false)).toEqual([]);
    const controller = new AbortController();
    const solve = solveIlpIsolated(hard, { backend: 'cbc', signal: controller.signal });
    solve.catch(() => undefined);
    const pids = await waitFor(pidsOnceRunning, 5000);
    expect(pids).not.toBeNull();
    controller.abort();
    await expect(solve).rejects.toMatchObject({ name: 'AbortError' });
    expect(await waitFor(noneLeft, 4000)).toBe(true);
  });

  it('is killed with its thread when the signal aborts before the thread has reported it', async () => {
    expect(cbcPids(false)).toEqual([]);
    const controller = new AbortController();
    // The thread names its backend just before it starts cbc. Waiting here, synchronously, until cbc runs
    // keeps the thread's report of it unread: the abort comes while the runner knows of no process.
    const solve = solveIlpIsolated(hard, {
      backend: 'cbc',
      signal: controller.signal,
      onBackendStart: () => {
        const until = performance.now() + 5000;
        while (cbcPids(true).length === 0 && performance.now() < until) sleepSync(10);
        controller.abort();
      },
    });
    await expect(solve).rejects.toMatchObject({ name: 'AbortError' });
    expect(await waitFor(noneLeft, 4000)).toBe(true);
  });

  it('is killed with its thread at the deadline, long before its own limit', async () => {
    expect(cbcPids(false)).toEqual([]);
    // The thread is killed 17 s before the limit it handed cbc, as when the DP used its share first.
    const started = performance.now();
    const solve = solveIlpIsolated(hard, { backend: 'cbc', graceSec: -17 });
    const pids = await waitFor(pidsOnceRunning, 5000);
    expect(pids).not.toBeNull();
    const solution = await solve;
    expect(solution.status).toBe('timeout');
    expect(performance.now() - started).toBeLessThan(5000);
    expect(await waitFor(noneLeft, 4000)).toBe(true);
  });
});
