import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type AppOptions, buildApp, type MeshplanApp } from '../../src/http/app.ts';
import { keyId } from '../../src/http/auth.ts';
import { InlineJobQueue } from '../../src/queue/inline-queue.ts';
import { PlanRequest } from '../../src/schema/index.ts';
import { instantRunner, REDIS_URL } from '../queue/helpers.ts';
import { expectProblem, SMALL_REQUEST, samplePlan } from './fixtures.ts';
import { MemoryQueue } from './memory-queue.ts';

const apps: MeshplanApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function setup(options: Partial<AppOptions> = {}) {
  const queue = new MemoryQueue();
  const app = buildApp({ queue, apiKeys: ['key-a', 'key-b'], ...options });
  apps.push(app);
  return { app, queue };
}

const as = (key: string) => ({ authorization: `Bearer ${key}` });

describe('API keys', () => {
  it.each([
    ['GET', '/v1/gpus'],
    ['POST', '/v1/plans'],
    ['GET', '/v1/plans/x'],
    ['POST', '/v1/sweeps'],
    ['GET', '/metrics'],
    ['GET', '/docs'],
    ['GET', '/openapi.json'],
    ['GET', '/no/such/route'],
  ] as const)('%s %s without a key (or with a wrong one) is a 401 problem', async (method, url) => {
    const { app } = setup();
    for (const headers of [{}, as('key-c'), as('key-a key-b'), { authorization: 'Basic a2V5LWE=' }]) {
      const response = await app.inject({
        method,
        url,
        headers,
        payload: method === 'POST' ? {} : undefined,
      });
      expectProblem(response, 401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('leaves /healthz and /readyz open', async () => {
    const { app } = setup();
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz?x=1' })).statusCode).toBe(200);
  });

  it('shows a job only to the key that made it: 403 for another key, 404 for an unknown id', async () => {
    const { app, queue } = setup();
    const submitted = await app.inject({
      method: 'POST',
      url: '/v1/plans',
      payload: SMALL_REQUEST,
      headers: as('key-a'),
    });
    expect(submitted.statusCode).toBe(202);
    const id = (submitted.json() as { id: string }).id;
    expect(id.startsWith(`${keyId('key-a')}-`)).toBe(true);
    queue.finish(id, await samplePlan());
    // The owner's GET puts the job in the finished-jobs cache: another key must not read it from there.
    expect(
      (await app.inject({ method: 'GET', url: `/v1/plans/${id}`, headers: as('key-a') })).statusCode,
    ).toBe(200);
    for (const method of ['GET', 'DELETE'] as const) {
      const denied = expectProblem(
        await app.inject({ method, url: `/v1/plans/${id}`, headers: as('key-b') }),
        403,
      );
      expect(denied.code).toBe('FORBIDDEN');
    }
    const unknown = `${keyId('key-a')}-${'0'.repeat(63)}9`;
    expectProblem(
      await app.inject({ method: 'GET', url: `/v1/plans/${unknown}`, headers: as('key-b') }),
      404,
    );
    expect(
      (await app.inject({ method: 'GET', url: `/v1/plans/${id}`, headers: as('key-a') })).json(),
    ).toMatchObject({
      status: 'succeeded',
    });
  });

  it("never answers another key's identical request with the first key's job (dedup is per key)", async () => {
    const { app, queue } = setup();
    const first = await app.inject({
      method: 'POST',
      url: '/v1/plans',
      payload: SMALL_REQUEST,
      headers: as('key-a'),
    });
    const firstId = (first.json() as { id: string }).id;
    queue.finish(firstId, await samplePlan());
    // Key a's repeat is a dedup hit served from the finished-jobs cache …
    const again = await app.inject({
      method: 'POST',
      url: '/v1/plans',
      payload: SMALL_REQUEST,
      headers: as('key-a'),
    });
    expect(again.statusCode).toBe(200);
    expect((again.json() as { id: string }).id).toBe(firstId);
    // … and key b's identical request is a new job of its own, with no plan of key a's in it.
    const other = await app.inject({
      method: 'POST',
      url: '/v1/plans',
      payload: SMALL_REQUEST,
      headers: as('key-b'),
    });
    expect(other.statusCode).toBe(202);
    expect((other.json() as { id: string }).id).not.toBe(firstId);
    expect(other.body).not.toContain(firstId);
  });

  it('shows a sweep (and its CSV) only to the key that made it', async () => {
    const { app } = setup();
    const made = await app.inject({
      method: 'POST',
      url: '/v1/sweeps',
      payload: { base: SMALL_REQUEST, grid: { 'training.globalBatch': [8, 16] } },
      headers: as('key-a'),
    });
    expect(made.statusCode).toBe(202);
    const id = (made.json() as { id: string }).id;
    expect(
      (await app.inject({ method: 'GET', url: `/v1/sweeps/${id}`, headers: as('key-a') })).statusCode,
    ).toBe(200);
    for (const url of [`/v1/sweeps/${id}`, `/v1/sweeps/${id}/rows.csv`]) {
      expectProblem(await app.inject({ method: 'GET', url, headers: as('key-b') }), 403);
    }
  });
});

describe('per-key job ids in the queue', () => {
  it('the inline queue keeps identical requests of two keys apart and deduplicates within one', async () => {
    const queue = new InlineJobQueue({ runner: instantRunner(), concurrency: 1 });
    try {
      const request = PlanRequest.parse(SMALL_REQUEST);
      const a = await queue.submit(request, keyId('key-a'));
      const b = await queue.submit(request, keyId('key-b'));
      const a2 = await queue.submit(request, keyId('key-a'));
      const open = await queue.submit(request);
      expect(a.created && b.created && open.created).toBe(true);
      expect(new Set([a.job.id, b.job.id, open.job.id]).size).toBe(3);
      expect(a2).toMatchObject({ created: false, job: { id: a.job.id } });
    } finally {
      await queue.close();
    }
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After past the limit, per key, and never limits the probes', async () => {
    const { app } = setup({ limits: { rateLimitMax: 3, rateLimitWindowSec: 60 } });
    for (let i = 0; i < 3; i++) {
      expect((await app.inject({ method: 'GET', url: '/v1/gpus', headers: as('key-a') })).statusCode).toBe(
        200,
      );
    }
    const limited = await app.inject({ method: 'GET', url: '/v1/gpus', headers: as('key-a') });
    const problem = expectProblem(limited, 429);
    expect(problem.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['x-content-type-options']).toBe('nosniff');
    expect((await app.inject({ method: 'GET', url: '/v1/gpus', headers: as('key-b') })).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) {
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    }
  });

  describe('with Redis', () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    afterAll(() => redis.quit());

    it('counts one key across two API instances sharing Redis', async () => {
      const key = `key-${randomUUID()}`;
      const limits = { rateLimitMax: 4, rateLimitWindowSec: 60 };
      const one = setup({ apiKeys: [key], limits, rateLimitRedis: redis }).app;
      const two = setup({ apiKeys: [key], limits, rateLimitRedis: redis }).app;
      const statuses: number[] = [];
      for (const app of [one, two, one, two, one, two]) {
        statuses.push((await app.inject({ method: 'GET', url: '/v1/gpus', headers: as(key) })).statusCode);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    });
  });
});

describe('security headers and errors', () => {
  it('sets helmet headers on the API and a Swagger UI policy on /docs', async () => {
    const { app } = setup({ apiKeys: [] });
    const api = await app.inject({ method: 'GET', url: '/v1/gpus' });
    expect(api.headers['x-content-type-options']).toBe('nosniff');
    expect(api.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(String(api.headers['content-security-policy'])).toMatch(/default-src 'self'/);
    const docs = await app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger-ui-bundle.js');
    const csp = String(docs.headers['content-security-policy']);
    // Swagger UI's own scripts and validator badge are allowed; nothing is upgraded to https on loopback.
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).toMatch(/img-src 'self' data: validator\.swagger\.io/);
    expect(csp).not.toMatch(/upgrade-insecure-requests/);
    expect(docs.headers['x-content-type-options']).toBe('nosniff');
  });

  it('answers a server fault with a 500 problem that carries no message or stack', async () => {
    const queue = new MemoryQueue();
    queue.get = async () => {
      throw new Error('secret internals at src/queue/x.ts:12');
    };
    const app = buildApp({ queue });
    apps.push(app);
    const response = await app.inject({ method: 'GET', url: '/v1/plans/abc' });
    expectProblem(response, 500);
    expect(response.body).not.toContain('secret internals');
  });
});
