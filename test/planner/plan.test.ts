import { describe, expect, it } from 'vitest';
import { estimate } from '../../src/planner/estimate.ts';
import { plan } from '../../src/planner/plan.ts';
import { InvalidInputError } from '../../src/schema/errors.ts';
import { breakdownParts } from './breakdown-parts.ts';

const model = {
  kind: 'transformer',
  layers: 8,
  hidden: 2048,
  heads: 16,
  vocab: 32000,
  seqLen: 1024,
} as const;
const cluster = { gpu: 'A100-80GB', nodes: 2, gpusPerNode: 8 } as const;
const training = { globalBatch: 64 } as const;

describe('plan', () => {
  it('is never worse than a Megatron configuration priced by estimate', async () => {
    const planned = await plan({ model, cluster, training });
    expect(planned.status).toBe('optimal');
    for (const parallel of [
      { tp: 8, pp: 1, dp: 2, microBatch: 1 },
      { tp: 4, pp: 2, dp: 2, microBatch: 2, sequenceParallel: true },
      { tp: 1, pp: 1, dp: 16, microBatch: 4 },
    ]) {
      const fixed = await estimate({ model, cluster, training, parallel });
      expect(planned.summary!.stepTimeSec).toBeLessThanOrEqual(fixed.summary!.stepTimeSec * (1 + 1e-9));
    }
    const s = planned.summary!;
    expect(s.dp * s.tp * s.pp).toBe(16);
    expect(planned.stages).toHaveLength(s.pp);
    // The breakdown is a decomposition of the step time.
    const b = planned.breakdown!;
    expect(breakdownParts(b)).toBeCloseTo(b.totalSec, 9);
    expect(b.totalSec).toBeCloseTo(s.stepTimeSec, 12);
  });

  it('memoises identical layers: 24 blocks cost the ILP what 2 blocks cost', async () => {
    const small = await plan({ model: { ...model, layers: 2 }, cluster: { ...cluster, nodes: 1 }, training });
    const large = await plan({
      model: { ...model, layers: 24 },
      cluster: { ...cluster, nodes: 1 },
      training,
    });
    expect(large.solver.ilpSolves).toBe(small.solver.ilpSolves);
  });

  it('answers a model that cannot fit with status infeasible and the shortfall', async () => {
    const huge = { ...model, layers: 64, hidden: 16384, heads: 128 };
    const result = await plan({
      model: huge,
      cluster: { gpu: 'A100-40GB', nodes: 1, gpusPerNode: 2 },
      training,
    });
    expect(result.status).toBe('infeasible');
    expect(result.shortfallBytes).toBeGreaterThan(0);
    expect(result.reason).toMatch(/GiB more per device/);
    expect(result.summary).toBeNull();
  });

  it("says in a framework target's own words why it found nothing", async () => {
    const llama = { ...model, kvHeads: 4, ffnHidden: 5632, activation: 'swiglu' } as const;
    const options = { target: 'torchtitan' } as const;
    // ZeRO-3 pinned with a pipeline: torchtitan's rules refuse every configuration for that reason.
    const pinned = await plan({ model: llama, cluster, training, parallel: { pp: 2, zero: 3 }, options });
    expect(pinned.status).toBe('infeasible');
    expect(pinned.shortfallBytes).toBeUndefined();
    expect(pinned.reason).toMatch(
      /^torchtitan v0\.2\.2 runs none of the configurations .*: under pipeline parallelism FSDP2 runs as ZeRO-1, not 3.* \((\d+ of the \d+ configurations|every configuration) tried/,
    );
    // A model none of its models builds: the reason its rules give for the model itself.
    const windowed = { ...llama, slidingWindow: { size: 128, fullAttentionEvery: 2 } };
    const unbuilt = await plan({ model: windowed, cluster, training, options });
    expect(unbuilt.status).toBe('infeasible');
    expect(unbuilt.reason).toMatch(/^torchtitan v0\.2\.2 cannot build this model: .*sliding window/);
    // Target any keeps the search's own reason.
    const anyTarget = await plan({ model, cluster, training: { globalBatch: 63 }, parallel: { dp: 2 } });
    expect(anyTarget.reason).toMatch(/^no configuration satisfies the pinned degrees/);
  });

  it('names the field of a bad request', async () => {
    await expect(plan({ model, cluster: { ...cluster, gpu: 'TPUv4' }, training })).rejects.toMatchObject({
      issues: [{ path: 'cluster.gpu', message: expect.stringMatching(/unknown GPU/) }],
    });
    await expect(plan({ model: { ...model, heads: 3 }, cluster, training })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
  });
});

describe('estimate', () => {
  it('rejects degrees that do not multiply to the cluster, naming the field', async () => {
    await expect(
      estimate({ model, cluster, training, parallel: { tp: 8, pp: 2, dp: 2, microBatch: 1 } }),
    ).rejects.toMatchObject({
      issues: [{ path: 'parallel', message: expect.stringMatching(/tp·cp·pp·dp = 32/) }],
    });
  });
});

describe('plan of an operator graph', () => {
  it('clusters the graph into layers and plans it like a model', async () => {
    const { default: block } = await import('../../examples/gpt-block.graph.json', {
      with: { type: 'json' },
    });
    const result = await plan({
      model: { kind: 'graph', graph: block },
      cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 },
      training: { globalBatch: 64, microBatch: 8 },
    });
    expect(result.status).toBe('optimal');
    const s = result.summary!;
    expect(s.microBatch).toBe(8);
    const planned = result.stages.flatMap((st) => st.layerPlans.flatMap((lp) => lp.ops.map((o) => o.op)));
    expect(planned.sort()).toEqual(block.ops.map((o) => o.name).sort());
  });

  it('cuts the clustered layers into exactly the pinned number of contiguous stages', async () => {
    const { default: block } = await import('../../examples/gpt-block.graph.json', {
      with: { type: 'json' },
    });
    const result = await plan({
      model: { kind: 'graph', graph: block },
      cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 },
      training: { globalBatch: 64, microBatch: 8 },
      parallel: { pp: 2 },
    });
    expect(result.status).toBe('optimal');
    expect(result.summary!.pp).toBe(2);
    expect(result.stages).toHaveLength(2);
    const [first, second] = result.stages;
    expect(first!.layers[0]).toBe(0);
    expect(second!.layers[0]).toBe(first!.layers[1] + 1);
    const planned = result.stages.flatMap((st) => st.layerPlans.flatMap((lp) => lp.ops.map((o) => o.op)));
    expect(planned.sort()).toEqual(block.ops.map((o) => o.name).sort());
  });
});

