/**
 * gpt-oss's MLP and attention as Megatron-LM core_v0.19.0 builds and runs them: the quick GeGLU
 * (--quick-geglu), its clamp (--activation-func-clamp-value) and offset (--glu-linear-offset), and
 * attention sinks (--softmax-type learnable). Oracles: the release's argument table and rules and
 * the model its arguments build (megatron-check.ts); the clamp's kernels against the bytes
 * Megatron-Core's eager clamp and concatenation move (fused_bias_geglu.py); the other frameworks'
 * own refusals.
 */
import { describe, expect, it } from 'vitest';
import { findGpu } from '../../src/cluster/catalog.ts';
import { FRAMEWORKS } from '../../src/frameworks/index.ts';
import { resolveDims } from '../../src/model/dims.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { type Plan, PlanRequest, TransformerSpec } from '../../src/schema/index.ts';
import { checkExport, estimated, requestOf } from './megatron-check.ts';

/** gpt-oss in small: every block MoE, biases, quick GeGLU clamped at 7 with offset 1, sinks. */
const smallGptOss = {
  kind: 'transformer',
  layers: 4,
  hidden: 1024,
  heads: 16,
  kvHeads: 4,
  headDim: 64,
  vocab: 32000,
  seqLen: 2048,
  activation: 'quick-geglu',
  activationClamp: 7,
  gluLinearOffset: 1,
  attentionSinks: true,
  bias: true,
  moe: { experts: 8, topK: 2, ffnHidden: 1024, dropless: true },
} as const;

const parallel = { tp: 1, pp: 1, dp: 16, ep: 4 } as const;

describe("gpt-oss's traits in a Megatron-LM export", () => {
  it('set the flags that build the priced model, and pass the release’s rules', async () => {
    const request = requestOf(smallGptOss, parallel);
    const { ns } = checkExport(await estimated(request), request);
    expect(ns.values.get('quick_geglu')).toBe(true);
    expect(ns.values.get('activation_func_clamp_value')).toBe('7');
    expect(ns.values.get('glu_linear_offset')).toBe('1');
    expect(ns.values.get('softmax_type')).toBe('learnable');
  });

  it('turn the bias-GELU fusion off where the plan prices the quick GeGLU unfused', async () => {
    const request = requestOf({ ...smallGptOss, activationFusion: false }, parallel);
    const { ns } = checkExport(await estimated(request), request);
    expect(ns.values.get('bias_gelu_fusion')).toBe(false);
  });

  const refusal = async (model: Parameters<typeof requestOf>[0], layout: object = parallel) => {
    const request = requestOf(model, layout);
    const m = (await estimate({ ...request, options: { ...request.options, target: 'any' } })).exports!
      .megatron;
    expect(m.expressible).toBe(false);
    return m.notes.join(' ');
  };

  it('refuse what Megatron-Core would run otherwise than priced', async () => {
    // No biases: --disable-bias-linear turns the bias-GELU fusion, and the quick GeGLU's, off.
    expect(await refusal({ ...smallGptOss, bias: false })).toMatch(/activationFusion false/);
    // A dense MLP's fused path has no quick GeGLU (mlp.py raises).
    expect(await refusal({ ...smallGptOss, moe: undefined }, { tp: 1, pp: 1, dp: 16 })).toMatch(
      /Only support fusion of gelu and swiglu/,
    );
    // The fused SwiGLU clamps nothing.
    expect(await refusal({ ...smallGptOss, activation: 'swiglu', gluLinearOffset: 0 })).toMatch(
      /fused swiglu applies no clamp/,
    );
    // Sinks are not in FlashAttention-2's kernels.
    expect(await refusal({ ...smallGptOss, attention: 'flash2' })).toMatch(/FlashAttention-2.*sink/);
  });
});

describe('the fused quick GeGLU in a hybrid model', () => {
  const hybrid = (pattern: string) =>
    resolveDims(
      TransformerSpec.parse({
        ...smallGptOss,
        ...(pattern.includes('E') ? {} : { moe: undefined }),
        hybridPattern: pattern,
        mamba: { heads: 32, headDim: 64, stateDim: 128, groups: 8 },
      }),
      { microBatch: 1, precision: 'bf16' },
    );

  it('is built where only the experts run it, or no layer has an MLP, and refused with a dense "-" layer', () => {
    expect(FRAMEWORKS.megatron.builds(hybrid('M*ME'))).toEqual({ ok: true });
    expect(FRAMEWORKS.megatron.builds(hybrid('M*M*'))).toEqual({ ok: true });
    const verdict = FRAMEWORKS.megatron.builds(hybrid('M*E-'));
    expect(verdict.ok ? '' : verdict.reason).toMatch(/Only support fusion of gelu and swiglu/);
  });
});

