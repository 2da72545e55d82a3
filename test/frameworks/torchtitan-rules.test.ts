/**
 * What torchtitan v0.2.2 refuses and how its runtime prices, each case worked out by hand from its
 * source (the comments name the line of reasoning), and the llama3 FFN sizes against Llama 3's
 * published ones.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RunShape } from '../../src/frameworks/index.ts';
import { llama3FfnArgs, llama3FfnHidden, torchtitanModel } from '../../src/frameworks/torchtitan/model.ts';
import { torchtitan } from '../../src/frameworks/torchtitan/rules.ts';
import { resolveDims } from '../../src/model/dims.ts';
import { estimate } from '../../src/planner/estimate.ts';
import type { TransformerSpec } from '../../src/schema/index.ts';
import { SMALL_LLAMA } from './torchtitan-cases.ts';
import { feedForwardWidth, REFERENCE } from './torchtitan-oracle.ts';

const dims = (spec: Partial<TransformerSpec> = {}) =>
  resolveDims({ ...SMALL_LLAMA, ...spec }, { microBatch: 1, precision: 'bf16' });

/** FSDP over dp 2 under a 1F1B pipeline of 2 stages (ZeRO-1: the pipeline keeps it whole through the step), tp 2, 8 microbatches: torchtitan runs it. */
const base: RunShape = {
  model: dims(),
  precision: 'bf16',
  devices: 8,
  tp: 2,
  pp: 2,
  dp: 2,
  cp: 1,
  cpCommType: 'p2p',
  ep: 1,
  etp: 2,
  sequenceParallel: true,
  zero: 1,
  quantizedParamGather: false,
  zero3Prefetch: true,
  recompute: 'none',
  recomputeModules: ['core_attn'],
  schedule: '1f1b',
  virtualStages: 1,
  microbatches: 8,
  rankMicroBatch: 1,
  globalBatch: 16,
  blocksPerStage: [4, 4],
  layouts: { kind: 'megatron' },
};
/** FSDP as torchtitan runs it unless the case pins a stage: ZeRO-1 pipelined, ZeRO-3 alone. */
const reason = (shape: Partial<RunShape>) => {
  const zero = shape.zero ?? ((shape.pp ?? base.pp) > 1 ? 1 : 3);
  const verdict = torchtitan.runs({ ...base, ...shape, zero });
  return verdict.ok ? null : verdict.reason;
};

/** A small MoE's spec, dropless unless told. */
const moeSpec = (
  fields: Partial<NonNullable<TransformerSpec['moe']>> = {},
): NonNullable<TransformerSpec['moe']> => ({
  experts: 8,
  topK: 2,
  capacityFactor: 1.25,
  sharedExperts: 0,
  denseLayers: 0,
  dropless: true,
  routerWeights: 'activation',
  ...fields,
});

