/**
 * Redis killed (SIGKILL, as a crash) under a real API and two real workers, and started again on the
 * same port and data directory: the append-only file is fsynced on every write, so every job Redis
 * acknowledged is still there. While it is down the API answers 503 problems at once and reports not
 * ready; afterwards API and workers reconnect by themselves and every accepted job finishes once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createMeshplanClient } from '../../src/client/index.ts';
import type { PlanJob } from '../../src/schema/index.ts';
import { FINISHED, pollJob } from '../e2e/poll.ts';
import { freePort, startMeshplan, stop, waitUntilReady } from '../e2e/processes.ts';
import {
  type Child,
  expectAlive,
  expectEachFinishedOnce,
  expectProblem,
  QUICK_PLAN,
  quickPlan,
  slowPlan,
  waitForOutput,
  waitForStatus,
} from './helpers.ts';
import { RedisServer } from './redis-server.ts';

/** What "at once" means while Redis is down: a request must not wait on the reconnecting client. */
const OUTAGE_ANSWER_MS = 5000;
/** Longer than the workers' locks (--lock-sec 2), so the jobs they were solving count as stalled. */
const OUTAGE_MS = 5000;
const QUEUE = 'plans';

describe('Redis restarting under the API and two workers', () => {
  const processes: Child[] = [];
  const redis = new RedisServer();

  afterAll(async () => {
    await Promise.all(processes.map(stop));
    await redis.remove();
  });

  it('answers 503 while it is down, reconnects by itself and finishes every accepted job once', async () => {
    await redis.start(await freePort());
    const env = { REDIS_URL: redis.url, MESHPLAN_QUEUE: QUEUE, LOG_LEVEL: 'warn' };
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const api = startMeshplan(['serve', '--port', String(port)], env);
    const workers = [0, 1].map(() => startMeshplan(['worker', '--concurrency', '1', '--lock-sec', '2'], env));
    processes.push(api, ...workers);
    await waitUntilReady(url);
    for (const worker of workers) await waitForOutput(worker, /taking jobs/, 30_000);
    const client = createMeshplanClient(url);

    // Two that take seconds (one per worker, both running when Redis goes), two queued behind them.
    const ids: string[] = [];
    for (const body of [slowPlan(2304), slowPlan(3840), quickPlan(768), quickPlan(1024)]) {
      const { data, response } = await client.POST('/v1/plans', { body: body as never });
      expect(response.status).toBe(202);
      ids.push(data!.id);
    }
    for (const id of ids.slice(0, 2)) await waitForStatus(client, id, 'running', 30_000);

    await redis.stop('SIGKILL');
    const outageStart = Date.now();
    const timeout = () => AbortSignal.timeout(OUTAGE_ANSWER_MS);
    const post = () =>
      fetch(`${url}/v1/plans`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(quickPlan(512)),
        signal: timeout(),
      });
    // At the start of the outage and again well into it (ioredis then waits longer between retries).
    for (const at of [0, 3000]) {
      await new Promise((r) => setTimeout(r, Math.max(0, outageStart + at - Date.now())));
      await expectProblem(await post(), 503, 'STORE_UNAVAILABLE');
      await expectProblem(
        await fetch(`${url}/v1/plans/${ids[2]}`, { signal: timeout() }),
        503,
        'STORE_UNAVAILABLE',
      );
      expect((await fetch(`${url}/healthz`, { signal: timeout() })).status).toBe(200);
      await expectProblem(await fetch(`${url}/readyz`, { signal: timeout() }), 503, 'NOT_READY');
    }
    await new Promise((r) => setTimeout(r, Math.max(0, outageStart + OUTAGE_MS - Date.now())));
    expectAlive({ api, 'worker 0': workers[0]!, 'worker 1': workers[1]! });

    await redis.start(redis.port);
    await waitUntilReady(url, 30_000);
    const { data: after, response } = await client.POST('/v1/plans', { body: QUICK_PLAN as never });
    expect(response.status).toBe(202);
    ids.push(after!.id);

    const finished: (PlanJob | null)[] = [];
    const deadline = Date.now() + 90_000;
    for (const id of ids)
      finished.push(await pollJob(client, id, FINISHED, Math.max(0, deadline - Date.now())));
    expect(finished.map((job) => job?.status)).toEqual(ids.map(() => 'succeeded'));
    expect(finished.map((job) => job?.plan?.status)).toEqual(ids.map(() => 'optimal'));
    expectAlive({ api, 'worker 0': workers[0]!, 'worker 1': workers[1]! });

    await expectEachFinishedOnce(QUEUE, redis.url, workers, ids);
  }, 150_000);
});
