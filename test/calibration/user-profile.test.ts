import { describe, expect, it } from 'vitest';
import { catalogEfficiency, withFactors } from '../../src/planner/calibration/fit.ts';
import { calibrateProfile } from '../../src/planner/calibration/user-profile.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { type CalibrationProfile, InvalidInputError } from '../../src/schema/index.ts';
import { measuredUnder, SMALL_RUNS, smallRun } from './helpers.ts';

/** The issue paths of the InvalidInputError `run` throws. */
async function issuePaths(run: () => Promise<unknown>): Promise<string[]> {
  try {
    await run();
  } catch (error) {
    if (error instanceof InvalidInputError) return error.issues.map((i) => i.path);
    throw error;
  }
  throw new Error('expected an InvalidInputError');
}

describe('a user calibration against a synthetic oracle', () => {
  // Step times generated with factors far from the catalog's: the fit must find them again.
  // tpOverlap and network describe the runtime and the network: not fitted, so the truth keeps the catalog's.
  const truth = { matmul: 0.55, attention: 0.6, memory: 0.6, tpOverlap: 0.5, network: 0.96 };

  it('recovers the matmul efficiency and reproduces every measured time', { timeout: 300_000 }, async () => {
    expect(catalogEfficiency(SMALL_RUNS[0]!).matmul).not.toBeCloseTo(truth.matmul, 1);
    const profile = await calibrateProfile(await measuredUnder(truth, SMALL_RUNS), {
      now: new Date('2026-01-01T00:00:00Z'),
    });
    expect(profile.kind).toBe('meshplan-profile');
    expect(profile.gpu).toBe('A100-80GB');
    expect(profile.fittedOn).toBe(SMALL_RUNS.length);
    expect(profile.createdAt).toBe('2026-01-01T00:00:00.000Z');
    expect(Math.abs(profile.factors.matmul! - truth.matmul)).toBeLessThan(0.02);
    // Memory-bound kernels are a small share of these steps: their factor is pinned less tightly.
    expect(Math.abs(profile.factors.memory! - truth.memory)).toBeLessThan(0.05);
    for (const r of profile.residuals) expect(Math.abs(r.errorPct), r.run).toBeLessThan(1);
  });

  it('turns bad measurements into errors naming the field', async () => {
    const good = await measuredUnder(truth, SMALL_RUNS.slice(0, 2));
    const negative = structuredClone(good);
    negative.runs[1]!.measured.stepTimeSec = -1;
    expect(await issuePaths(() => calibrateProfile(negative))).toEqual(['runs[1].measured.stepTimeSec']);
    const missing = structuredClone(good) as { runs: { measured: Record<string, unknown> }[] };
    delete missing.runs[0]!.measured.stepTimeSec;
    expect(await issuePaths(() => calibrateProfile(missing))).toEqual(['runs[0].measured.stepTimeSec']);
    const degrees = structuredClone(good);
    degrees.runs[1]!.request = smallRun(2, 3, 1);
    expect(await issuePaths(() => calibrateProfile(degrees))).toContain('runs[1].request.parallel');
    expect(await issuePaths(() => calibrateProfile({ runs: [] }))).toEqual(['runs']);
    const mixed = structuredClone(good);
    mixed.runs[1]!.request = {
      ...smallRun(2, 4, 1),
      cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 },
    };
    expect(await issuePaths(() => calibrateProfile(mixed))).toEqual(['runs[1].request.cluster.gpu']);
  });
});

describe('cluster.profile', () => {
  const profile: CalibrationProfile = {
    kind: 'meshplan-profile',
    gpu: 'A100-80GB',
    factors: { matmul: 0.5 },
    fittedOn: 1,
    residuals: [],
    createdAt: '2026-01-01T00:00:00.000Z',
  };

  it("replaces the catalog's factors for the GPU it was made for", async () => {
    const request = smallRun(2, 4, 1);
    const withProfile = await estimate({ ...request, cluster: { ...request.cluster, profile } });
    const efficiency = { ...catalogEfficiency(request), matmul: 0.5 };
    const direct = await estimate(withFactors(request, efficiency));
    const catalog = await estimate(request);
    expect(withProfile.summary!.stepTimeSec).toBe(direct.summary!.stepTimeSec);
    // Compute-bound at 0.5 of peak instead of the catalog's ~0.7: clearly slower.
    expect(withProfile.summary!.stepTimeSec).toBeGreaterThan(catalog.summary!.stepTimeSec * 1.2);
  });

  it('refuses a profile made for another GPU, and a reference nobody resolved', async () => {
    const request = smallRun(2, 4, 1);
    const h100 = { ...request, cluster: { ...request.cluster, gpu: 'H100-80GB', profile } };
    expect(await issuePaths(() => estimate(h100))).toEqual(['cluster.profile.gpu']);
    const named = { ...request, cluster: { ...request.cluster, profile: 'mine.json' } };
    expect(await issuePaths(() => estimate(named))).toEqual(['cluster.profile']);
  });
});