describe('what torchtitan v0.2.2 runs', () => {
  it('runs the base configuration, and every dense model meshplan describes', () => {
    expect(reason({})).toBeNull();
    const gpt = dims({ activation: 'gelu', kvHeads: 16 });
    expect(torchtitan.builds(gpt)).toEqual({ ok: true });
    expect(torchtitan.builds(null).ok).toBe(false);
  });

  it("refuses Megatron's flex dispatcher and module lists for recompute, which it has no setting for", () => {
    const moe = (dispatcher: 'alltoall' | 'flex') => dims({ moe: moeSpec({ dispatcher }) });
    const expertParallel = { ep: 2, etp: 1 } as const;
    expect(reason({ model: moe('alltoall'), ...expertParallel })).toBeNull();
    expect(reason({ model: moe('flex'), ...expertParallel })).toMatch(/flex dispatcher/);
    expect(reason({ recompute: 'selective', recomputeModules: ['core_attn'] })).toBeNull();
    expect(reason({ recompute: 'selective', recomputeModules: ['layernorm'] })).toMatch(/layernorm/);
  });

  it('builds a dropless MoE with its own models, refuses one that drops tokens beyond capacity', () => {
    const moe = (dropless: boolean) => dims({ moe: moeSpec({ dropless }) });
    expect(torchtitan.builds(moe(true))).toEqual({ ok: true });
    expect(torchtitan.builds(moe(false))).toEqual({
      ok: false,
      reason: expect.stringMatching(/dropless.*capacity factor 1.25/),
    });
  });

  it('builds no model that attends through a sliding window; one as long as the sequence is none', () => {
    const windowed = dims({ slidingWindow: { size: 128, fullAttentionEvery: 2 } });
    expect(torchtitan.builds(windowed)).toEqual({
      ok: false,
      reason: expect.stringMatching(/sliding window.*128-token/),
    });
    expect(torchtitan.builds(dims({ slidingWindow: { size: SMALL_LLAMA.seqLen } }))).toEqual({ ok: true });
  });

  it('refuses DDP with tensor or pipeline parallelism, and runs it alone', () => {
    expect(reason({ zero: 0 })).toMatch(/DDP/);
    expect(reason({ zero: 0, tp: 1, pp: 1, dp: 8, blocksPerStage: [8] })).toBeNull();
  });

  it('refuses ZeRO-1 alone, fp16, and TP or PP without FSDP (mixed precision off, float32)', () => {
    expect(reason({ zero: 1, pp: 1, dp: 4, blocksPerStage: [8] })).toMatch(
      /without pipeline parallelism it has no ZeRO-1/,
    );
    expect(reason({ precision: 'fp16' })).toMatch(/not fp16/);
    expect(reason({ dp: 1, devices: 4 })).toMatch(/float32/);
    expect(reason({ dp: 1, devices: 4, zero: 0 })).toMatch(/float32/);
  });

  it('refuses ZeRO-2 with accumulation steps (FSDP2 regathers at each), not with one', () => {
    const flat = { pp: 1, dp: 4, blocksPerStage: [8], zero: 2 as const };
    expect(reason({ ...flat, microbatches: 2 })).toMatch(/gathers the parameters again/);
    expect(reason({ ...flat, microbatches: 1 })).toBeNull();
  });

  it('runs FSDP under a pipeline as ZeRO-1 only: the stage keeps parameters and gradients whole through the step', () => {
    // PyTorch's stage turns resharding after backward and gradient sync off for every microbatch
    // and reshards and reduces after the last: ZeRO 2 and 3 would not be what runs.
    expect(reason({ zero: 1 })).toBeNull();
    for (const zero of [2, 3] as const)
      expect(reason({ zero })).toMatch(new RegExp(`FSDP2 runs as ZeRO-1, not ${zero}`));
  });

  it('refuses tensor parallelism without sequence parallelism, a sequence not a multiple of 2·tp, split KV heads', () => {
    expect(reason({ sequenceParallel: false })).toMatch(/sequence parallelism/);
    expect(reason({ model: dims({ seqLen: 1026 }) })).toMatch(/multiple of 2 · tp · cp = 4/);
    expect(reason({ tp: 8, dp: 1, pp: 1, devices: 8, model: dims() })).toMatch(/float32|key\/value heads/);
    expect(reason({ tp: 8, pp: 1, devices: 16, blocksPerStage: [8] })).toMatch(
      /key\/value heads, and there are 4/,
    );
  });

  it('refuses a tied embedding and head on different stages, runs them on one', () => {
    const tied = dims({ tiedEmbeddings: true });
    expect(reason({ model: tied })).toMatch(/tied embedding/);
    expect(reason({ model: tied, pp: 1, dp: 4, blocksPerStage: [8] })).toBeNull();
  });

  it('PyTorch’s schedules: 1F1B needs microbatches ≥ stages; Interleaved1F1B a multiple of its rounds', () => {
    expect(reason({ microbatches: 1 })).toMatch(/at least as many microbatches \(1\) as stages \(2\)/);
    expect(reason({ schedule: 'gpipe', microbatches: 1 })).toBeNull();
    const interleaved = { schedule: 'interleaved' as const, virtualStages: 2 };
    // 10 microbatches over pp 2: rounds = 5, 10 % 5 = 0; over pp 4 with 10: rounds 2, fine; 9 over 4: rounds 2, 9 % 2 = 1.
    expect(reason({ ...interleaved, microbatches: 10 })).toBeNull();
    expect(
      reason({ ...interleaved, pp: 4, dp: 1, devices: 8, microbatches: 9, blocksPerStage: [2, 2, 2, 2] }),
    ).toMatch(/float32|multiple of its rounds \(2\)/);
    expect(
      reason({ ...interleaved, pp: 4, tp: 1, devices: 8, microbatches: 9, blocksPerStage: [2, 2, 2, 2] }),
    ).toMatch(/multiple of its rounds \(2\)/);
  });

  it('every model part needs parameters (an optimizer per part): no empty interleaved chunk', () => {
    const interleaved = { schedule: 'interleaved' as const, virtualStages: 2 };
    // Rank 0's blocks [0] give parts 0 (embedding) and 2 (nothing).
    expect(reason({ ...interleaved, blocksPerStage: [0, 8] })).toMatch(/model part 2 of 4 .* holds no block/);
    // Unequal chunks are parts of their own (module_fqns_per_model_part takes any cut): 1, 3, 2, 2.
    expect(reason({ ...interleaved, blocksPerStage: [3, 5] })).toBeNull();
    // Not interleaved, an embedding-only first stage is a part with parameters.
    expect(reason({ blocksPerStage: [0, 8] })).toBeNull();
  });
});

