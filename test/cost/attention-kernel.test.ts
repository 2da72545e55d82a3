/**
 * Fused attention priced on the FLOPs it performs (DESIGN.md §4.1), against closed forms: the full
 * score matrix 4·b·s²·h forward, the causal half, Megatron-LM's MFU term, and FlashAttention-2's
 * backward of 2.5× the forward FLOPs at 63% of A100's peak against 73% forward, in waves of 128-row
 * blocks over the SMs.
 */
import { describe, expect, it } from 'vitest';
import { findGpu } from '../../src/cluster/catalog.ts';
import { resolveCluster } from '../../src/cluster/cluster.ts';
import { logicalMesh } from '../../src/cluster/mesh.ts';
import {
  attentionWaveFactor,
  flashAttention2Share,
  flashAttentionSec,
  headDimShare,
  performedAttentionFlops,
  softmaxExponentialsPerSec,
} from '../../src/cost/attention-kernel.ts';
import { KERNEL_LAUNCH_SEC } from '../../src/cost/kernel-rates.ts';
import { costContext, costOfOp } from '../../src/cost/op-cost.ts';
import { parseGraph } from '../../src/graph/index.ts';
import { requestCluster } from '../../src/planner/request.ts';
import { ClusterSpec, PlanRequest } from '../../src/schema/index.ts';
import { build } from '../model/helpers.ts';

const GPT3 = { layers: 2, hidden: 12288, heads: 96, vocab: 51200, seqLen: 2048 } as const;
const b = 1;
const s = GPT3.seqLen;
const h = GPT3.hidden;

function blockGraph(fields: Record<string, unknown>) {
  const model = build({ ...GPT3, ...fields }, b);
  return parseGraph(model.layers.find((l) => l.kind === 'block')!.graph);
}

/**
 * The FlashAttention-3 paper's H100 SXM5 figures (Shah et al. 2024, BF16), TFLOP/s, each series the
 * same sequence lengths: 4k, 8k, 16k tokens (forward; backward at head dim 128), and 512, 1k, 2k
 * (backward at head dim 64, the lengths the paper shows next to 128's).
 */
const FA3_PAPER = {
  cudnn128: { causal: [518, 529, 539], full: [609, 600, 595], backward: [499, 518, 516] },
  flash2_128: { causal: [319, 333, 335], full: [368, 370, 370], backward: [310, 318, 322] },
  cudnn64: { causal: [363, 379, 388], full: [408, 412, 413], backwardShort: [266, 348, 395] },
  cudnn128Short: { backward: [305, 408, 465] },
} as const;

/** Each published a[i] ÷ b[i] is within `tolerance` (relative) of the modelled ratio. */
function expectRatios(modelled: number, a: readonly number[], b: readonly number[], tolerance: number): void {
  for (const [i, x] of a.entries()) expect(Math.abs(modelled / (x / b[i]!) - 1)).toBeLessThan(tolerance);
}

