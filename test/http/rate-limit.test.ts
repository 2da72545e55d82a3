/**
 * The rate limit as deployed: real HTTP from loopback against a listening app with the default limits.
 * A server without keys (one user's, typically) must take a sweep script's 2,000 estimates; with keys
 * each key still gets `rateLimitMax` per window and then 429s. Pricing is stubbed with a real plan
 * (answers still go through validation and the Plan schema): the limiter is what is measured here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type MeshplanApp } from '../../src/http/app.ts';
import { DEFAULT_LIMITS, type Limits } from '../../src/http/limits.ts';
import { SMALL_REQUEST, samplePlan } from './fixtures.ts';
import { MemoryQueue } from './memory-queue.ts';

const REQUESTS = 2000;
const CONCURRENCY = 8;

const apps: MeshplanApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function listen(apiKeys: string[], limits: Partial<Limits> = {}): Promise<string> {
  const plan = await samplePlan();
  const app = buildApp({ queue: new MemoryQueue(), apiKeys, limits, estimator: async () => plan });
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

/** `count` estimates, `CONCURRENCY` at a time; how many answers had each status. */
async function estimates(url: string, count: number, key?: string): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  const headers = { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
  let next = 0;
  const client = async () => {
    while (next < count) {
      next++;
      const response = await fetch(`${url}/v1/estimates`, {
        method: 'POST',
        headers,
        body: JSON.stringify(SMALL_REQUEST),
      });
      await response.arrayBuffer();
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  return statuses;
}

describe('rate limit by deployment', () => {
  it(`without keys: ${REQUESTS} estimates from loopback, none turned away`, async () => {
    expect(REQUESTS).toBeGreaterThan(DEFAULT_LIMITS.rateLimitMax);
    expect(await estimates(await listen([]), REQUESTS)).toEqual({ 200: REQUESTS });
  });

  it(`with keys: ${DEFAULT_LIMITS.rateLimitMax} per key per window, then 429; another key is unaffected`, async () => {
    const url = await listen(['key-a', 'key-b']);
    const max = DEFAULT_LIMITS.rateLimitMax;
    expect(await estimates(url, REQUESTS, 'key-a')).toEqual({ 200: max, 429: REQUESTS - max });
    expect(await estimates(url, 10, 'key-b')).toEqual({ 200: 10 });
  });

  it('without keys, a limit per client address when the operator sets one', async () => {
    const url = await listen([], { rateLimitOpenMax: 5 });
    expect(await estimates(url, 8)).toEqual({ 200: 5, 429: 3 });
  });
});