/** An 8-expert dropless MoE of SMALL_LLAMA's sizes; `moe` changes its experts. */
const moeDims = (
  moe: Partial<NonNullable<TransformerSpec['moe']>> = {},
  spec: Partial<TransformerSpec> = {},
) =>
  dims({
    ...spec,
    moe: {
      experts: 8,
      topK: 2,
      capacityFactor: 1,
      sharedExperts: 0,
      denseLayers: 0,
      dropless: true,
      routerWeights: 'activation',
      ...moe,
    },
  });
const MLA = { qLoraRank: 256, kvLoraRank: 128, qkNopeHeadDim: 64, qkRopeHeadDim: 32, vHeadDim: 64 };

describe('context parallelism (parallel_dims.py, context_parallel.py, job_config.py)', () => {
  // cp 2 with tp 2 and dp 2 on 8 devices without a pipeline.
  const cp2 = { cp: 2, pp: 1, blocksPerStage: [8] } as const;

  it('runs a ring (p2p → alltoall rotation) or all-gather exchange, not Ulysses all-to-all', () => {
    expect(reason({ ...cp2, devices: 8 })).toBeNull();
    expect(reason({ ...cp2, cpCommType: 'allgather' })).toBeNull();
    expect(reason({ ...cp2, cpCommType: 'a2a' })).toMatch(/no all-to-all over heads/);
  });

  it('counts cp in the world size and the sequence divisor 2·tp·cp', () => {
    // 2 · 2 · 2 = 8 devices; 1024 = 2 · 2 · 2 · 128, while 1032 = 8 · 129 is not a multiple of 2·2·4 = 16.
    expect(reason({ ...cp2, devices: 16 })).toMatch(/not the world size 16/);
    expect(reason({ ...cp2, cp: 4, dp: 1, model: dims({ seqLen: 1032 }) })).toMatch(/2 · tp · cp = 16/);
  });

  it('shards with FSDP over the cp ranks, so ZeRO-0 is refused; and FSDP with dp 1 is still FSDP', () => {
    expect(reason({ ...cp2, tp: 1, dp: 4, zero: 0 })).toMatch(/FSDP2 over the 2 context-parallel ranks/);
    // dp 1, cp 2, tp 4: FSDP over cp keeps mixed precision on (no float32 refusal).
    expect(reason({ ...cp2, tp: 4, dp: 1, model: dims({ kvHeads: 4 }) })).toBeNull();
  });

  it("refuses meshplan's GPT model, which reads no context-parallel positions", () => {
    expect(reason({ ...cp2, model: dims({ bias: true }) })).toMatch(
      /GPT model .* no context-parallel positions/,
    );
  });
});

describe('expert parallelism (parallel_dims.py: etp is tp or 1, ep·etp divides dp_shard·cp·tp)', () => {
  // FSDP over dp 4, tp 2, 8 devices, no pipeline, ep 2 with etp = tp.
  const ep = { model: moeDims(), pp: 1, dp: 4, blocksPerStage: [8], ep: 2 } as const;

  it('runs ep within dp_shard·cp with etp = tp, and within dp_shard·cp·tp with etp = 1', () => {
    expect(reason(ep)).toBeNull();
    // ep 4 · etp 2 = 8 divides dp_shard 4 · cp 1 · tp 2 = 8; ep 8 · etp 1 too; ep 8 · etp 2 = 16 does not.
    expect(reason({ ...ep, ep: 4 })).toBeNull();
    expect(reason({ ...ep, ep: 8, etp: 1 })).toBeNull();
    expect(reason({ ...ep, ep: 8 })).toMatch(/ep 8 × etp 2 does not divide dp_shard 4 × cp 1 × tp 2/);
  });

  it('refuses ep without experts, experts that do not split, etp other than tp or 1', () => {
    expect(reason({ ...ep, model: dims() })).toMatch(/needs a mixture of experts/);
    expect(reason({ ...ep, model: moeDims({ experts: 6 }), ep: 4, dp: 8, tp: 1, etp: 1 })).toMatch(
      /6 experts do not split over ep = 4/,
    );
    expect(reason({ ...ep, tp: 4, dp: 2, etp: 2, model: moeDims({}, { kvHeads: 4 }) })).toMatch(
      /tp \(4\) or 1, not 2/,
    );
  });

  it('needs FSDP (ZeRO 2 or 3) under expert parallelism', () => {
    expect(reason({ ...ep, tp: 1, dp: 8, etp: 1, zero: 0 })).toMatch(/FSDP2 \(ZeRO-2 or 3\)/);
  });
});