describe('flash attention', () => {
  const graph = blockGraph({});
  const op = graph.ops.find((o) => o.kind === 'attention')!;

  it('counts the full score matrix and is marked causal', () => {
    expect(op.flops).toBe(4 * b * s * s * h);
    expect(op.causal).toBe(true);
  });

  it("performs the causal half, which is what Megatron-LM core_v0.19.0's MFU counts", () => {
    const performed = performedAttentionFlops(op.flops, op.causal);
    expect(performed).toBe(2 * b * s * s * h);
    // training.py: forward-backward 3 × FMA 2 × h × s² / 2 (causal) × 2 (QKᵀ and PV), per sequence.
    const megatronTerm = ((3 * 2 * h) / 2) * 2 * s * s * b;
    expect(3 * performed).toBe(megatronTerm);
    expect(performedAttentionFlops(op.flops, false)).toBe(op.flops);
  });

  it('computes the diagonal tiles whole: 16 blocks of 128 positions meet 136 tiles, not 128', () => {
    // 2,048 positions: query block q meets key blocks 0..q, 16 · 17 / 2 = 136 of the 256 tiles.
    expect(performedAttentionFlops(op.flops, true, null, s) / op.flops).toBeCloseTo(136 / 256, 15);
    // The share tends to the half as the sequence grows: 0.5002 at 256k positions.
    expect(performedAttentionFlops(1, true, null, 262144)).toBeCloseTo((2048 * 2049) / 2 / 2048 ** 2, 15);
    // A sequence shorter than a block still runs one whole tile (the full matrix, no more).
    expect(performedAttentionFlops(1, true, null, 100)).toBe(1);
  });

  it('runs forward at efficiency.attention of the peak and backward 2.5× the FLOPs at 63/73 of it', () => {
    const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'H100-80GB', nodes: 1, gpusPerNode: 1 }));
    const ctx = costContext(graph, logicalMesh(cluster, [1, 1]), cluster.gpu, 'none');
    const cost = costOfOp(op, { split: [null, null] }, false, ctx);
    const forwardFlopsPerSec = 989e12 * cluster.gpu.efficiency.attention;
    // The causal half and the diagonal tiles' other halves: 136 of 256 tiles (above).
    const performed = (4 * b * s * s * h * 136) / 256;
    // 96 heads × 2048 / 128 rows = 1,536 blocks in 12 waves of H100's 132 SMs (the last 84% full).
    const waves = (12 * 132) / 1536;
    expect(cost.forwardSec).toBeCloseTo((performed / forwardFlopsPerSec) * waves + KERNEL_LAUNCH_SEC, 12);
    expect(cost.backwardSec).toBeCloseTo(
      ((2.5 * performed) / ((forwardFlopsPerSec * 63) / 73)) * waves + KERNEL_LAUNCH_SEC,
      12,
    );
  });

  it('runs its blocks in waves over the SMs: one block past a full wave doubles the time', () => {
    expect(attentionWaveFactor(108, 108)).toBe(1);
    expect(attentionWaveFactor(109, 108)).toBeCloseTo(216 / 109, 12);
    expect(attentionWaveFactor(54, 108)).toBe(2);
    // Split 8 ways over heads, one sequence: 12 heads × 16 blocks = 192 blocks, 2 waves on 108 SMs.
    const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 }));
    const ctx = costContext(graph, logicalMesh(cluster, [1, 8]), cluster.gpu, 'none');
    const split = costOfOp(op, { split: [null, 'n'] }, false, ctx);
    const performed = (4 * b * s * s * h * 136) / 256 / 8;
    const flopsPerSec = 312e12 * cluster.gpu.efficiency.attention;
    expect(split.forwardSec).toBeCloseTo((performed / flopsPerSec) * (216 / 192) + KERNEL_LAUNCH_SEC, 12);
  });

  it('eager attention computes every score: its contractions are GEMMs over the full matrix', () => {
    const eager = blockGraph({ attention: 'eager' });
    const scores = eager.ops.find((o) => o.name.endsWith('attn_scores'))!;
    expect(scores.kind).toBe('matmul');
    expect(scores.causal).toBe(false);
    expect(scores.flops).toBe(2 * b * s * s * h);
  });
});

