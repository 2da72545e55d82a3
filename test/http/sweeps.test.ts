import { afterEach, describe, expect, it } from 'vitest';
import type { MeshplanApp } from '../../src/http/app.ts';
import type { SweepRow } from '../../src/schema/index.ts';
import { appWithSweep, errorAt, expectProblem, SMALL_REQUEST, testApp } from './fixtures.ts';
import { emptyRow } from './memory-queue.ts';

let app: MeshplanApp | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

function row(
  jobId: string,
  nodes: number,
  tokensPerSec: number | null,
  stepTimeSec: number | null,
): SweepRow {
  return {
    ...emptyRow(jobId, { 'cluster.nodes': nodes }),
    status: tokensPerSec === null ? 'failed' : 'succeeded',
    planStatus: tokensPerSec === null ? null : 'optimal',
    tokensPerSec,
    stepTimeSec,
  };
}

async function sweepWithRows() {
  const made = await appWithSweep(
    [1, 2, 4],
    [row('a', 1, 100, 3), row('b', 2, null, null), row('c', 4, 300, 1)],
  );
  app = made.app;
  return made;
}

describe('sweeps', () => {
  it('POST /v1/sweeps queues the grid: 202 with the sweep and where to poll it', async () => {
    const { response, id } = await sweepWithRows();
    expect(response.statusCode).toBe(202);
    expect(response.headers.location).toBe(`/v1/sweeps/${id}`);
    expect(response.json()).toMatchObject({ points: 3, counts: { queued: 3 } });
  });

  it('GET /v1/sweeps/:id?sort=tokensPerSec puts the fastest first and rows without a value last', async () => {
    const { app, id } = await sweepWithRows();
    const response = await app.inject({ method: 'GET', url: `/v1/sweeps/${id}?sort=tokensPerSec` });
    expect(response.statusCode).toBe(200);
    expect(response.json().rows.map((r: SweepRow) => r.jobId)).toEqual(['c', 'a', 'b']);
  });

  it('sorts step time ascending: best first there too', async () => {
    const { app, id } = await sweepWithRows();
    const response = await app.inject({ method: 'GET', url: `/v1/sweeps/${id}?sort=stepTimeSec` });
    expect(response.json().rows.map((r: SweepRow) => r.jobId)).toEqual(['c', 'a', 'b']);
  });

  it.each(['jobId', 'speed'])('rejects ?sort=%s with a 400 naming `sort`', async (sort) => {
    const { app, id } = await sweepWithRows();
    const problem = expectProblem(
      await app.inject({ method: 'GET', url: `/v1/sweeps/${id}?sort=${sort}` }),
      400,
    );
    expect(errorAt(problem, 'sort').message).toMatch(/tokensPerSec/);
  });

  it('GET /v1/sweeps/:id/rows.csv gives one line per point with the grid paths as columns', async () => {
    const { app, id } = await sweepWithRows();
    const response = await app.inject({ method: 'GET', url: `/v1/sweeps/${id}/rows.csv?sort=tokensPerSec` });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.body.split('\r\n')).toEqual([
      'jobId,status,planStatus,cluster.nodes,stepTimeSec,tokensPerSec,tflopsPerDevice,mfu,peakMemoryBytes,dp,tp,pp,gpus,trainingDays,costUsd,gpuHours',
      'c,succeeded,optimal,4,1,300,,,,,,,,,,',
      'a,succeeded,optimal,1,3,100,,,,,,,,,,',
      'b,failed,,2,,,,,,,,,,,,',
      '',
    ]);
  });

  it('names a bad grid or base field by its path', async () => {
    app = testApp().app;
    const payload = {
      base: { ...SMALL_REQUEST, training: { globalBatch: -1 } },
      grid: { 'cluster.nodes': [] },
    };
    const problem = expectProblem(await app.inject({ method: 'POST', url: '/v1/sweeps', payload }), 400);
    errorAt(problem, 'base.training.globalBatch');
    errorAt(problem, 'grid.cluster.nodes');
  });

  it('passes the queue’s InvalidInputError for a grid path on as a 400 at that path', async () => {
    const made = testApp();
    app = made.app;
    const payload = { base: SMALL_REQUEST, grid: { 'clutser.nodes': [1, 2] } };
    const problem = expectProblem(await app.inject({ method: 'POST', url: '/v1/sweeps', payload }), 400);
    expect(errorAt(problem, 'grid.clutser.nodes').message).toMatch(/no such field/);
  });

  it.each(['/v1/sweeps/nope', '/v1/sweeps/nope/rows.csv'])('GET %s is a 404 problem', async (url) => {
    app = testApp().app;
    expectProblem(await app.inject({ method: 'GET', url }), 404);
  });
});