describe('which torchtitan model is the priced one', () => {
  it('dense llama blocks with another head size are qwen3 without q/k norms; other dense blocks the GPT model', () => {
    const qwen = torchtitanModel(dims({ headDim: 128 }));
    expect(qwen.kind).toBe('qwen3');
    if (qwen.kind === 'qwen3')
      expect(qwen.args).toMatchObject({ head_dim: 128, qk_norm: false, moe_enabled: false });
    const gpt = torchtitanModel(dims({ activation: 'squared-relu', headDim: 32 }));
    expect(gpt).toMatchObject({ kind: 'gpt', args: { activation: 'squared_relu', head_dim: 32 } });
    expect(torchtitanModel(dims({ activation: 'geglu' }))).toMatchObject({ args: { activation: 'geglu' } });
  });

  it('MoE with grouped-query attention is qwen3; with MLA, or MLA alone, deepseek_v3', () => {
    expect(torchtitanModel(moeDims({ sharedExperts: 2 }))).toMatchObject({
      kind: 'qwen3',
      args: { moe_enabled: true, moe_args: { num_experts: 8, num_shared_experts: 2, top_k: 2 } },
    });
    expect(torchtitanModel(moeDims({ denseLayers: 2, ffnHidden: 512 }, { mla: MLA }))).toMatchObject({
      kind: 'deepseek_v3',
      args: { n_dense_layers: 2, moe_inter_dim: 512, q_lora_rank: 256, attn_type: 'sdpa' },
    });
    expect(torchtitanModel(dims({ mla: { ...MLA, qLoraRank: null } }))).toMatchObject({
      kind: 'deepseek_v3',
      args: { n_dense_layers: 8, q_lora_rank: 0, moe_args: null },
    });
  });

  it('splits MLA by query heads over tp, whatever the key/value head count says', () => {
    // 16 heads over tp 8; SMALL_LLAMA's 4 KV heads do not matter to MLA.
    const mla = { model: dims({ mla: MLA }), tp: 8, dp: 2, pp: 1, devices: 16, blocksPerStage: [8] };
    expect(reason(mla)).toBeNull();
    expect(reason({ ...mla, model: dims({ mla: MLA, heads: 8, kvHeads: 8 }), tp: 16, devices: 32 })).toMatch(
      /whole heads, and there are 8/,
    );
  });

  it('refuses what none of its models builds, each with its reason', () => {
    const refusal = (d: ReturnType<typeof dims>) => {
      const m = torchtitanModel(d);
      return m.kind === 'none' ? m.reason : null;
    };
    expect(refusal(moeDims({ denseLayers: 1 }))).toMatch(/every block/);
    // Shared experts 3 × 768 wide are 2.25 routed experts of 1024 (the model's SwiGLU default for 1024 is 2816).
    expect(refusal(moeDims({ sharedExperts: 3, sharedFfnHidden: 768, ffnHidden: 1024 }))).toMatch(
      /whole number/,
    );
    expect(refusal(moeDims({ sharedExperts: 2, sharedFfnHidden: 512, ffnHidden: 1024 }))).toBeNull();
    expect(refusal(moeDims({}, { activation: 'gelu' }))).toMatch(/gelu FFN/);
    expect(refusal(dims({ mtpLayers: 1 }))).toMatch(/multi-token prediction/);
    expect(refusal(dims({ mla: MLA, tiedEmbeddings: true }))).toMatch(/separate embedding/);
  });
});

