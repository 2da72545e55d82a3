/**
 * A solver process (cbc) a planning thread starts dies with the thread when the pool stops it: the
 * thread cannot stop its own child processes. The oracle is the operating system's process table.
 */
import { describe, expect, it } from 'vitest';
import { cbcAvailable } from '../../solvers/backends/cbc.ts';
import { JobCancelledError } from '../../src/queue/errors.ts';
import { PlanThreadPool } from '../../src/queue/plan-thread-pool.ts';
import { PlanRequest } from '../../src/schema/index.ts';
import { cbcPids as cbcChildren } from '../support/cbc-processes.ts';
import { TINY } from './helpers.ts';

const CBC_THREAD = new URL('./fixtures/cbc-thread.ts', import.meta.url);

async function eventually(probe: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}

describe.skipIf(!cbcAvailable())('PlanThreadPool and the solver processes of its threads', () => {
  it('kills a cancelled job’s cbc with its thread, leaving neither a process nor a zombie', async () => {
    const pool = new PlanThreadPool({ threadModule: CBC_THREAD, maxThreads: 1 });
    try {
      expect(cbcChildren(false)).toEqual([]);
      const controller = new AbortController();
      const job = pool.run(PlanRequest.parse(TINY), { signal: controller.signal });
      job.catch(() => undefined);
      expect(await eventually(() => cbcChildren(true).length > 0, 10_000)).toBe(true);
      // At once: the thread's report of the process may not have reached the pool yet.
      controller.abort('cancelled by the test');
      await expect(job).rejects.toBeInstanceOf(JobCancelledError);
      expect(await eventually(() => cbcChildren(false).length === 0, 4000)).toBe(true);
    } finally {
      await pool.close();
    }
  });
});
