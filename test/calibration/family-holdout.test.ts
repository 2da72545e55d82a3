import { describe, expect, it } from 'vitest';
import { loadReferenceRuns } from '../../bench/reference-runs.ts';
import { findGpu } from '../../src/cluster/catalog.ts';
import { calibrateProfile } from '../../src/planner/calibration/user-profile.ts';
import { estimate } from '../../src/planner/estimate.ts';
import type { GpuSpec, PlanRequestInput } from '../../src/schema/index.ts';

/*
 * "The user's cluster" is SC'21's: ten published A100 runs with their measured step times. The user
 * calibrates on five of them and the profile must predict the other five within 5 %. The catalog's
 * A100 factors were themselves fitted on these runs, so the user's GPU starts from factors that know
 * nothing of them (an A100 described by hand with 0.5 everywhere): only the five measurements teach.
 */
const CALIBRATE_ON = [
  'megatron-sc21-table1-1.7B',
  'megatron-sc21-table1-7.5B',
  'megatron-sc21-table1-39B',
  'megatron-sc21-table1-145B',
  'megatron-sc21-table1-530B',
];

function userGpu(): GpuSpec {
  const a100 = findGpu('A100-80GB')!.spec;
  return {
    ...a100,
    name: 'A100-80GB-ours',
    efficiency: { matmul: 0.5, attention: 0.6, memory: 0.5, tpOverlap: 0.5, network: 0.96 },
  };
}

function onUserGpu(request: PlanRequestInput): PlanRequestInput {
  // DGX A100's network, as the catalog's A100 would default to.
  return { ...request, cluster: { ...request.cluster, gpu: userGpu(), interNodeGBps: 25 } };
}

describe("a calibration from five measured runs of one cluster (SC'21's A100 runs)", () => {
  it('predicts the other runs of that cluster within 5 % on average, none off by more than 10 %', {
    timeout: 900_000,
  }, async () => {
    const family = (await loadReferenceRuns()).filter((r) => r.family === 'sc21');
    expect(family).toHaveLength(10);
    const measured = {
      runs: family
        .filter((r) => CALIBRATE_ON.includes(r.id))
        .map((r) => ({
          name: r.id,
          request: onUserGpu(r.request),
          measured: { stepTimeSec: r.measuredStepSec },
        })),
    };
    const profile = await calibrateProfile(measured);
    expect(profile.fittedOn).toBe(5);
    const errors: number[] = [];
    for (const run of family.filter((r) => !CALIBRATE_ON.includes(r.id))) {
      const request = onUserGpu(run.request);
      const plan = await estimate({ ...request, cluster: { ...request.cluster, profile } });
      const errorPct = ((plan.summary!.stepTimeSec - run.measuredStepSec) / run.measuredStepSec) * 100;
      // SC'21's 18B run is 9% off even in-sample (bench/results/fidelity.md): the bound per run is wider.
      expect(Math.abs(errorPct), run.id).toBeLessThanOrEqual(10);
      errors.push(Math.abs(errorPct));
    }
    // The issue's target: the held-out runs' error (their mean absolute error) within 5 %.
    expect(errors.reduce((a, b) => a + b, 0) / errors.length).toBeLessThanOrEqual(5);
  });
});