describe('FP8 (components/quantization/float8.py)', () => {
  it('runs dense FP8 under any parallelism; expert FP8 grouped GEMMs only without pp and cp', () => {
    expect(reason({ precision: 'fp8' })).toBeNull();
    expect(reason({ precision: 'fp8', model: moeDims() })).toMatch(/grouped_mm.float8.*pp 2, cp 1/);
    expect(reason({ precision: 'fp8', model: moeDims(), cp: 2, pp: 1, blocksPerStage: [8] })).toMatch(
      /grouped_mm.float8.*pp 1, cp 2/,
    );
    expect(reason({ precision: 'fp8', model: moeDims(), pp: 1, dp: 4, blocksPerStage: [8] })).toBeNull();
  });

  it('keeps dense blocks in bf16 (Float8Linear filters them by name) but no MoE block: its experts’ converter takes every expert module', () => {
    const kept = { bf16Layers: { first: 0, last: 1 } };
    const unpipelined = { precision: 'fp8', pp: 1, dp: 4, blocksPerStage: [8] } as const;
    expect(reason({ ...unpipelined, model: { ...dims(), ...kept } })).toBeNull();
    expect(reason({ ...unpipelined, model: { ...moeDims(), ...kept } })).toMatch(
      /keeps no MoE block in bf16/,
    );
  });
});

describe('how its runtime prices', () => {
  const runtime = (shape: Partial<RunShape>, overlapTensorParallelComm?: boolean) =>
    torchtitan.runtime(
      { ...base, ...shape },
      overlapTensorParallelComm === undefined ? {} : { overlapTensorParallelComm },
    );

  it('reduces gradients at every accumulation microbatch without a pipeline, after the last one with', () => {
    expect(runtime({ pp: 1, microbatches: 4 }).gradientReduction).toBe('every-microbatch');
    expect(runtime({ pp: 1, microbatches: 1 }).gradientReduction).toBe('overlapped');
    expect(runtime({}).gradientReduction).toBe('after-backward');
  });

  it('prices a request that pins overlapGradReduce: false as it asks, never overlapped', () => {
    const pinned = torchtitan.runtime({ ...base, pp: 1, microbatches: 1 }, { overlapGradReduce: false });
    expect(pinned.gradientReduction).toBe('after-backward');
  });

  it('never overlaps the expert all-to-alls (dispatch and combine run on the compute stream)', () => {
    expect(runtime({ model: moeDims(), ep: 2, pp: 1, blocksPerStage: [8] }).expertParallelOverlap).toBe(
      false,
    );
  });

  it("reduces gradients in the one dtype job_config.py's mixed_precision_reduce allows: float32, 4 bytes", () => {
    const choices = REFERENCE.sections.training!.fields.mixed_precision_reduce!.choices;
    expect(choices).toEqual(['float32']);
    for (const shape of [{}, { pp: 1, microbatches: 4 }, { zero: 0 as const }, { zero: 3 as const }]) {
      expect(runtime(shape).gradientReduceBytes).toBe(4);
    }
  });

  it('keeps no FP8 weight copy: torchao casts at every use, where Transformer Engine caches a copy and its transpose', async () => {
    // Priced end to end: an FP8 Llama block stack under FSDP on 8 H100, for torchtitan and for
    // Megatron-LM. The parameter memory differs by exactly 2 bytes a block linear weight element
    // (q, o: h²; k, v: h·kv; gate, up, down: h·ffn each); the LM head computes in bf16 in both.
    const [h, kv, ffn, layers] = [1024, 256, 3584, 4];
    const request = (target: 'torchtitan' | 'megatron') => ({
      model: {
        kind: 'transformer' as const,
        name: 'fp8 llama',
        layers,
        hidden: h,
        heads: 8,
        kvHeads: 2,
        ffnHidden: ffn,
        vocab: 32000,
        seqLen: 2048,
        activation: 'swiglu' as const,
      },
      cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 },
      training: { globalBatch: 16, precision: 'fp8' as const, optimizer: 'adam' as const },
      parallel: { tp: 1, pp: 1, dp: 8, microBatch: 2, recompute: 'none' as const, zero: 3 as const },
      options: { target },
    });
    const params = async (target: 'torchtitan' | 'megatron') =>
      (await estimate(request(target))).stages![0]!.memory.parametersBytes;
    const linearWeights = layers * (2 * h * h + 2 * h * kv + 3 * h * ffn);
    expect((await params('megatron')) - (await params('torchtitan'))).toBe(2 * linearWeights);
  });

  it('pipelined, holds whole float32 gradients and reduces them once a step, however many microbatches', async () => {
    // A Llama on 8 H100, pp 2 × dp 4, ZeRO-1 (FSDP2 under the pipeline), priced for torchtitan and for
    // Megatron-LM's distributed optimizer: the same weights and optimizer shards, but torchtitan's
    // gradients accumulate in float32 (4 bytes an element) where Megatron's buffer is bf16 (2).
    const request = (target: 'torchtitan' | 'megatron', globalBatch: number) => ({
      model: {
        kind: 'transformer' as const,
        name: 'pipelined llama',
        layers: 4,
        hidden: 1024,
        heads: 8,
        kvHeads: 2,
        ffnHidden: 3584,
        vocab: 32000,
        seqLen: 2048,
        activation: 'swiglu' as const,
      },
      cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 },
      training: { globalBatch, precision: 'bf16' as const, optimizer: 'adam' as const },
      parallel: { tp: 1, pp: 2, dp: 4, microBatch: 1, recompute: 'none' as const, zero: 1 as const },
      options: { target },
    });
    const [titan, megatron] = await Promise.all([
      estimate(request('torchtitan', 16)),
      estimate(request('megatron', 16)),
    ]);
    expect(titan.status).toBe('optimal');
    const [t, m] = [titan.stages[0]!.memory, megatron.stages[0]!.memory];
    expect(t.gradientsBytes).toBe(2 * m.gradientsBytes);
    expect(t.parametersBytes).toBe(m.parametersBytes);
    expect(t.optimizerBytes).toBe(m.optimizerBytes);
    // Twice the microbatches, the same data-parallel traffic: one reduce-scatter after the last
    // backward, one gather under the first forward.
    const doubled = await estimate(request('torchtitan', 32));
    expect(titan.breakdown!.dpCommSec).toBeGreaterThan(0);
    expect(doubled.breakdown!.dpCommSec).toBeCloseTo(titan.breakdown!.dpCommSec, 9);
    // ZeRO-3 pinned under the pipeline is not what torchtitan runs: the estimate names why.
    const pinned = request('torchtitan', 16);
    await expect(estimate({ ...pinned, parallel: { ...pinned.parallel, zero: 3 as const } })).rejects.toThrow(
      /options\.target: .*FSDP2 runs as ZeRO-1, not 3/,
    );
  });

  it('overlaps tensor-parallel communication (async TP) only when asked', () => {
    expect(runtime({}).tensorParallelOverlap).toBe(false);
    expect(runtime({}, true).tensorParallelOverlap).toBe(true);
    expect(runtime({ tp: 1 }, true).tensorParallelOverlap).toBe(false);
  });

  it('reduces input gradients where autograd reaches them: DTensor does not reorder them behind the weight gradient', () => {
    expect(runtime({}).inputGradientOverlap).toBe(false);
    expect(torchtitan.runtime(base, { overlapInputGradientReduce: true }).inputGradientOverlap).toBe(false);
  });
});

