import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { MeshplanApp } from '../../src/http/app.ts';
import type { SweepRow } from '../../src/schema/index.ts';
import { appWithSweep, errorAt, expectProblem } from './fixtures.ts';
import { emptyRow } from './memory-queue.ts';

let app: MeshplanApp | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

function row(jobId: string, gpus: number, trainingDays: number | null, costUsd: number | null): SweepRow {
  return {
    ...emptyRow(jobId, { 'cluster.nodes': gpus / 8 }),
    status: trainingDays === null ? 'failed' : 'succeeded',
    planStatus: trainingDays === null ? null : 'optimal',
    gpus: trainingDays === null ? null : gpus,
    trainingDays,
    costUsd,
    mfu: trainingDays === null ? null : 0.4,
  };
}

async function sweepWithRows() {
  const made = await appWithSweep(
    [8, 16, 32, 64, 128],
    [
      row('g64', 64, 40, 1.0e6),
      row('g128', 128, 21, 1.1e6),
      // More GPUs and slower than g128: dominated.
      row('g256', 256, 25, 2.4e6),
      row('g512', 512, 6, 1.5e6),
      row('failed', 1024, null, null),
    ],
  );
  app = made.app;
  return made;
}

const get = (url: string) => app!.inject({ method: 'GET', url });

describe('GET /v1/sweeps/:id/frontier', () => {
  it('answers the non-dominated rows sorted by x, with the axes and how many rows were compared', async () => {
    const { id } = await sweepWithRows();
    const response = await get(`/v1/sweeps/${id}/frontier?x=gpus&y=trainingDays`);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.rows.map((r: SweepRow) => r.jobId)).toEqual(['g64', 'g128', 'g512']);
    expect(body.axes).toEqual([
      { field: 'gpus', direction: 'min' },
      { field: 'trainingDays', direction: 'min' },
    ]);
    expect(body).toMatchObject({ id, points: 5, compared: 4 });
  });

  it('takes a third axis and maximised fields', async () => {
    const { id } = await sweepWithRows();
    const cost = await get(`/v1/sweeps/${id}/frontier?x=costUsd&y=trainingDays`);
    expect(cost.json().rows.map((r: SweepRow) => r.jobId)).toEqual(['g64', 'g128', 'g512']);
    // Every finished row ties on mfu: the third axis changes nothing here.
    const three = await get(`/v1/sweeps/${id}/frontier?x=trainingDays&y=gpus&z=mfu`);
    expect(three.json().rows.map((r: SweepRow) => r.jobId)).toEqual(['g512', 'g128', 'g64']);
  });

  it.each([
    ['x', 'x=speed&y=gpus', /speed.*gpus \(min\).*tokensPerSec \(max\)/],
    // A row field without a direction for a frontier.
    ['y', 'x=gpus&y=dp', /"dp" is not a row field with a direction/],
    ['y', 'x=gpus', /expected a row field with a direction/],
    ['z', 'x=gpus&y=mfu&z=gpus', /gpus is already an axis/],
  ])('400 naming `%s` for ?%s', async (parameter, query, message) => {
    const { id } = await sweepWithRows();
    const problem = expectProblem(await get(`/v1/sweeps/${id}/frontier?${query}`), 400);
    expect(errorAt(problem, parameter).message).toMatch(message);
  });

  it('an unknown parameter is a 400 too, and an unknown sweep a 404', async () => {
    const { id } = await sweepWithRows();
    expectProblem(await get(`/v1/sweeps/${id}/frontier?x=gpus&y=mfu&w=costUsd`), 400);
    expectProblem(await get('/v1/sweeps/nope/frontier?x=gpus&y=mfu'), 404);
  });

  it('is documented in openapi/openapi.json: tag, query parameters, answer and problems', async () => {
    const doc = JSON.parse(await readFile(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'));
    const route = doc.paths['/v1/sweeps/{id}/frontier'].get;
    expect(route.tags).toEqual(['sweeps']);
    expect(route.parameters.filter((p: { in: string }) => p.in === 'query')).toMatchObject([
      { name: 'x', required: true, schema: { enum: expect.arrayContaining(['gpus', 'mfu']) } },
      { name: 'y', required: true },
      { name: 'z', required: false },
    ]);
    expect(route.responses['200'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/SweepFrontier',
    );
    expect(Object.keys(route.responses).sort()).toEqual(['200', '400', '401', '403', '404', '429']);
  });
});