describe('the other frameworks', () => {
  for (const target of ['torchtitan', 'deepspeed'] as const) {
    it(`${target} refuses them, naming each`, async () => {
      const request = requestOf(smallGptOss, parallel);
      const plan = await estimate({ ...request, options: { ...request.options, target: 'any' } });
      const exported = plan.exports![target];
      expect(exported.expressible).toBe(false);
      const notes = exported.notes.join(' ');
      // torchtitan's model choice refuses the quick GeGLU before its rules list the rest.
      const named =
        target === 'torchtitan'
          ? ['activation']
          : ['activation', 'activationClamp', 'gluLinearOffset', 'attentionSinks'];
      for (const field of named) expect(notes).toContain(`model.${field}`);
    });
  }

  it('JAX, whose export lays out the user’s own parameters, gives each block’s sinks a PartitionSpec', async () => {
    const request = requestOf(smallGptOss, parallel);
    const plan = await estimate({ ...request, options: { ...request.options, target: 'any' } });
    const jax = plan.exports!.jax;
    expect(jax.expressible).toBe(true);
    const text = JSON.stringify(jax);
    for (let block = 0; block < smallGptOss.layers; block += 1)
      expect(text).toContain(`"block${block}.sinks"`);
  });
});

/** One MoE block's ops, by local name, from a plan of `model` on one device with ep 1. */
async function blockOps(
  model: object,
): Promise<Map<string, Plan['stages'][number]['layerPlans'][number]['ops'][number]>> {
  const plan = await estimate(
    PlanRequest.parse({
      model,
      cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 },
      training: { globalBatch: 8, precision: 'bf16', optimizer: 'adam' },
      parallel: { tp: 1, pp: 1, dp: 8, microBatch: 1 },
    }),
  );
  const block = plan.stages[0]!.layerPlans.find((l) => l.layer.startsWith('block'))!;
  return new Map(block.ops.map((op) => [op.op.replace(/^block\d+\./, ''), op]));
}

describe("the clamp's kernels", () => {
  it('move what the eager clamp and concatenation move, at the achievable share of HBM bandwidth', async () => {
    const ops = await blockOps({ ...smallGptOss, attentionSinks: false });
    // Each half of the experts' fc1 output: 2048 tokens × top-2 × 1024 × 2 bytes.
    const half = 2048 * 2 * 1024 * 2;
    const h100 = findGpu('H100-80GB')!.spec;
    const gbps = h100.hbmGBps * 1e9 * h100.efficiency.memory;
    const launch = 3e-6;
    // Clamp: read the half, write it; backward reads the gradient and the kept input, writes one.
    const clamp = ops.get('expert_gate_clamp')!;
    expect(clamp.computeSec.forward).toBeCloseTo((2 * half) / gbps + launch, 6);
    expect(clamp.computeSec.backward).toBeCloseTo((3 * half) / gbps + launch, 6);
    // torch.cat copies each half; the chunk's backward copies its gradient back.
    const cat = ops.get('expert_up_clamp_cat')!;
    expect(cat.computeSec.forward).toBeCloseTo((2 * half) / gbps + launch, 6);
    expect(cat.computeSec.backward).toBeCloseTo((2 * half) / gbps + launch, 6);
  });

  it('are absent without a clamp, and the unfused path has no concatenation', async () => {
    const unclamped = await blockOps({ ...smallGptOss, activationClamp: undefined });
    expect([...unclamped.keys()].some((n) => n.includes('clamp'))).toBe(false);
    const unfused = await blockOps({ ...smallGptOss, activationFusion: false });
    expect(unfused.has('expert_gate_clamp')).toBe(true);
    expect([...unfused.keys()].some((n) => n.endsWith('_cat'))).toBe(false);
  });
});

describe('a model spec with the traits out of place', () => {
  it('is refused naming the field', () => {
    const bad = PlanRequest.safeParse({
      model: { ...smallGptOss, activation: 'gelu', moe: undefined },
      cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 },
      training: { globalBatch: 8, precision: 'bf16', optimizer: 'adam' },
    });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toContain('model.activationClamp');
    expect(paths).toContain('model.gluLinearOffset');
  });
});