describe('a pinned pipeline depth inside one node', () => {
  // Before, pp only capped the stage DP, which preferred fewer stages, and the answer was dropped.
  it.each([2, 4])('plans pp = %i on 8 GPUs with dp 1 (stages of 8 / pp devices)', async (pp) => {
    const result = await plan({
      model: { ...model, layers: 4 },
      cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 },
      training: { globalBatch: 16 },
      parallel: { pp, dp: 1 },
    });
    expect(result.status).toBe('optimal');
    expect(result.summary).toMatchObject({ pp, dp: 1, tp: 8 / pp });
    expect(result.stages).toHaveLength(pp);
  });
});

describe('interleaving', () => {
  it('is refused by estimate when the microbatches are not a multiple of pp (Megatron cannot order them)', async () => {
    await expect(
      estimate({
        model,
        cluster,
        training: { globalBatch: 6 },
        parallel: { tp: 4, pp: 2, dp: 2, microBatch: 1, virtualStages: 2 },
      }),
    ).rejects.toMatchObject({ issues: [{ path: 'parallel.virtualStages' }] });
  });

  it('is chosen by plan only when the stages divide the microbatch count', async () => {
    // Two stages and a handful of microbatches: the bubble is large, so interleaving pays when allowed.
    const pinned = { dp: 1, pp: 2, microBatch: 1 };
    const even = await plan({
      model: { ...model, layers: 16 },
      cluster,
      training: { globalBatch: 4 },
      parallel: pinned,
    });
    const odd = await plan({
      model: { ...model, layers: 16 },
      cluster,
      training: { globalBatch: 3 },
      parallel: pinned,
    });
    expect(even.summary!.virtualStages).toBeGreaterThan(1);
    expect(odd.summary!.virtualStages).toBe(1);
    expect(odd.summary!.schedule).toBe('1f1b');
  });
});
