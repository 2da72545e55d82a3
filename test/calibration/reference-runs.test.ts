import { describe, expect, it } from 'vitest';
import { loadReferenceRuns, SOURCE_FAMILIES } from '../../bench/reference-runs.ts';
import { estimate } from '../../src/planner/estimate.ts';

/*
 * Both public reference sets, each run as the estimate request bench/reference-runs.ts maps it to.
 * A run that ran must be expressible (priced with its own degrees) and must fit in memory
 * (DESIGN.md §10): gpt-oss-120b on B200 fits only with its recipe's recompute modules
 * (layernorm, moe_act), which the request now carries.
 */
describe('the published reference runs', async () => {
  const runs = await loadReferenceRuns();

  it('are all 31 runs of both sets, each with a source family and a positive measured step time', () => {
    expect(runs).toHaveLength(31);
    for (const run of runs) {
      expect(SOURCE_FAMILIES).toContain(run.family);
      expect(run.measuredStepSec).toBeGreaterThan(0);
    }
    expect(new Set(runs.map((r) => r.family)).size).toBe(SOURCE_FAMILIES.length);
  });

  it('are each priced with the degrees they ran, and each fits in memory', { timeout: 300_000 }, async () => {
    const notFitting: string[] = [];
    for (const run of runs) {
      const plan = await estimate(run.request);
      const s = plan.summary!;
      const p = run.request.parallel!;
      expect([s.tp, s.pp, s.dp, s.cp, s.ep], run.id).toEqual([p.tp, p.pp, p.dp, p.cp ?? 1, p.ep ?? 1]);
      expect(s.gpus, run.id).toBe(run.request.cluster.nodes * run.request.cluster.gpusPerNode);
      if (plan.status !== 'optimal') notFitting.push(run.id);
    }
    expect(notFitting).toEqual([]);
  });
});
