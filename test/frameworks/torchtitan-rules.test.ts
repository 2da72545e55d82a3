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
import type { TransformerSpec } from '../../src/schema/index.ts';
import { SMALL_LLAMA } from './torchtitan-cases.ts';
import { feedForwardWidth } from './torchtitan-oracle.ts';

const dims = (spec: Partial<TransformerSpec> = {}) =>
  resolveDims({ ...SMALL_LLAMA, ...spec }, { microBatch: 1, precision: 'bf16' });

/** FSDP (ZeRO-3) over dp 2, tp 2, a 1F1B pipeline of 2 stages, 8 microbatches: torchtitan runs it. */
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
  zero: 3,
  recompute: 'none',
  schedule: '1f1b',
  virtualStages: 1,
  microbatches: 8,
  rankMicroBatch: 1,
  globalBatch: 16,
  blocksPerStage: [4, 4],
  layouts: { kind: 'megatron' },
};
const reason = (shape: Partial<RunShape>) => {
  const verdict = torchtitan.runs({ ...base, ...shape });
  return verdict.ok ? null : verdict.reason;
};

describe('what torchtitan v0.2.2 runs', () => {
  it('runs the base configuration, and every dense model meshplan describes', () => {
    expect(reason({})).toBeNull();
    const gpt = dims({ activation: 'gelu', kvHeads: 16 });
    expect(torchtitan.builds(gpt)).toEqual({ ok: true });
    expect(torchtitan.builds(null).ok).toBe(false);
  });

  it('refuses MoE: its experts take every routed token, the plan drops beyond capacity', () => {
    const moe = dims({
      moe: { experts: 8, topK: 2, capacityFactor: 1.25, sharedExperts: 0, denseLayers: 0, dropless: false },
    });
    expect(torchtitan.builds(moe)).toEqual({
      ok: false,
      reason: expect.stringMatching(/capacity factor 1.25/),
    });
  });

  it('refuses DDP with tensor or pipeline parallelism, and runs it alone', () => {
    expect(reason({ zero: 0 })).toMatch(/DDP/);
    expect(reason({ zero: 0, tp: 1, pp: 1, dp: 8, blocksPerStage: [8] })).toBeNull();
  });

  it('refuses ZeRO-1, fp16, and TP or PP without FSDP (mixed precision off, float32)', () => {
    expect(reason({ zero: 1 })).toMatch(/no ZeRO-1/);
    expect(reason({ precision: 'fp16' })).toMatch(/not fp16/);
    expect(reason({ dp: 1, devices: 4 })).toMatch(/float32/);
    expect(reason({ dp: 1, devices: 4, zero: 0 })).toMatch(/float32/);
  });

  it('refuses ZeRO-2 with accumulation steps (FSDP2 regathers at each), not with one or under a pipeline', () => {
    const flat = { pp: 1, dp: 4, blocksPerStage: [8], zero: 2 as const };
    expect(reason({ ...flat, microbatches: 2 })).toMatch(/gathers the parameters again/);
    expect(reason({ ...flat, microbatches: 1 })).toBeNull();
    expect(reason({ zero: 2 })).toBeNull();
  });

  it('refuses tensor parallelism without sequence parallelism, a sequence not a multiple of 2·tp, split KV heads', () => {
    expect(reason({ sequenceParallel: false })).toMatch(/sequence parallelism/);
    expect(reason({ model: dims({ seqLen: 1026 }) })).toMatch(/multiple of 2 · tp = 4/);
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
    expect(reason({ ...interleaved, blocksPerStage: [3, 5] })).toMatch(/split into 2 equal model chunks/);
    // Not interleaved, an embedding-only first stage is a part with parameters.
    expect(reason({ blocksPerStage: [0, 8] })).toBeNull();
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

  it('overlaps tensor-parallel communication (async TP) only when asked', () => {
    expect(runtime({}).tensorParallelOverlap).toBe(false);
    expect(runtime({}, true).tensorParallelOverlap).toBe(true);
    expect(runtime({ tp: 1 }, true).tensorParallelOverlap).toBe(false);
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
