import { afterEach, describe, expect, it } from 'vitest';
import type { MeshplanApp } from '../../src/http/app.ts';
import { estimate } from '../../src/planner/estimate.ts';
import type { PlanRequest } from '../../src/schema/index.ts';
import { measuredUnder, SMALL_RUNS } from '../calibration/helpers.ts';
import { errorAt, expectProblem, testApp } from './fixtures.ts';

let app: MeshplanApp | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

/** An app pricing on this thread: the fit's estimates then need no worker start-up. */
function appPricingHere() {
  return testApp({ estimator: (request) => estimate(request) });
}

describe('/v1/calibrations', () => {
  it('fits and stores a profile that estimates and plans then name by id', { timeout: 300_000 }, async () => {
    const made = appPricingHere();
    app = made.app;
    const truth = { matmul: 0.5, attention: 0.6, memory: 0.8, tpOverlap: 0.5, network: 0.96 };
    const payload = await measuredUnder(truth, SMALL_RUNS.slice(0, 4));
    const created = await app.inject({ method: 'POST', url: '/v1/calibrations', payload });
    expect(created.statusCode).toBe(201);
    const { id, profile } = created.json();
    expect(created.headers.location).toBe(`/v1/calibrations/${id}`);
    expect(profile.fittedOn).toBe(4);
    expect(Math.abs(profile.factors.matmul - truth.matmul)).toBeLessThan(0.02);

    const stored = await app.inject({ method: 'GET', url: `/v1/calibrations/${id}` });
    expect(stored.statusCode).toBe(200);
    expect(stored.json()).toEqual(profile);

    const request = SMALL_RUNS[1]!;
    const byId = await app.inject({
      method: 'POST',
      url: '/v1/estimates',
      payload: { ...request, cluster: { ...request.cluster, profile: id } },
    });
    expect(byId.statusCode).toBe(200);
    const inline = await estimate({ ...request, cluster: { ...request.cluster, profile } });
    expect(byId.json().summary.stepTimeSec).toBe(inline.summary!.stepTimeSec);

    // A plan job carries the profile itself, so a worker anywhere prices with it.
    const queued: PlanRequest[] = [];
    const submit = made.queue.submit.bind(made.queue);
    made.queue.submit = (r, owner) => {
      queued.push(r);
      return submit(r, owner);
    };
    const submitted = await app.inject({
      method: 'POST',
      url: '/v1/plans',
      payload: { ...request, cluster: { ...request.cluster, profile: id } },
    });
    expect(submitted.statusCode).toBe(202);
    expect(queued.map((r) => r.cluster.profile)).toEqual([profile]);
  });

  it('names cluster.profile when no stored profile has the id, and 404s an unknown calibration', async () => {
    app = appPricingHere().app;
    const request = SMALL_RUNS[0]!;
    const payload = { ...request, cluster: { ...request.cluster, profile: 'cal-nope' } };
    const problem = expectProblem(await app.inject({ method: 'POST', url: '/v1/estimates', payload }), 400);
    expect(errorAt(problem, 'cluster.profile').message).toMatch(/cal-nope/);
    expectProblem(await app.inject({ method: 'GET', url: '/v1/calibrations/cal-nope' }), 404);
    const sweep = { base: payload, grid: { 'training.globalBatch': [8, 16] } };
    const refused = expectProblem(
      await app.inject({ method: 'POST', url: '/v1/sweeps', payload: sweep }),
      400,
    );
    errorAt(refused, 'base.cluster.profile');
  });

  it('answers bad measurements with a 400 naming the field', async () => {
    app = appPricingHere().app;
    const payload = { runs: [{ request: SMALL_RUNS[0], measured: { stepTimeSec: 0 } }] };
    const problem = expectProblem(
      await app.inject({ method: 'POST', url: '/v1/calibrations', payload }),
      400,
    );
    errorAt(problem, 'runs[0].measured.stepTimeSec');
    const empty = expectProblem(
      await app.inject({ method: 'POST', url: '/v1/calibrations', payload: { runs: [] } }),
      400,
    );
    errorAt(empty, 'runs');
    // A microsecond for a step of 32 sequences of 1,024 tokens: faster than the GPUs' peak allows.
    const tooFast = { runs: [{ request: SMALL_RUNS[0], measured: { stepTimeSec: 1e-6 } }] };
    const impossible = expectProblem(
      await app.inject({ method: 'POST', url: '/v1/calibrations', payload: tooFast }),
      400,
    );
    errorAt(impossible, 'runs[0].measured.stepTimeSec');
  });
});
