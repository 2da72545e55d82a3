/** Sweep expansion: dotted paths, the cartesian product, and errors that name the grid entry at fault. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { validatePlanRequest } from '../../src/queue/admission.ts';
import { SweepRequest } from '../../src/schema/index.ts';
import { expandSweep, MAX_SWEEP_POINTS } from '../../src/sweep/grid.ts';
import { sweepOf, sweepRow } from '../../src/sweep/rows.ts';
import { TINY } from '../queue/helpers.ts';
import { issuesOf } from '../support/input-issues.ts';

function expand(grid: Record<string, unknown[]>) {
  return expandSweep(SweepRequest.parse({ base: TINY, grid }), validatePlanRequest);
}

const gridIssues = (grid: Record<string, unknown[]>) => issuesOf(() => expand(grid));

describe('expandSweep', () => {
  it('is the cartesian product, the last path varying fastest', () => {
    const points = expand({ 'cluster.nodes': [1, 2], 'training.globalBatch': [16, 32, 64] });
    expect(points.map((p) => p.point)).toEqual([
      { 'cluster.nodes': 1, 'training.globalBatch': 16 },
      { 'cluster.nodes': 1, 'training.globalBatch': 32 },
      { 'cluster.nodes': 1, 'training.globalBatch': 64 },
      { 'cluster.nodes': 2, 'training.globalBatch': 16 },
      { 'cluster.nodes': 2, 'training.globalBatch': 32 },
      { 'cluster.nodes': 2, 'training.globalBatch': 64 },
    ]);
    for (const { point, request } of points) {
      expect(request.cluster.nodes).toBe(point['cluster.nodes']);
      expect(request.training.globalBatch).toBe(point['training.globalBatch']);
      // Everything else is the base's.
      expect(request.model).toEqual(TINY.model);
    }
  });

  it('creates the objects a path needs (parallel is absent from the base)', () => {
    const points = expand({ 'parallel.tp': [1, 2, 4] });
    expect(points.map((p) => p.request.parallel)).toEqual([{ tp: 1 }, { tp: 2 }, { tp: 4 }]);
  });

  it('applies defaults to each point, so a point equal to the base is the base', () => {
    const [point] = expand({ 'cluster.nodes': [TINY.cluster.nodes] });
    expect(point!.request).toEqual(TINY);
  });

  it('turns an empty grid into the base alone', () => {
    expect(expand({}).map((p) => p.request)).toEqual([TINY]);
  });

  it(`rejects more than ${MAX_SWEEP_POINTS} points, naming grid`, () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(expand({ 'cluster.nodes': hundred, 'training.globalBatch': hundred })).toHaveLength(10_000);
    const issues = gridIssues({ 'cluster.nodes': hundred, 'training.globalBatch': [...hundred, 101] });
    expect(issues).toEqual([{ path: 'grid', message: expect.stringMatching(/10100 points; at most 10000/) }]);
  });

  it('names the grid path of a bad value, with the value', () => {
    const issues = gridIssues({ 'training.globalBatch': [16, 32], 'cluster.nodes': [1, 0] });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('grid.cluster.nodes');
    expect(issues[0]!.message).toMatch(/\(value 0\)/);
  });

  it('names a path the request does not have, and one through a non-object', () => {
    expect(gridIssues({ 'cluster.nodez': [1] })[0]).toMatchObject({ path: 'grid.cluster.nodez' });
    expect(gridIssues({ 'cluster.gpu.name': ['x'] })[0]).toMatchObject({
      path: 'grid.cluster.gpu.name',
      message: expect.stringMatching(/cluster.gpu is not an object/),
    });
  });

  it('checks what the planner checks up front: an unknown GPU is a bad point', () => {
    expect(gridIssues({ 'cluster.gpu': ['A100-80GB', 'H900'] })[0]).toMatchObject({
      path: 'grid.cluster.gpu',
    });
  });

  it('refuses paths into prototypes and empty segments', () => {
    expect(gridIssues({ '__proto__.polluted': [1] })[0]!.path).toBe('grid.__proto__.polluted');
    expect(gridIssues({ 'cluster..nodes': [1] })[0]!.path).toBe('grid.cluster..nodes');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('examples/llama3-70b-frontier.sweep.json', () => {
  it('is 7 cluster sizes (64 to 4,096 H100) × 3 global batches, every point priced and counted', async () => {
    const file = new URL('../../examples/llama3-70b-frontier.sweep.json', import.meta.url);
    const sweep = SweepRequest.parse(JSON.parse(await readFile(file, 'utf8')));
    const points = expandSweep(sweep, validatePlanRequest);
    expect(points).toHaveLength(21);
    const gpus = points.map((p) => p.request.cluster.nodes * p.request.cluster.gpusPerNode);
    expect([Math.min(...gpus), Math.max(...gpus)]).toEqual([64, 4096]);
    for (const { request } of points) {
      expect(request.training.tokens).toBe(15e12);
      expect(request.cluster.pricePerGpuHour).toBeGreaterThan(0);
    }
  });
});

describe('sweep rows', () => {
  it('carry the GPUs, days, dollars and GPU-hours of a summary that has them', () => {
    const summary = { gpus: 64, trainingDays: 12, costUsd: 3e6, gpuHours: 18_432 };
    const row = sweepRow(
      'a',
      {},
      { status: 'succeeded', plan: { status: 'optimal', summary: summary as never } },
    );
    expect(row).toMatchObject(summary);
  });

  it('fill plan columns for succeeded points only and count every status', () => {
    const summary = { dp: 8, tp: 1, pp: 1, stepTimeSec: 2, tokensPerSec: 3, tflopsPerDevice: 4, mfu: 0.5 };
    const plan = { status: 'optimal' as const, summary: { ...summary, peakMemoryBytes: 5 } as never };
    const rows = [
      sweepRow('a', { x: 1 }, { status: 'succeeded', plan }),
      sweepRow('b', { x: 2 }, { status: 'running', plan: null }),
      sweepRow('c', { x: 3 }, { status: 'succeeded', plan: { status: 'infeasible', summary: null } }),
    ];
    expect(rows[0]).toMatchObject({
      planStatus: 'optimal',
      stepTimeSec: 2,
      mfu: 0.5,
      peakMemoryBytes: 5,
      dp: 8,
    });
    expect(rows[1]).toMatchObject({ planStatus: null, stepTimeSec: null, dp: null, gpus: null });
    expect(rows[2]).toMatchObject({ planStatus: 'infeasible', stepTimeSec: null });
    // Cost columns are null, not missing, when the request gave no tokens or price.
    expect(rows[0]).toMatchObject({ gpus: null, trainingDays: null, costUsd: null, gpuHours: null });
    expect(sweepOf('s', rows)).toMatchObject({
      id: 's',
      points: 3,
      counts: { queued: 0, running: 1, succeeded: 2, failed: 0, cancelled: 0 },
    });
  });
});
