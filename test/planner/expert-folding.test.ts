import { describe, expect, it } from 'vitest';
import { estimate } from '../../src/planner/estimate.ts';
import { plan } from '../../src/planner/plan.ts';
import type { PlanRequestInput } from '../../src/schema/index.ts';
import { dgxA100, llamaModel } from '../frameworks/models.ts';

/** A Llama-style MoE, 16 experts of a 2,048-wide FFN, on 16 A100s: tp 2, pp 1, dp 8. */
const request = (parallel: object): PlanRequestInput => ({
  model: {
    ...(llamaModel(4, 1024, 32000) as Extract<PlanRequestInput['model'], { kind: 'transformer' }>),
    moe: { experts: 16, topK: 2, ffnHidden: 2048, dropless: true },
  },
  cluster: { ...dgxA100, nodes: 2 },
  training: { globalBatch: 32 },
  parallel: { tp: 2, pp: 1, dp: 8, microBatch: 1, sequenceParallel: true, zero: 0, ...parallel },
});

const expertBytesPerDevice = async (parallel: object) => {
  const plan = await estimate(request(parallel));
  return { plan, params: plan.stages[0]!.memory.parametersBytes };
};

describe('MoE parallel folding (expert TP 1 under tp > 1)', () => {
  it('reports ep over tp and dp ranks with etp 1, as asked', async () => {
    const plan = await estimate(request({ ep: 8, etp: 1 }));
    expect(plan.status).toBe('optimal');
    expect([plan.summary!.ep, plan.summary!.etp, plan.summary!.tp, plan.summary!.dp]).toEqual([8, 1, 2, 8]);
  });

  it('holds each expert whole on E / ep of them: the same expert bytes as ep 4 × etp 2 (16 / 4 halves)', async () => {
    const folded = await expertBytesPerDevice({ ep: 8, etp: 1 });
    const split = await expertBytesPerDevice({ ep: 4, etp: 2 });
    // 16 experts over 8 ranks whole (2 each) against 16 over 4 ranks halved (4 halves): the same
    // expert parameters per device; the dense ones are tp-split alike.
    expect(folded.params).toBeCloseTo(split.params, -3);
  });

  it('refuses an etp other than tp or 1, and an ep the tp ranks do not divide', async () => {
    await expect(estimate(request({ ep: 8, etp: 3 }))).rejects.toThrow(/parallel\.etp: .*tp .* or 1/);
    await expect(estimate(request({ tp: 4, dp: 4, ep: 2, etp: 1 }))).rejects.toThrow(
      /parallel\.ep: .*multiple of tp = 4/,
    );
    await expect(estimate(request({ ep: 32, etp: 1 }))).rejects.toThrow(
      /ep \/ tp = 16 does not divide dp·cp = 8/,
    );
  });
});

describe('plan honours a pinned expert TP', () => {
  const pinned = (etp: number): PlanRequestInput => {
    const r = request({ ep: 8, etp });
    return { ...r, parallel: { tp: 2, ep: 8, etp }, options: { target: 'megatron' } };
  };

  it('etp 1 folds the experts over the tp ranks (ep 8 = tp 2 × 4 carved from dp); etp = tp splits each', async () => {
    const folded = await plan(pinned(1));
    expect(folded.status).toBe('optimal');
    expect([folded.summary!.tp, folded.summary!.ep, folded.summary!.etp]).toEqual([2, 8, 1]);
    expect(folded.exports!.megatron.args).toEqual(
      expect.arrayContaining(['--expert-model-parallel-size', '8', '--expert-tensor-parallel-size', '1']),
    );
    const split = await plan(pinned(2));
    expect([split.summary!.tp, split.summary!.ep, split.summary!.etp]).toEqual([2, 8, 2]);
  });

  it('unpinned, searches both and keeps the faster: here the folded one', async () => {
    const free = await plan({ ...pinned(1), parallel: { tp: 2 } });
    const folded = await plan(pinned(1));
    const split = await plan(pinned(2));
    // Oracle: the two pinned plans; the search may not do worse than the better of them.
    expect(folded.summary!.stepTimeSec).toBeLessThan(split.summary!.stepTimeSec);
    expect(free.summary!.stepTimeSec).toBeLessThanOrEqual(folded.summary!.stepTimeSec + 1e-12);
    expect(free.summary!.etp).toBe(1);
  });

  it('refuses an expert TP that is neither tp nor 1, naming parallel.etp', async () => {
    await expect(plan({ ...pinned(2), parallel: { tp: 4, ep: 8, etp: 2 } })).rejects.toThrow(
      /parallel\.etp: expert tensor parallelism is tp \(4\) or 1/,
    );
    await expect(plan({ ...pinned(2), parallel: { ep: 8, etp: 2 } })).rejects.toThrow(
      /parallel\.etp: etp = 2 needs tp pinned/,
    );
  });
});