describe('llama3 sizes', () => {
  it('the shipped flavors build Llama 3’s published FFN widths (8B 14336, 70B 28672, 405B 53248)', () => {
    expect(llama3FfnHidden(4096, 1024, 1.3)).toBe(14336);
    expect(llama3FfnHidden(8192, 4096, 1.3)).toBe(28672);
    expect(llama3FfnHidden(16384, 4096, 1.2)).toBe(53248);
  });

  it('names a shipped flavor when the sizes are its own, else registers one', () => {
    const l8b = dims({ layers: 32, hidden: 4096, heads: 32, kvHeads: 8, ffnHidden: 14336, vocab: 128256 });
    expect(torchtitanModel(l8b)).toEqual({ kind: 'shipped', flavor: '8B' });
    expect(torchtitanModel({ ...l8b, vocab: 128000 }).kind).toBe('llama3');
    expect(torchtitanModel(dims({ bias: true })).kind).toBe('gpt');
  });

  it('multiple_of and ffn_dim_multiplier reproduce any FFN width (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65536 }), fc.integer({ min: 2, max: 300000 }), (dim, ffn) => {
        const args = llama3FfnArgs(dim, ffn);
        expect(args).not.toBeNull();
        expect(feedForwardWidth(dim, args!.multiple_of, args!.ffn_dim_multiplier)).toBe(ffn);
      }),
    );
  });
});
