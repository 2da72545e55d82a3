/**
 * A request's timeLimitSec bounds its job within ±10% even when a solver ignores its own limit: the
 * planning thread is terminated and the answer is the best plan it had reported (`feasible`), or
 * `timeout` when it had none (issue "Reliability and security", Deadlines).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plan } from '../../src/planner/plan.ts';
import { InlineJobQueue } from '../../src/queue/inline-queue.ts';
import { PlanThreadPool } from '../../src/queue/plan-thread-pool.ts';
import { type Plan, PlanRequest } from '../../src/schema/index.ts';
import { eventually, LONG, TINY } from './helpers.ts';

const withLimit = (request: PlanRequest, timeLimitSec: number): PlanRequest =>
  PlanRequest.parse({ ...request, options: { ...request.options, timeLimitSec } });

async function timed(run: () => Promise<Plan>): Promise<{ plan: Plan; elapsedSec: number }> {
  const started = performance.now();
  const answer = await run();
  return { plan: answer, elapsedSec: (performance.now() - started) / 1000 };
}

/** The issue's tolerance: the answer comes within 10% of the limit either side. */
function expectWithinLimit(elapsedSec: number, limitSec: number): void {
  expect(elapsedSec).toBeGreaterThanOrEqual(0.9 * limitSec);
  expect(elapsedSec).toBeLessThanOrEqual(1.1 * limitSec);
}

const limitIgnoring = (mode?: 'silent') =>
  new URL(`./fixtures/limit-ignoring-thread.ts${mode ? `?mode=${mode}` : ''}`, import.meta.url);

describe('plan() reports each better plan', () => {
  it('streams strictly improving feasible plans, the last one being the answer', async () => {
    const bests: Plan[] = [];
    const answer = await plan(TINY, { onBest: (best) => bests.push(best) });
    expect(answer.status).toBe('optimal');
    expect(bests.length).toBeGreaterThan(0);
    for (const best of bests) {
      expect(best.status).toBe('feasible');
      expect(best.solver.status).toBe('feasible');
      expect(best.summary).not.toBeNull();
    }
    const steps = bests.map((b) => b.summary!.stepTimeSec);
    for (let i = 1; i < steps.length; i++) expect(steps[i]!).toBeLessThan(steps[i - 1]!);
    expect(bests.at(-1)!.summary).toEqual(answer.summary);
    expect(bests.at(-1)!.stages).toEqual(answer.stages);
  });

  it('stops at a deadline it is given and says the search was cut short', async () => {
    const { plan: answer, elapsedSec } = await timed(() => plan(LONG, { deadlineMs: Date.now() + 1500 }));
    expect(['feasible', 'timeout']).toContain(answer.status);
    expect(answer.reason).toMatch(/time limit/);
    // In process nothing stops a step already under way, so only the lower side is tight.
    expect(elapsedSec).toBeGreaterThanOrEqual(1.5);
    expect(elapsedSec).toBeLessThan(1.5 * 1.1 + 0.5);
  });
});

describe('PlanThreadPool deadlines', () => {
  const pools: PlanThreadPool[] = [];
  const poolWith = (threadModule?: URL) => {
    const pool = new PlanThreadPool(threadModule ? { threadModule } : {});
    pools.push(pool);
    return pool;
  };
  let inProcess: Plan;

  beforeAll(async () => {
    inProcess = await plan(TINY);
  });
  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.close()));
  });

  it('stops a thread whose solver ignores the limit and answers with its best plan, feasible', async () => {
    const limitSec = 6;
    const pool = poolWith(limitIgnoring());
    const { plan: answer, elapsedSec } = await timed(() => pool.run(withLimit(TINY, limitSec), {}));
    expectWithinLimit(elapsedSec, limitSec);
    expect(answer.status).toBe('feasible');
    expect(answer.solver.status).toBe('feasible');
    expect(answer.reason).toMatch(/time limit/);
    // The planner had finished its search; only the last answer never came: the best is the optimum.
    expect(answer.summary).toEqual(inProcess.summary);
    expect(answer.solver.wallSec).toBeGreaterThanOrEqual(0.9 * limitSec);
  });

  it('answers timeout when the stopped thread had found nothing', async () => {
    const limitSec = 2;
    const pool = poolWith(limitIgnoring('silent'));
    const { plan: answer, elapsedSec } = await timed(() => pool.run(withLimit(TINY, limitSec), {}));
    expectWithinLimit(elapsedSec, limitSec);
    expect(answer).toMatchObject({ status: 'timeout', summary: null, stages: [], exports: null });
    expect(answer.reason).toMatch(/time limit \(2 s\)/);
  });

  it('keeps the real planner within the limit on a request that needs longer', async () => {
    const limitSec = 3;
    const pool = poolWith();
    const { plan: answer, elapsedSec } = await timed(() => pool.run(withLimit(LONG, limitSec), {}));
    // LONG plans for ~7 s on an idle machine: the search is cut, neither early nor late.
    expectWithinLimit(elapsedSec, limitSec);
    expect(['feasible', 'timeout']).toContain(answer.status);
    expect(answer.reason).toMatch(/time limit/);
    if (answer.status === 'feasible') expect(answer.summary?.stepTimeSec).toBeGreaterThan(0);
  });

  it('turns the stopped thread into a succeeded job, not a failure to retry', async () => {
    const queue = new InlineJobQueue({ runner: poolWith(limitIgnoring('silent')).run });
    try {
      const { job } = await queue.submit(withLimit(TINY, 1));
      const done = await eventually(async () => {
        const current = await queue.get(job.id);
        return current?.status === 'succeeded' || current?.status === 'failed' ? current : undefined;
      }, 10_000);
      expect(done.status).toBe('succeeded');
      expect(done.error).toBeNull();
      expect(done.plan?.status).toBe('timeout');
    } finally {
      await queue.close();
    }
  });
});
