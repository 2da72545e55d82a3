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
  recompute: 'none',
  schedule: '1f1b',
  virtualStages: 1,
  microbatches: 8,
  rankMicroBatch: 1,
  globalBatch: 64,
  blocksPerStage: [8, 8],
  layouts: { kind: 'megatron' },
};

const verdict = (changes: Partial<RunShape>) => megatron.runs({ ...base, ...changes });
const reason = (changes: Partial<RunShape>) => {
  const v = verdict(changes);
  return v.ok ? null : v.reason;
};

describe('megatron.runs', () => {
  it('runs a Llama-style plan, and ZeRO 0–3 on it (Megatron-FSDP has no pipeline check in validate_args)', () => {
    for (const zero of [0, 1, 2, 3] as const) expect(verdict({ zero })).toEqual({ ok: true });
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

  it('interleaving: pp > 1, microbatches in groups of pp, equal chunks per stage', () => {
    expect(reason({ virtualStages: 2, schedule: 'interleaved' })).toBeNull();
    expect(reason({ virtualStages: 2, pp: 1, dp: 16, blocksPerStage: [16] })).toMatch(/needs pipeline/);
    expect(
      reason({ virtualStages: 2, pp: 4, dp: 4, microbatches: 6, globalBatch: 24, blocksPerStage: null }),
    ).toMatch(/microbatches per step \(6\) to be a multiple of pp = 4/);
    expect(reason({ virtualStages: 2, blocksPerStage: [7, 9] })).toMatch(/2 equal model chunks .* 7 blocks/);
    expect(reason({ virtualStages: 2, blocksPerStage: null })).toBeNull();
  });

  it('the global batch is micro batch × microbatches × dp', () => {
    expect(reason({ globalBatch: 65 })).toMatch(/not the global batch of 65/);
  });
});

describe('megatron.runtime', () => {
  it('overlaps the gradient reduction unless asked not to (--overlap-grad-reduce)', () => {
    expect(megatron.runtime(base, {}).gradientReduction).toBe('overlapped');
    expect(megatron.runtime(base, { overlapGradReduce: false }).gradientReduction).toBe('after-backward');
  });

  it('overlaps tensor-parallel collectives only when asked, and only with sequence parallelism', () => {
    expect(megatron.runtime(base, {}).tensorParallelOverlap).toBe(false);
    expect(megatron.runtime(base, { overlapTensorParallelComm: true }).tensorParallelOverlap).toBe(true);
    const noSp = { ...base, sequenceParallel: false };
    expect(megatron.runtime(noSp, { overlapTensorParallelComm: true }).tensorParallelOverlap).toBe(false);
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
    const tp1 = ok.map((w, i) => (i === 1 ? '1' : w));
    expect(problems([], tp1)).toEqual([expect.stringMatching(/--sequence-parallel needs tp > 1/)]);
  });
});