describe('FlashAttention-2 kernels (model.attention "flash2")', () => {
  const request = (gpu: string | object, attention: string) =>
    PlanRequest.parse({
      model: { kind: 'transformer', ...GPT3, attention },
      cluster: { gpu, nodes: 1, gpusPerNode: 8 },
      training: { globalBatch: 8, precision: 'bf16', optimizer: 'adam' },
    });
  const attentionEfficiency = (gpu: string | object, attention: string) =>
    requestCluster(request(gpu, attention)).gpu.efficiency.attention;

  it('reach 1/1.6 of the fused kernel on Hopper, 1/3 on Blackwell', () => {
    expect(attentionEfficiency('H100-80GB', 'flash2')).toBeCloseTo(
      attentionEfficiency('H100-80GB', 'flash') / 1.6,
      12,
    );
    expect(attentionEfficiency('B200-180GB', 'flash2')).toBeCloseTo(
      attentionEfficiency('B200-180GB', 'flash') / 3,
      12,
    );
  });

  it('match NVIDIA’s B200 cuDNN : FlashAttention-2 pairs from 8k tokens within 10% (cudnn-frontend, causal GQA)', () => {
    // TFLOP/s at 8k, 16k, 32k, 64k and 128k tokens, forward and backward: pyt_cudnn against flash_attention.
    const cudnn = { forward: [1171, 1332, 1419, 1382, 1355], backward: [943, 1075, 1109, 1073, 1048] };
    const flash2 = { forward: [400, 425, 436, 441, 444], backward: [318, 337, 346, 349, 348] };
    for (const pass of ['forward', 'backward'] as const)
      expectRatios(1 / flashAttention2Share('blackwell'), cudnn[pass], flash2[pass], 0.1);
  });

  it('match every published cuDNN : FlashAttention-2 pair on H100 within 4% (Shah et al. 2024, head dim 128)', () => {
    const { cudnn128: cudnn, flash2_128: flash2 } = FA3_PAPER;
    for (const pass of ['causal', 'full', 'backward'] as const)
      expectRatios(1 / flashAttention2Share('hopper'), cudnn[pass], flash2[pass], 0.04);
  });

  it('are the generation’s own kernels on Ampere; a described GPU goes by the generation it names', () => {
    expect(attentionEfficiency('A100-80GB', 'flash2')).toBe(attentionEfficiency('A100-80GB', 'flash'));
    const { generation, ...unnamed } = { ...findGpu('H100-80GB')!.spec, name: 'my-h100' };
    expect(generation).toBe('hopper');
    const named = { ...unnamed, generation };
    expect(attentionEfficiency(named, 'flash2')).toBeCloseTo(attentionEfficiency(named, 'flash') / 1.6, 12);
    expect(attentionEfficiency(unnamed, 'flash2')).toBe(attentionEfficiency(unnamed, 'flash'));
  });
});

describe('the head dim (FlashAttention-3 paper, cuDNN on H100)', () => {
  it('a 64-wide head runs at 0.7 of a 128-wide one forward, 0.86 backward; 128 and wider at full speed', () => {
    expect(headDimShare(64)).toEqual({ forward: 0.7, backward: 0.86 });
    expect(headDimShare(128)).toEqual({ forward: 1, backward: 1 });
    expect(headDimShare(256)).toEqual({ forward: 1, backward: 1 });
    expect(headDimShare(undefined)).toEqual({ forward: 1, backward: 1 });
    // Halfway in log2 between 64 and 128.
    expect(headDimShare(Math.SQRT2 * 64).forward).toBeCloseTo(0.85, 12);
    expect(headDimShare(32)).toEqual(headDimShare(64));
  });

  it('matches every published head-dim-64 : head-dim-128 pair within 5% (0.7 is their mean forward)', () => {
    const { cudnn64, cudnn128, cudnn128Short } = FA3_PAPER;
    const share = headDimShare(64);
    expectRatios(share.forward, cudnn64.causal, cudnn128.causal, 0.05);
    expectRatios(share.forward, cudnn64.full, cudnn128.full, 0.05);
    expectRatios(share.backward, cudnn64.backwardShort, cudnn128Short.backward, 0.05);
  });

  it('prices a 64-wide head’s kernel by those shares (same FLOPs, same grid)', () => {
    const gpu = findGpu('H100-80GB')!.spec;
    const grid = { forwardBlocks: 132 * 40, backwardBlocks: 132 * 40 };
    const at = (d: number) => flashAttentionSec(1e12, 1e6, grid, 989e12, gpu, d);
    const [d64, d128] = [at(64), at(128)];
    const launch = KERNEL_LAUNCH_SEC;
    expect((d128.forwardSec - launch) / (d64.forwardSec - launch)).toBeCloseTo(0.7, 9);
    expect((d128.backwardSec - launch) / (d64.backwardSec - launch)).toBeCloseTo(0.86, 9);
  });
});

