import { afterEach, describe, expect, it } from 'vitest';
import type { MeshplanApp } from '../../src/http/app.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { INVALID_INPUT_PROBLEM_TYPE } from '../../src/schema/index.ts';
import { errorAt, expectProblem, SMALL_REQUEST, testApp } from './fixtures.ts';

let app: MeshplanApp | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

describe('POST /v1/estimates', () => {
  it('answers inline with the plan estimate() gives, without the queue', async () => {
    const made = testApp();
    app = made.app;
    const response = await app.inject({ method: 'POST', url: '/v1/estimates', payload: SMALL_REQUEST });
    expect(response.statusCode).toBe(200);
    const expected = await estimate(SMALL_REQUEST);
    const body = response.json();
    // wallSec is measured, so it differs between the two runs; everything else is the same answer.
    expect({ ...body, solver: { ...body.solver, wallSec: 0 } }).toEqual({
      ...expected,
      solver: { ...expected.solver, wallSec: 0 },
    });
    expect(made.queue.calls).toEqual([]);
  });

  it('turns the planner’s InvalidInputError for an unknown GPU into a 400 at cluster.gpu', async () => {
    app = testApp().app;
    const payload = { ...SMALL_REQUEST, cluster: { ...SMALL_REQUEST.cluster, gpu: 'Z80' } };
    const problem = expectProblem(await app.inject({ method: 'POST', url: '/v1/estimates', payload }), 400);
    expect(problem.type).toBe(INVALID_INPUT_PROBLEM_TYPE);
    expect(errorAt(problem, 'cluster.gpu').message).toMatch(/unknown GPU "Z80"; known: .*A100-80GB/);
  });

  it('reports a configuration that does not fit the cluster at the fields concerned', async () => {
    app = testApp().app;
    const payload = { ...SMALL_REQUEST, parallel: { tp: 4, pp: 1, dp: 1 } };
    const problem = expectProblem(await app.inject({ method: 'POST', url: '/v1/estimates', payload }), 400);
    expect(errorAt(problem, 'parallel').message).toMatch(/cluster has 2 GPUs/);
  });

  it('names the split a pipeline of uneven chunks needs, and prices it when given', async () => {
    app = testApp().app;
    // 6 blocks over pp 2 × v 4: not 8 equal chunks; (6 + 2) / 8 = 1 with the embedding and loss counted.
    const pipelined = {
      ...SMALL_REQUEST,
      model: { ...SMALL_REQUEST.model, layers: 6 },
      cluster: { ...SMALL_REQUEST.cluster, gpusPerNode: 4 },
      parallel: { tp: 2, pp: 2, dp: 1, virtualStages: 4 },
    };
    const problem = expectProblem(
      await app.inject({ method: 'POST', url: '/v1/estimates', payload: pipelined }),
      400,
    );
    expect(errorAt(problem, 'parallel.pp').message).toMatch(
      /6 layers do not split evenly into pp·virtualStages = 8 chunks .*e\.g\. \[3, 3\]/,
    );
    const given = { ...pipelined, parallel: { ...pipelined.parallel, stageLayers: [3, 3] } };
    const response = await app.inject({ method: 'POST', url: '/v1/estimates', payload: given });
    expect(response.statusCode).toBe(200);
    expect(response.json().schedule).toMatchObject({ kind: 'interleaved', virtualStages: 4 });
  });

  it('explains a malformed inline GPU field by field instead of "Invalid input"', async () => {
    app = testApp().app;
    const payload = { ...SMALL_REQUEST, cluster: { ...SMALL_REQUEST.cluster, gpu: { name: 'mine' } } };
    const problem = expectProblem(await app.inject({ method: 'POST', url: '/v1/estimates', payload }), 400);
    errorAt(problem, 'cluster.gpu.memoryBytes');
    errorAt(problem, 'cluster.gpu.peakTflops');
  });
});
