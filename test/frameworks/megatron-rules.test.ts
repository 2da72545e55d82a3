/**
 * What Megatron-LM core_v0.19.0 runs (`megatron.runs`) and how it prices (`megatron.runtime`), each
 * rule against the line of its source that enforces it; and the oracle the export tests rely on,
 * shown to refuse what Megatron refuses.
 */
import { describe, expect, it } from 'vitest';
import type { RunShape } from '../../src/frameworks/index.ts';
import { megatron } from '../../src/frameworks/megatron/rules.ts';
import { resolveDims } from '../../src/model/dims.ts';
import { TransformerSpec } from '../../src/schema/model.ts';
import { parseArgs } from './megatron-oracle.ts';
import { ruleProblems } from './megatron-rules-oracle.ts';

const llamaSpec = TransformerSpec.parse({
  kind: 'transformer',
  layers: 16,
  hidden: 4096,
  heads: 32,
  kvHeads: 8,
  vocab: 128256,
  seqLen: 4096,
  activation: 'swiglu',
  attention: 'flash',
});
const llama = resolveDims(llamaSpec, { microBatch: 1, precision: 'bf16' });
const gpt = resolveDims(
  TransformerSpec.parse({
    kind: 'transformer',
    layers: 16,
    hidden: 4096,
    heads: 32,
    vocab: 50257,
    seqLen: 2048,
    activation: 'gelu',
    attention: 'flash',
  }),
  { microBatch: 1, precision: 'bf16' },
);
const moe = resolveDims(
  TransformerSpec.parse({ ...llamaSpec, moe: { experts: 8, topK: 2, capacityFactor: 1.25 } }),
  { microBatch: 1, precision: 'bf16' },
);

const base: RunShape = {
  model: llama,
  precision: 'bf16',
  devices: 64,
  tp: 4,
  pp: 2,
  dp: 8,
  cp: 1,
  cpCommType: 'p2p',
  ep: 1,
  etp: 4,
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
  globalBatch: 64,
  blocksPerStage: [8, 8],
  layouts: { kind: 'megatron' },
};

const verdict = (changes: Partial<RunShape>) => megatron.runs({ ...base, ...changes });

/** The MoE model where Megatron can overlap its expert all-to-alls: ep 2, an interleaved pipeline. */
const expertOverlapShape: RunShape = {
  ...base,
  model: moe,
  ep: 2,
  etp: 4,
  virtualStages: 2,
  schedule: 'interleaved',
};
const reason = (changes: Partial<RunShape>) => {
  const v = verdict(changes);
  return v.ok ? null : v.reason;
};