describe("the softmax's exponentials (special-function units beside the tensor cores)", () => {
  const spec = (id: string) => findGpu(id)!.spec;

  const rate = (id: string) => softmaxExponentialsPerSec(spec(id))!;

  it('are 16 a clock per SM to Blackwell, 32 on Blackwell Ultra: FlashAttention-3’s 3.9 T a second on H100', () => {
    // Shah et al. 2024: "989 TFLOPS of FP16 matmul but only 3.9 TFLOPS of special functions".
    expect(rate('H100-80GB') / 3.9e12).toBeCloseTo(1, 1);
    // 16 a clock on each SM at the clock of the whitepapers' tensor peaks: H100 132 SMs at 1.83 GHz,
    // A100 108 at 1.41, V100 80 at 1.53.
    expect(rate('H100-80GB') / (132 * 16 * 1.83e9)).toBeCloseTo(1, 3);
    expect(rate('A100-80GB') / (108 * 16 * 1.41e9)).toBeCloseTo(1, 3);
    expect(rate('V100-32GB') / (80 * 16 * 1.53e9)).toBeCloseTo(1, 2);
    expect(rate('H800-80GB')).toBe(rate('H100-80GB'));
    // B200's tensor cores doubled per SM and its exponentials did not (FlashAttention-4): one
    // exponential per 512 BF16 FLOPs, against H100's 256; Blackwell Ultra doubles them back.
    expect((spec('B200-180GB').peakTflops.bf16! * 1e12) / rate('B200-180GB')).toBeCloseTo(512, 6);
    expect((spec('GB200-186GB').peakTflops.bf16! * 1e12) / rate('GB200-186GB')).toBeCloseTo(512, 6);
    expect(rate('B300-288GB')).toBeCloseTo(2 * rate('B200-180GB'), -6);
    expect(rate('GB300-288GB')).toBeCloseTo(2 * rate('GB200-186GB'), -6);
    // AMD's are not priced so: its tensor cores alone bound attention.
    expect(softmaxExponentialsPerSec(spec('MI300X-192GB'))).toBeUndefined();
  });

  it('a described GPU without the figure gets its named generation’s, or none', () => {
    const h100 = spec('H100-80GB');
    expect(softmaxExponentialsPerSec({ ...h100, generation: 'hopper' })).toBe(rate('H100-80GB'));
    expect(softmaxExponentialsPerSec({ ...h100, generation: 'blackwell' })).toBe(rate('H100-80GB') / 2);
    const { generation: _, ...unnamed } = h100;
    expect(softmaxExponentialsPerSec(unnamed)).toBeUndefined();
    // A stated figure wins over the generation's.
    expect(softmaxExponentialsPerSec({ ...h100, exponentialsPerSec: 1e12 })).toBe(1e12);
  });

  /** A causal kernel's passes at head dim `d` (q·k and p·v: 4·d FLOPs a score) on `id`, launch left out. */
  const passes = (id: string, d: number, scores = 1e12) => {
    const gpu = spec(id);
    const grid = { forwardBlocks: gpu.smCount! * 100, backwardBlocks: gpu.smCount! * 100 };
    const at = flashAttentionSec(4 * d * scores, 1e6, grid, gpu.peakTflops.bf16! * 1e12, gpu, d, scores);
    return { forward: at.forwardSec - KERNEL_LAUNCH_SEC, backward: at.backwardSec - KERNEL_LAUNCH_SEC, gpu };
  };

  it('bind B200’s forward at head dim 64: the longer of its tensor-core time and its exponentials', () => {
    const { forward, backward, gpu } = passes('B200-180GB', 64);
    const exponentialsSec = 1e12 / (softmaxExponentialsPerSec(gpu)! * gpu.efficiency.attention);
    const tensorSec = (4 * 64 * 1e12) / (gpu.peakTflops.bf16! * 1e12 * gpu.efficiency.attention * 0.7);
    expect(exponentialsSec).toBeGreaterThan(tensorSec);
    expect(forward).toBeCloseTo(exponentialsSec, 12);
    // The backward recomputes them once against 2.5× the FLOPs: its tensor cores still bind.
    expect(backward).toBeGreaterThan(exponentialsSec);
  });

  it('leave head dim 128 and H100 as the tensor cores price them; Blackwell Ultra’s head dim 64 too', () => {
    const tensorOnly = (id: string, d: number) => {
      const gpu = spec(id);
      const grid = { forwardBlocks: gpu.smCount! * 100, backwardBlocks: gpu.smCount! * 100 };
      return (
        flashAttentionSec(4 * d * 1e12, 1e6, grid, gpu.peakTflops.bf16! * 1e12, gpu, d).forwardSec -
        KERNEL_LAUNCH_SEC
      );
    };
    for (const [id, d] of [
      ['H100-80GB', 64],
      ['H100-80GB', 128],
      ['B200-180GB', 128],
      ['GB300-288GB', 64],
    ] as const)
      expect(passes(id, d).forward).toBeCloseTo(tensorOnly(id, d), 12);
    // GB200 and GB300 have the same tensor peaks: at head dim 64 the doubled units are the difference.
    expect(passes('GB200-186GB', 64).forward / passes('GB300-288GB', 64).forward).toBeCloseTo(2 * 0.7, 6);
  });

  it('count one per score of the graph’s attention op, latent attention’s too (its rotary query is a second operand)', () => {
    const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'B200-180GB', nodes: 1, gpusPerNode: 1 }));
    const forwardOf = (fields: Record<string, unknown>, gpu = cluster) => {
      const graph = blockGraph(fields);
      const ctx = costContext(graph, logicalMesh(gpu, [1, 1]), gpu.gpu, 'none');
      const op = graph.ops.find((o) => o.kind === 'attention')!;
      return costOfOp(op, { split: [null, null] }, false, ctx).forwardSec - KERNEL_LAUNCH_SEC;
    };
    const gpu = cluster.gpu;
    // Causal: the kernel performs the 136 of 256 tiles at or below the diagonal of each of the 96 heads.
    const scores = (96 * s * s * 136) / 256;
    const exponentialsSec = scores / (softmaxExponentialsPerSec(gpu)! * gpu.efficiency.attention);
    const waves = attentionWaveFactor(96 * (s / 128), gpu.smCount);
    expect(forwardOf({ heads: 96, headDim: 64, hidden: 96 * 64 })).toBeCloseTo(exponentialsSec * waves, 12);
    // DeepSeek-style latent attention, 128 + 64 wide queries and 128 wide values: 640 FLOPs a score,
    // its tensor cores bind; read as 64 × as many keys (the rotary dim taken for a key position), the
    // exponentials would have.
    const mla = {
      heads: 96,
      mla: { qLoraRank: 1536, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 },
    };
    const tensorSec = (scores * 640) / (gpu.peakTflops.bf16! * 1e12 * gpu.efficiency.attention);
    expect(forwardOf(mla)).toBeCloseTo(tensorSec * waves, 12);
  });
});

