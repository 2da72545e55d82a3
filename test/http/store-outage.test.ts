import { describe, expect, it } from 'vitest';
import { isStoreUnavailable } from '../../src/http/problem.ts';
import { expectProblem, SMALL_REQUEST, testApp } from './fixtures.ts';

/** What ioredis throws while Redis is away. */
function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });
}

describe('while the job store is unreachable', () => {
  it('answers 503 problems, not 500s, and /readyz says not ready', async () => {
    const { app, queue } = testApp();
    queue.isReady = false;
    queue.get = async () => {
      throw refused();
    };
    queue.submit = async () => {
      throw Object.assign(new Error('Reached the max retries per request limit (which is 20).'), {
        name: 'MaxRetriesPerRequestError',
      });
    };
    const get = await app.inject({ method: 'GET', url: '/v1/plans/abc' });
    expect(expectProblem(get, 503).code).toBe('STORE_UNAVAILABLE');
    const post = await app.inject({ method: 'POST', url: '/v1/plans', payload: SMALL_REQUEST });
    expect(expectProblem(post, 503).code).toBe('STORE_UNAVAILABLE');
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('logs each refused request as one warning line naming the cause, without a stack trace', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) };
    const { app, queue } = testApp({ logger: { level: 'info', stream } });
    queue.get = async () => {
      throw refused();
    };
    await app.inject({ method: 'GET', url: '/v1/plans/abc' });
    const refusal = lines.filter((line) => line.msg === 'request refused');
    expect(refusal).toHaveLength(1);
    // pino's levels: 40 is warn, 50 error.
    expect(refusal[0]).toMatchObject({ level: 40, problem: 'STORE_UNAVAILABLE' });
    expect(String(refusal[0]!.cause)).toContain('ECONNREFUSED');
    expect(JSON.stringify(lines)).not.toContain('"stack"');
  });

  it('tells store outages from bugs', () => {
    expect(isStoreUnavailable(refused())).toBe(true);
    expect(isStoreUnavailable(new Error('Connection is closed.'))).toBe(true);
    expect(isStoreUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(
      false,
    );
  });
});
