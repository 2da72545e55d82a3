/**
 * `parallel.recomputeModules`: the request contract (a 400 naming the field when it cannot apply),
 * the summary carrying it, and which frameworks can be told it. Megatron-LM core_v0.19.0 takes the
 * list as --recompute-modules (megatron-export.test.ts reads its command line back); torchtitan,
 * DeepSpeed and JAX checkpoint layers or the attention core, never Megatron's module list.
 */
import { describe, expect, it } from 'vitest';
import { estimate } from '../../src/planner/estimate.ts';
import { plan } from '../../src/planner/plan.ts';
import type { PlanRequestInput } from '../../src/schema/index.ts';

const moeModel = {
  kind: 'transformer',
  layers: 4,
  hidden: 1024,
  heads: 16,
  vocab: 32000,
  seqLen: 2048,
  activation: 'swiglu',
  moe: { experts: 8, topK: 2, dropless: true },
} as const;
const cluster = { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 };

function request(parallel: object, model: PlanRequestInput['model'] = moeModel): PlanRequestInput {
  return {
    model,
    cluster,
    training: { globalBatch: 16 },
    parallel: { tp: 1, pp: 1, dp: 8, ep: 8, microBatch: 1, zero: 0, ...parallel },
  };
}

describe('parallel.recomputeModules', () => {
  it.each([
    ['without recompute "selective"', request({ recompute: 'full', recomputeModules: ['moe_act'] })],
    ['without recompute at all', request({ recomputeModules: ['layernorm'] })],
    [
      'naming a module the model lacks',
      request({ recompute: 'selective', recomputeModules: ['mla_up_proj'] }),
    ],
    [
      'naming shared experts the model lacks',
      request({ recompute: 'selective', recomputeModules: ['shared_experts'] }),
    ],
    ['listing a module twice', request({ recompute: 'selective', recomputeModules: ['moe_act', 'moe_act'] })],
    [
      'naming no module of the release',
      request({ recompute: 'selective', recomputeModules: ['gdn_norm_out'] }),
    ],
  ])('is refused %s, naming the field', async (_, bad) => {
    await expect(estimate(bad)).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: expect.stringMatching(/^parallel\.recomputeModules/) })],
    });
  });

  it('is carried by the summary, and only Megatron-LM can run it', async () => {
    const modules = ['layernorm', 'moe_act'] as const;
    const p = await estimate(request({ recompute: 'selective', recomputeModules: modules }));
    expect(p.summary!.recompute).toBe('selective');
    expect(p.summary!.recomputeModules).toEqual(modules);
    const e = p.exports!;
    expect(e.megatron.expressible).toBe(true);
    expect(e.megatron.args.join(' ')).toContain('--recompute-modules layernorm moe_act');
    for (const other of [e.torchtitan, e.deepspeed, e.jax]) {
      expect(other.expressible).toBe(false);
      expect(other.notes.join(' ')).toMatch(/recomputes Megatron-LM's modules layernorm, moe_act/);
    }
  });

  it("listing Megatron's default changes nothing: the attention core, expressible everywhere it was", async () => {
    const eager = { ...moeModel, attention: 'eager' } as const;
    const plain = await estimate(request({ recompute: 'selective' }, eager));
    const listed = await estimate(
      request({ recompute: 'selective', recomputeModules: ['core_attn'] }, eager),
    );
    expect(listed.summary!.stepTimeSec).toBe(plain.summary!.stepTimeSec);
    expect(listed.summary!.peakMemoryBytes).toBe(plain.summary!.peakMemoryBytes);
    for (const name of ['megatron', 'torchtitan', 'deepspeed', 'jax'] as const)
      expect(listed.exports![name].expressible, name).toBe(plain.exports![name].expressible);
  });

  it("recomputing the experts' activation trades memory for time", async () => {
    const none = (await estimate(request({ recompute: 'none' }))).summary!;
    const moeAct = (await estimate(request({ recompute: 'selective', recomputeModules: ['moe_act'] })))
      .summary!;
    expect(moeAct.peakMemoryBytes).toBeLessThan(none.peakMemoryBytes);
    expect(moeAct.stepTimeSec).toBeGreaterThan(none.stepTimeSec);
    // Hardware FLOPs count the re-run forward; model FLOPs do not.
    expect(moeAct.hardwareTflopsPerDevice * moeAct.stepTimeSec).toBeGreaterThan(
      none.hardwareTflopsPerDevice * none.stepTimeSec,
    );
  });

  it('is searched with when plan pins it: the plan recomputes those modules and says so', async () => {
    const modules = ['layernorm', 'moe_act'] as const;
    const pinned = { recompute: 'selective', recomputeModules: modules, ep: 8, zero: 0 } as const;
    const p = await plan({ model: moeModel, cluster, training: { globalBatch: 16 }, parallel: pinned });
    expect(p.summary!.recompute).toBe('selective');
    expect(p.summary!.recomputeModules).toEqual(modules);
    expect(p.exports!.megatron.args.join(' ')).toContain('--recompute-modules layernorm moe_act');
  });
});