describe('megatron.runs', () => {
  it('runs a Llama-style plan, and ZeRO 0–3 on it (Megatron-FSDP has no pipeline check in validate_args)', () => {
    for (const zero of [0, 1, 2, 3] as const) expect(verdict({ zero })).toEqual({ ok: true });
  });

  it('gathers FP8 parameters with the distributed optimizer (validate_args), priced for ZeRO 1–2 only', () => {
    const fp8 = { quantizedParamGather: true, precision: 'fp8' } as const;
    expect(reason({ ...fp8, zero: 1 })).toBeNull();
    expect(reason({ ...fp8, zero: 2 })).toBeNull();
    expect(reason({ ...fp8, zero: 0 })).toMatch(/needs the distributed optimizer/);
    expect(reason({ ...fp8, zero: 3 })).toMatch(/not ZeRO-3's per-layer gathers/);
  });

  it('gathers NVFP4 parameters with the distributed optimizer alone: Megatron-FSDP has no NVFP4 gather', () => {
    const nvfp4 = { quantizedParamGather: true, precision: 'nvfp4' } as const;
    expect(reason({ ...nvfp4, zero: 1 })).toBeNull();
    for (const zero of [0, 2, 3] as const)
      expect(reason({ ...nvfp4, zero }), `zero ${zero}`).toMatch(
        /--fp4-param-gather is the distributed optimizer's/,
      );
  });

  it('builds transformers only', () => {
    expect(megatron.builds(null).ok).toBe(false);
    expect(reason({ model: null })).toMatch(/general operator graph/);
  });

  it('refuses layouts that are not its own and GPipe', () => {
    expect(reason({ layouts: { kind: 'other', reason: '2-D tensor parallelism' } })).toBe(
      '2-D tensor parallelism',
    );
    expect(reason({ schedule: 'gpipe' })).toMatch(/no GPipe/);
  });

  it('splits heads, query groups (a multiple or a divisor of tp), FFN and vocabulary evenly over tp', () => {
    expect(reason({ tp: 16, dp: 2, microbatches: 32 })).toBeNull(); // 8 query groups, each shared by 2 ranks
    expect(reason({ model: { ...llama, kvHeads: 6, groupSize: 32 / 6 } })).toMatch(/6 query groups/);
    expect(reason({ model: { ...llama, heads: 30 } })).toMatch(/30 attention heads/);
    expect(reason({ model: { ...llama, ffnHidden: 14338 } })).toMatch(/FFN size 14338/);
    // GPT-2's 50,257 tokens: ceil(50257 / 2) · 2 = 50258 rows is what Megatron would build.
    expect(reason({ model: gpt, tp: 2, dp: 16, microbatches: 4 })).toMatch(/50257 .* 50258 rows/);
    expect(reason({ model: gpt, tp: 1, dp: 32, microbatches: 2, sequenceParallel: false })).toBeNull();
    expect(reason({ model: { ...llama, seqLen: 4098 } })).toMatch(/4098-token sequence/);
  });

  it('MoE: sequence parallelism with tp > 1 (MoELayer.forward), no biases when experts split over tp', () => {
    expect(reason({ model: moe })).toBeNull();
    expect(reason({ model: moe, sequenceParallel: false })).toMatch(/without sequence parallelism/);
    expect(reason({ model: { ...moe, bias: true } })).toMatch(/ETP==1/);
    const tp1 = { tp: 1, etp: 1, dp: 32, microbatches: 2, sequenceParallel: false };
    expect(reason({ model: { ...moe, bias: true }, ...tp1 })).toBeNull();
  });

  it('interleaving: pp > 1, microbatches in groups of pp, any cut of a stage into chunks (a layout)', () => {
    expect(reason({ virtualStages: 2, schedule: 'interleaved' })).toBeNull();
    expect(reason({ virtualStages: 2, pp: 1, dp: 16, blocksPerStage: [16] })).toMatch(/needs pipeline/);
    expect(
      reason({ virtualStages: 2, pp: 4, dp: 4, microbatches: 6, globalBatch: 24, blocksPerStage: null }),
    ).toMatch(/microbatches per step \(6\) to be a multiple of pp = 4/);
    expect(reason({ virtualStages: 2, blocksPerStage: [7, 9] })).toBeNull();
    expect(reason({ virtualStages: 2, blocksPerStage: null })).toBeNull();
  });

  it('the global batch is micro batch × microbatches × dp', () => {
    expect(reason({ globalBatch: 65 })).toMatch(/not the global batch of 65/);
  });
});

describe('megatron.runs: context and expert parallelism, MLA, GeGLU, FP8', () => {
  const fine = resolveDims(
    TransformerSpec.parse({
      ...llamaSpec,
      moe: { experts: 64, topK: 6, ffnHidden: 1024, sharedExperts: 2, denseLayers: 1, dropless: true },
    }),
    { microBatch: 1, precision: 'bf16' },
  );
  const mla = resolveDims(
    TransformerSpec.parse({
      ...llamaSpec,
      kvHeads: undefined,
      mla: { qLoraRank: 512, kvLoraRank: 256, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 },
    }),
    { microBatch: 1, precision: 'bf16' },
  );
  // 64 devices: tp 4 × cp 2 × pp 2 × dp 4.
  const cp2 = { cp: 2, dp: 4, microbatches: 16 };

  it('context parallelism: the world grid, 2·cp chunks, each cp rank’s tokens over tp with SP', () => {
    expect(reason(cp2)).toBeNull();
    expect(reason({ ...cp2, dp: 8 })).toMatch(/tp 4 × cp 2 × pp 2 × dp 8 is not its 64 GPUs/);
    expect(reason({ ...cp2, model: { ...llama, seqLen: 4098 } })).toMatch(/2·cp = 4 equal chunks/);
    // 4100 = 4·1025 splits into 4 chunks, but a cp rank's 2050 tokens do not split over tp 4.
    expect(reason({ ...cp2, model: { ...llama, seqLen: 4100 } })).toMatch(/2050 tokens per cp rank/);
  });

  it('context parallelism runs in Transformer Engine’s fused attention, not eager', () => {
    expect(reason({ ...cp2, model: { ...llama, flashAttention: false } })).toMatch(/unfused/);
  });

  it('the all-to-all exchange needs each tp rank’s query and key/value heads to split over cp', () => {
    // 32 heads, 8 kv heads over tp 4: 8 and 2 per rank, both split over cp 2; not over cp 4.
    expect(reason({ ...cp2, cpCommType: 'a2a' })).toBeNull();
    expect(reason({ cp: 4, dp: 2, microbatches: 32, cpCommType: 'a2a' })).toMatch(/a2a/);
    expect(reason({ cp: 4, dp: 2, microbatches: 32, cpCommType: 'p2p' })).toBeNull();
    expect(reason({ cp: 4, dp: 2, microbatches: 32, cpCommType: 'allgather' })).toBeNull();
  });

  it('expert parallelism: experts over ep, whole expert data parallelism, sizes over etp, MoE only', () => {
    const moeShape = { model: fine, ep: 8, etp: 4 };
    expect(reason(moeShape)).toBeNull(); // tp·cp·dp = 32 ranks hold 8 × 4 expert groups
    expect(reason({ ...moeShape, ep: 6 })).toMatch(/64 experts do not divide over ep = 6/);
    expect(reason({ ...moeShape, ep: 16 })).toMatch(/etp 4 × ep 16 do not tile/);
    expect(reason({ ...moeShape, ep: 16, etp: 2 })).toBeNull();
    expect(
      reason({ ...moeShape, etp: 1, model: { ...fine, moe: { ...fine.moe!, ffnHidden: 1000 } } }),
    ).toBeNull();
    expect(reason({ ...moeShape, model: { ...fine, moe: { ...fine.moe!, ffnHidden: 1002 } } })).toMatch(
      /FFN size 1002 does not divide over etp = 4/,
    );
    expect(reason({ ep: 2 })).toMatch(/needs a mixture of experts/);
    expect(reason({ ...moeShape, etp: 1, model: { ...fine, bias: true } })).toBeNull();
    expect(reason({ ...moeShape, model: { ...fine, bias: true } })).toMatch(/ETP==1/);
  });

  it('MLA has no grouped-query form; GeGLU has no command-line form', () => {
    expect(reason({ model: mla })).toBeNull();
    expect(reason({ model: { ...mla, kvHeads: 8 } })).toMatch(/multi-latent attention/);
    expect(reason({ model: { ...llama, activation: 'geglu' } })).toMatch(/no GeGLU/);
    expect(megatron.builds({ ...llama, activation: 'geglu' })).toMatchObject({ ok: false });
    expect(megatron.builds(mla).ok).toBe(true);
    expect(reason({ model: { ...llama, activation: 'squared-relu' } })).toBeNull();
  });

  it('FP8 GEMMs need multiples of 16 in the hidden size and each rank’s FFN', () => {
    expect(reason({ precision: 'fp8' })).toBeNull();
    expect(reason({ precision: 'fp8', model: { ...llama, ffnHidden: 14408 } })).toMatch(/3602/);
  });

  it('NVFP4 and MXFP8 GEMMs need multiples of 32 (get_fp4_align_size, get_fp8_align_size), where FP8’s 16 do', () => {
    expect(reason({ precision: 'nvfp4' })).toBeNull();
    expect(reason({ precision: 'mxfp8', model: { ...llama, ffnHidden: 14400 } })).toMatch(
      /MXFP8 GEMMs .* multiples of 32/,
    );
    // 14,400 / 4 = 3,600: a multiple of 16, not of 32.
    expect(reason({ precision: 'fp8', model: { ...llama, ffnHidden: 14400 } })).toBeNull();
    expect(reason({ precision: 'nvfp4', model: { ...llama, ffnHidden: 14400 } })).toMatch(
      /NVFP4 GEMMs .* multiples of 32, and its FFN size per tp rank \(14400 \/ 4\) is 3600/,
    );
  });
});

describe('megatron.runs: hybrid Mamba models (pretrain_hybrid.py)', () => {
  // 16 layers, tp 4 × pp 2 × dp 8 as `base`: Mamba-2, attention, MLP and MoE layers.
  const hybridSpec = {
    ...llamaSpec,
    activation: 'squared-relu',
    hybridPattern: 'M*ME'.repeat(4),
    mamba: { heads: 32, headDim: 64, stateDim: 128, groups: 8 },
    moe: { experts: 8, topK: 2, ffnHidden: 1024, dropless: true },
  } as const;
  const hybridOf = (changes: object, precision: 'bf16' | 'fp8' | 'mxfp8' = 'bf16') =>
    resolveDims(TransformerSpec.parse({ ...hybridSpec, ...changes }), { microBatch: 1, precision });
  const hybrid = hybridOf({});
  const mamba = hybrid.mamba!;

  it('builds and runs it (no stand-in refusal any more)', () => {
    expect(megatron.builds(hybrid)).toEqual({ ok: true });
    expect(reason({ model: hybrid })).toBeNull();
  });

  it('refuses mixer sizes no argument reaches: MambaMixer’s d_conv 4 and chunk_size 128', () => {
    const taps = megatron.builds(hybridOf({ mamba: { ...hybridSpec.mamba, convKernel: 3 } }));
    expect(taps.ok ? null : taps.reason).toMatch(/4 taps.*model\.mamba\.convKernel is 3/);
    const chunk = hybridOf({ mamba: { ...hybridSpec.mamba, chunkSize: 64 } });
    expect(reason({ model: chunk })).toMatch(/chunks of 128 tokens.*model\.mamba\.chunkSize is 64/);
    // Without Mamba layers the mixer's sizes build nothing.
    expect(
      reason({ model: hybridOf({ hybridPattern: '*-*E'.repeat(4), mamba: { ...mamba, convKernel: 3 } }) }),
    ).toBeNull();
  });

  it('runs dropout, which the plan prices after each Mamba mixer as MambaLayer applies it', () => {
    expect(reason({ model: { ...hybrid, dropout: true } })).toBeNull();
  });

  it('splits Mamba heads and groups whole over tp (mamba_mixer.py asserts)', () => {
    // 36 heads in 4 groups: 9 per group; tp 4 splits the groups and the heads, tp 8 neither.
    const heads36 = hybridOf({ mamba: { ...mamba, heads: 36, groups: 4 } });
    expect(reason({ model: heads36 })).toBeNull();
    expect(reason({ model: heads36, tp: 8, dp: 4, microbatches: 16 })).toMatch(
      /36 Mamba heads \(model\.mamba\.heads\) do not divide over tp = 8/,
    );
    const groups2 = hybridOf({ mamba: { ...mamba, groups: 2 } });
    expect(reason({ model: groups2 })).toMatch(
      /2 Mamba groups \(model\.mamba\.groups\) do not divide over tp = 4/,
    );
  });

  it('context parallelism gives each cp rank whole heads, and whole or repeated groups (MambaContextParallel’s asserts)', () => {
    // 32 heads in 8 groups over tp 4: 8 heads and 2 groups a tp rank.
    const cpOf = (cp: number, model = hybrid) => {
      const dp = Math.max(1, 8 / cp);
      return reason({ model, cp, dp, devices: 4 * 2 * cp * dp, microbatches: 64 / dp });
    };
    expect(cpOf(2)).toBeNull();
    // 2 groups, fewer than cp 4 and 8, which they divide: each group repeated over 2 and 4 cp ranks.
    expect(cpOf(4)).toBeNull();
    expect(cpOf(8)).toBeNull();
    expect(cpOf(16)).toMatch(/8 Mamba heads \(model\.mamba\.heads over tp = 4\) do not divide over cp = 16/);
    // 24 heads in 8 groups: 6 heads a tp rank, which cp 4 cannot split whole.
    expect(cpOf(4, hybridOf({ mamba: { ...mamba, heads: 24 } }))).toMatch(/6 Mamba heads .* cp = 4/);
    // 48 heads in 12 groups: 3 groups a tp rank, neither divisible by cp 2 nor dividing cp 4.
    const twelve = hybridOf({ mamba: { ...mamba, heads: 48, groups: 12 } });
    expect(cpOf(2, twelve)).toMatch(
      /3 Mamba groups a tensor-parallel rank holds .* do not divide over cp = 2/,
    );
    expect(cpOf(4, twelve)).toMatch(/cp = 4 is not a multiple of the 3 Mamba groups/);
  });

  it('FP8 and MXFP8 (config.fp8) need the packed input projection a multiple of 16 (mamba_mixer.py); NVFP4 does not set it', () => {
    // 24 heads: 2·1536 + 2·8·128 + 24 = 5144 columns.
    const odd = (precision: 'fp8' | 'mxfp8') => hybridOf({ mamba: { ...mamba, heads: 24 } }, precision);
    const fp8Tp1 = { tp: 1, etp: 1, dp: 32, microbatches: 2, sequenceParallel: false };
    expect(reason({ ...fp8Tp1, precision: 'fp8', model: odd('fp8') })).toMatch(
      /5144 columns .* multiple of 16/,
    );
    expect(reason({ ...fp8Tp1, precision: 'mxfp8', model: odd('mxfp8') })).toMatch(
      /under MXFP8 .*5144 columns/,
    );
    expect(reason({ ...fp8Tp1, model: hybridOf({ mamba: { ...mamba, heads: 24 } }) })).toBeNull();
  });

  it('Transformer Engine’s quantized GEMMs: each rank’s Mamba projections; the FFN size only with MLP layers', () => {
    // 32 heads of 64, 8 groups of 128: 6176 columns, 1544 per rank at tp 4 (not a multiple of 16).
    expect(reason({ precision: 'fp8', model: hybridOf({}, 'fp8') })).toMatch(
      /Mamba input projection per tp rank \(6176 \/ 4\) is 1544/,
    );
    expect(
      reason({ precision: 'fp8', model: hybridOf({}, 'fp8'), tp: 2, dp: 16, microbatches: 4 }),
    ).toBeNull();
    // No `-` layer: the FFN size builds nothing and need not split over tp.
    expect(reason({ model: hybridOf({ ffnHidden: 14338 }) })).toBeNull();
    expect(reason({ model: hybridOf({ ffnHidden: 14338, hybridPattern: 'M*-E'.repeat(4) }) })).toMatch(
      /FFN size 14338/,
    );
  });

  it('interleaving where each rank’s segments hold its planned stage’s layers, and not otherwise', () => {
    const interleaved = { model: hybrid, virtualStages: 2, schedule: 'interleaved' } as const;
    expect(reason(interleaved)).toBeNull();
    // Chunks of 4 of 'M*ME'×4 are alike; of 'MM**EEMM'×2 they are not: rank 0 gets 'MM**' twice.
    const sorted = hybridOf({ hybridPattern: 'MM**EEMM'.repeat(2) });
    expect(reason({ ...interleaved, model: sorted })).toMatch(
      /pipeline rank 0 the pattern's segments 0, 2, whose layers are 4 \*, 4 M, where the plan priced its stage with 2 \*, 2 E, 4 M/,
    );
    expect(reason({ ...interleaved, model: sorted, blocksPerStage: null })).toBeNull();
  });

  it('prices no expert all-to-all overlap: HybridModel has no build_schedule_plan for the combined 1F1B', () => {
    const asked = { overlapExpertParallelComm: true };
    const shape: RunShape = { ...expertOverlapShape, model: hybrid };
    expect(megatron.runtime(shape, asked).expertParallelOverlap).toBe(false);
    expect(megatron.runtime(expertOverlapShape, asked).expertParallelOverlap).toBe(true);
  });
});

describe('megatron.runtime', () => {
  it('overlaps the gradient reduction unless asked not to (--overlap-grad-reduce)', () => {
    expect(megatron.runtime(base, {}).gradientReduction).toBe('overlapped');
    expect(megatron.runtime(base, { overlapGradReduce: false }).gradientReduction).toBe('after-backward');
  });

  it('overlaps tensor-parallel collectives only where asked, with sequence parallelism, and not under NVFP4', () => {
    const asked = { overlapTensorParallelComm: true };
    expect(megatron.runtime(base, asked).tensorParallelOverlap).toBe(true);
    expect(megatron.runtime({ ...base, precision: 'nvfp4' }, asked).tensorParallelOverlap).toBe(false);
    expect(megatron.runtime({ ...base, sequenceParallel: false }, asked).tensorParallelOverlap).toBe(false);
    expect(megatron.runtime(base, {}).tensorParallelOverlap).toBe(false);
  });

  it('buckets gradients as DistributedDataParallel does: max(4e7, 1e6 · dp · cp) elements, one bucket without overlap', () => {
    expect(megatron.runtime({ ...base, dp: 8, cp: 1 }, {}).gradientBucketElements).toBe(40_000_000);
    expect(megatron.runtime({ ...base, dp: 96, cp: 1 }, {}).gradientBucketElements).toBe(96_000_000);
    expect(megatron.runtime({ ...base, dp: 64, cp: 2 }, {}).gradientBucketElements).toBe(128_000_000);
    expect(megatron.runtime(base, { overlapGradReduce: false }).gradientBucketElements).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it('reduces input gradients alongside the weight-gradient GEMMs unless told not to (its linear layers always do)', () => {
    expect(megatron.runtime(base, {}).inputGradientOverlap).toBe(true);
    expect(megatron.runtime({ ...base, sequenceParallel: false }, {}).inputGradientOverlap).toBe(true);
    expect(megatron.runtime(base, { overlapInputGradientReduce: false }).inputGradientOverlap).toBe(false);
  });

  it('overlaps expert all-to-alls only when asked, with ep > 1, interleaving when pp > 1, no full recompute, ≤ 1 MTP layer', () => {
    const moeShape = expertOverlapShape;
    const asked = { overlapExpertParallelComm: true };
    const overlap = (changes: Partial<RunShape>) =>
      megatron.runtime({ ...moeShape, ...changes }, asked).expertParallelOverlap;
    expect(overlap({})).toBe(true);
    expect(megatron.runtime(moeShape, {}).expertParallelOverlap).toBe(false);
    expect(overlap({ ep: 1 })).toBe(false);
    expect(overlap({ virtualStages: 1, schedule: '1f1b' })).toBe(false);
    expect(overlap({ pp: 1, dp: 16, virtualStages: 1, schedule: '1f1b', blocksPerStage: [16] })).toBe(true);
    expect(overlap({ recompute: 'full' })).toBe(false);
    expect(overlap({ recompute: 'selective' })).toBe(true);
    expect(overlap({ model: { ...moe, mtpLayers: 2 } })).toBe(false);
  });
});

describe('training.bf16Layers (--first-last-layers-bf16)', () => {
  const kept = (last: number) =>
    resolveDims(llamaSpec, { microBatch: 1, precision: 'mxfp8', bf16Layers: { first: 0, last } });

  it('under FP8, TransformerConfig keeps at most num_layers // pp at either end; NVFP4 has no such check', () => {
    // 16 layers over pp 2: 8 a stage (transformer_config.py __post_init__, under `if self.fp8`).
    expect(verdict({ model: kept(8), precision: 'mxfp8' }).ok).toBe(true);
    const refused = verdict({ model: kept(9), precision: 'mxfp8' });
    expect(refused.ok ? '' : refused.reason).toMatch(/num_layers \/\/ pp = 8 .* the 9 last/);
    expect(verdict({ model: kept(9), precision: 'fp8' }).ok).toBe(false);
    expect(verdict({ model: kept(9), precision: 'nvfp4' }).ok).toBe(true);
  });
});

describe('the oracle refuses what Megatron-LM refuses', () => {
  const ok = [
    ...['--tensor-model-parallel-size', '2', '--pipeline-model-parallel-size', '2', '--sequence-parallel'],
    ...['--num-layers', '8', '--hidden-size', '1024', '--num-attention-heads', '16'],
    ...['--seq-length', '1024', '--max-position-embeddings', '1024', '--micro-batch-size', '1'],
    ...['--global-batch-size', '64'],
  ];
  const problems = (extra: string[], base = ok) => {
    const ns = parseArgs([...base, ...extra]);
    return [...ns.problems, ...ruleProblems(ns, 16, '1')];
  };

  it('accepts a valid command line', () => expect(problems([])).toEqual([]));

  it('--fp8-param-gather: with FP8 and the distributed optimizer (validate_args, TransformerConfig)', () => {
    const fp8 = ['--bf16', '--fp8-format', 'hybrid', '--fp8-param-gather'];
    expect(problems([...fp8, '--use-distributed-optimizer'])).toEqual([]);
    expect(problems(fp8)).toEqual(['--fp8-param-gather needs the distributed optimizer or an FSDP']);
    expect(problems(['--bf16', '--fp8-param-gather', '--use-distributed-optimizer'])).toEqual([
      '--fp8-param-gather without FP8',
    ]);
  });

  it('--first-last-layers-bf16 under FP8: each count within num_layers // pp, the start count 1 by default (TransformerConfig)', () => {
    const mxfp8 = ['--bf16', '--fp8-format', 'e4m3', '--fp8-recipe', 'mxfp8', '--first-last-layers-bf16'];
    // 8 layers over pp 2: 4 a stage.
    expect(
      problems([...mxfp8, '--num-layers-at-start-in-bf16', '0', '--num-layers-at-end-in-bf16', '4']),
    ).toEqual([]);
    expect(problems([...mxfp8, '--num-layers-at-end-in-bf16', '5'])).toEqual([
      'num_layers_at_end_in_bf16 5 outside 0..num_layers // pp = 4',
    ]);
    const nvfp4 = ['--bf16', '--fp4-format', 'e2m1', '--fp4-recipe', 'nvfp4', '--first-last-layers-bf16'];
    expect(problems([...nvfp4, '--num-layers-at-end-in-bf16', '5'])).toEqual([]);
  });

  it('unknown flags, bad types, choices and arities', () => {
    expect(problems(['--pipeline-parallel-split-points', 'x'])).toEqual([
      expect.stringMatching(/no such flag/),
    ]);
    expect(problems(['--normalization', 'rmsnorm'])).toEqual([expect.stringMatching(/not a choice/)]);
    expect(problems(['--hidden-dropout', 'none'])).toEqual([expect.stringMatching(/not a float/)]);
    expect(problems(['--swiglu', 'true'])).toEqual([expect.stringMatching(/arity/)]);
    expect(problems(['--attention-backend', 'cudnn'])).toEqual([
      expect.stringMatching(/not a enum:AttnBackend/),
    ]);
  });

  it('a hybrid command line: the pattern gives the layers and the stages, validate_args forbids the rest', () => {
    const spec = ['--spec', 'megatron.core.models.hybrid.hybrid_layer_specs', 'hybrid_stack_spec'];
    const mamba = ['--mamba-num-heads', '32', '--mamba-head-dim', '64', '--disable-bias-linear'];
    const gptLayers = ok.filter((_, i) => i < 5 || i > 6);
    const hybrid = [...gptLayers, '--hybrid-layer-pattern', 'M*ME|M*ME', ...spec, ...mamba];
    expect(hybrid).not.toContain('--num-layers');
    expect(problems([], hybrid)).toEqual([]);
    expect(problems(['--pipeline-model-parallel-layout', 'Et*4|t*4L'], hybrid)).toEqual([
      'pipeline_model_parallel_layout with --hybrid-layer-pattern',
    ]);
    expect(problems(['--num-layers-per-virtual-pipeline-stage', '2'], hybrid)).toEqual([
      'num_layers_per_virtual_pipeline_stage with --hybrid-layer-pattern',
    ]);
    expect(problems(['--decoder-first-pipeline-num-layers', '3'], hybrid)).toEqual([
      'first/last stage sizes with a piped pattern',
    ]);
    expect(problems(['--num-layers', '9'], hybrid)).toEqual([
      expect.stringMatching(/overridden by the pattern's 8/),
    ]);
    const withPattern = (pattern: string) => hybrid.map((w) => (w === 'M*ME|M*ME' ? pattern : w));
    expect(problems([], withPattern('M*M|E|M*ME'))).toEqual(['3 pattern segments for pp 2']);
    expect(problems([], withPattern('M*MEM*M'))).toEqual(['7 pattern layers do not split evenly over pp 2']);
    expect(problems([], [...gptLayers, '--hybrid-layer-pattern', 'M*ME|M*ME', ...mamba])).toEqual([
      expect.stringMatching(/--spec .*is not the hybrid training stack/),
    ]);
    expect(problems(['--mamba-num-groups', '1'], hybrid)).toEqual(['Mamba groups do not divide over tp']);
    // tp 2 × cp 4 on 16 ranks: 16 heads and 4 groups a tp rank split over cp; 6 heads in 2 groups
    // (3 heads a tp rank) do not, nor do 24 heads in 6 groups (3 groups a tp rank, no divisor of 4).
    const cp4 = ['--context-parallel-size', '4'];
    const sized = (heads: string, groups: string) => [
      ...hybrid.map((w) => (w === '32' ? heads : w)),
      ...['--mamba-num-groups', groups],
    ];
    expect(problems(cp4, hybrid)).toEqual([]);
    expect(problems(cp4, sized('32', '2'))).toEqual([]);
    expect(problems(cp4, sized('6', '2'))).toEqual(['Mamba heads do not divide over tp·cp']);
    expect(problems(cp4, sized('24', '6'))).toEqual(['cp is no multiple of a tp rank’s Mamba groups']);
    expect(problems(['--context-parallel-size', '2'], sized('24', '6'))).toEqual([
      'a tp rank’s Mamba groups do not divide over cp',
    ]);
    expect(problems(['--multi-latent-attention'], hybrid)).toEqual([
      expect.stringMatching(/plain self-attention/),
    ]);
  });

  it('the release’s rules', () => {
    expect(problems(['--num-layers-per-virtual-pipeline-stage', '3'])).toEqual([
      expect.stringMatching(/chunk size/),
    ]);
    expect(problems(['--pipeline-model-parallel-layout', 'Et*3|t*4L'])).toEqual([
      expect.stringMatching(/7 blocks, not 8/),
    ]);
    expect(problems(['--num-experts', '8'])).toEqual([expect.stringMatching(/biases needs etp 1/)]);
    expect(problems(['--overlap-param-gather'])).toHaveLength(2);
    expect(problems(['--use-megatron-fsdp'])).toEqual([
      expect.stringMatching(/fsdp_dtensor/),
      expect.stringMatching(/CUDA_DEVICE_MAX_CONNECTIONS/),
    ]);
    // cp 3: the world, the batch over dp, 2·cp chunks and each cp rank's tokens over tp all break.
    expect(problems(['--context-parallel-size', '3'])).toEqual([
      expect.stringMatching(/world 16 is not a multiple/),
      expect.stringMatching(/global batch/),
      expect.stringMatching(/not a multiple of 2·cp/),
      expect.stringMatching(/do not split over tp/),
    ]);
    expect(problems(['--context-parallel-size', '2', '--cp-comm-type', 'ring'])).toEqual([
      expect.stringMatching(/cp_comm_type ring/),
    ]);
    // 16 heads over tp 2 leave 8 per rank, which cp 4 splits; 2 query groups leave 1, which it cannot.
    expect(problems(['--context-parallel-size', '4', '--cp-comm-type', 'a2a'])).toEqual([]);
    expect(
      problems([
        '--context-parallel-size',
        '4',
        '--cp-comm-type',
        'a2a',
        '--group-query-attention',
        '--num-query-groups',
        '2',
      ]),
    ).toEqual([expect.stringMatching(/a2a needs/)]);
    const moe = ['--num-experts', '8', '--disable-bias-linear'];
    expect(problems([...moe, '--expert-model-parallel-size', '3'])).toEqual([
      expect.stringMatching(/experts do not divide over ep/),
      expect.stringMatching(/etp·ep·pp/),
    ]);
    expect(problems([...moe, '--moe-layer-freq', '([0]*2+[1]*5)'])).toEqual([
      expect.stringMatching(/pattern length/),
    ]);
    expect(problems([...moe, '--moe-router-topk', '1'])).toEqual([expect.stringMatching(/pre-softmax/)]);
    expect(
      problems([...moe, '--expert-model-parallel-size', '2', '--overlap-moe-expert-parallel-comm']),
    ).toEqual([
      expect.stringMatching(/alltoall or flex/),
      expect.stringMatching(/virtual pipeline/),
      expect.stringMatching(/bf16 or fp16/),
    ]);
    expect(problems(['--multi-latent-attention', '--group-query-attention'])).toEqual([
      expect.stringMatching(/MLA with group query attention/),
    ]);
    expect(
      problems(['--multi-latent-attention', '--position-embedding-type', 'rope', '--rope-type', 'rope']),
    ).toEqual([expect.stringMatching(/MLA rope fusion needs YaRN/)]);
    expect(problems(['--swiglu', '--squared-relu'])).toEqual([expect.stringMatching(/together/)]);
    expect(problems(['--mtp-num-layers', '1', '--pipeline-model-parallel-layout', 'Et*4m|t*4L'])).toEqual([
      expect.stringMatching(/decoder layer after an MTP layer/),
      expect.stringMatching(/split over stages/),
    ]);
    expect(problems(['--mtp-num-layers', '1', '--pipeline-model-parallel-layout', 'Et*4|t*4mL'])).toEqual([]);
    const tp1 = ok.map((w, i) => (i === 1 ? '1' : w));
    expect(problems([], tp1)).toEqual([expect.stringMatching(/--sequence-parallel needs tp > 1/)]);
  });
});