/**
 * Tiles of 128 query rows × 128 keys that meet a causal band of `window` keys per query over `keys`
 * positions, counted one by one: what a block-skipping kernel computes.
 */
function bandTiles(window: number, keys: number): number {
  const tile = 128;
  let tiles = 0;
  for (let q = 0; q < keys / tile; q++) {
    for (let k = 0; k <= q; k++) {
      // The tile holds queries q·128 … q·128+127 and keys k·128 … k·128+127; some pair in the band?
      const nearest = q * tile - (k * tile + tile - 1); // smallest query − key distance in the tile
      if (Math.max(0, nearest) < window) tiles++;
    }
  }
  return tiles;
}

describe('sliding-window attention (model.slidingWindow)', () => {
  it('performs the 128 × 128 tiles that meet the band, as block-skipping kernels do (counted tile by tile)', () => {
    const keys = 8192;
    const full = 1e15;
    for (const window of [1, 128, 129, 1000, 4096, 8000]) {
      const counted = (bandTiles(window, keys) * 128 * 128) / (keys * keys);
      expect(performedAttentionFlops(full, true, window, keys) / full).toBeCloseTo(counted, 12);
    }
  });

  it('a window as long as the sequence is the causal mask; a bidirectional kernel ignores it', () => {
    const causal = performedAttentionFlops(1e15, true, null, 8192);
    // 64 blocks: 64 · 65 / 2 tiles of 4,096.
    expect(causal).toBeCloseTo((1e15 * 2080) / 4096, 0);
    expect(performedAttentionFlops(1e15, true, 8192, 8192)).toBe(causal);
    expect(performedAttentionFlops(1e15, true, 9000, 8192)).toBe(causal);
    expect(performedAttentionFlops(1e15, false, 128, 8192)).toBe(1e15);
  });

  it('reads the key positions from the einsum, whatever letter a hand-written graph gives them', () => {
    const seq = 16384;
    const graphOf = (window: number | null) =>
      parseGraph({
        tensors: ['q', 'k', 'v', 'o'].map((name) => ({ name, shape: [1, seq, 32, 128] })),
        ops: [
          {
            name: 'attn',
            kind: 'attention',
            einsum: 'bqnd,bknd,bknd->bqnd',
            inputs: ['q', 'k', 'v'],
            output: 'o',
            causal: true,
            ...(window === null ? {} : { window }),
          },
        ],
      });
    const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'H100-80GB', nodes: 1, gpusPerNode: 1 }));
    const secOf = (window: number | null) => {
      const graph = graphOf(window);
      const ctx = costContext(graph, logicalMesh(cluster, [1, 1]), cluster.gpu, 'none');
      return costOfOp(graph.ops[0]!, { split: [null, null] }, false, ctx).forwardSec - KERNEL_LAUNCH_SEC;
    };
    const share = bandTiles(1024, seq) / bandTiles(seq, seq);
    expect(secOf(1024)).toBeCloseTo(share * secOf(null), 12);
  });

  it("windows every block but each second's (gpt-oss), whose attention then costs a fraction of the full one", () => {
    const seqLen = 16384;
    const model = build(
      { ...GPT3, layers: 4, seqLen, slidingWindow: { size: 2048, fullAttentionEvery: 2 } },
      b,
    );
    const blocks = model.layers.filter((l) => l.kind === 'block');
    const attention = (i: number) => parseGraph(blocks[i]!.graph).ops.find((o) => o.kind === 'attention')!;
    expect([0, 1, 2, 3].map((i) => attention(i).window)).toEqual([2048, null, 2048, null]);
    // The windowed and the full blocks are two graphs: two ILP solves serve the four blocks.
    expect(new Set(blocks.map((l) => l.signature)).size).toBe(2);
    const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'H100-80GB', nodes: 1, gpusPerNode: 1 }));
    const secOf = (i: number) => {
      const graph = parseGraph(blocks[i]!.graph);
      const ctx = costContext(graph, logicalMesh(cluster, [1, 1]), cluster.gpu, 'none');
      return costOfOp(attention(i), { split: [null, null] }, false, ctx).forwardSec;
    };
    // The band's tiles against the causal mask's, both compute-bound at this length.
    const share = bandTiles(2048, seqLen) / bandTiles(seqLen, seqLen);
    expect(secOf(0) - KERNEL_LAUNCH_SEC).toBeCloseTo(share * (secOf(1) - KERNEL_LAUNCH_SEC), 12);
  });
});
