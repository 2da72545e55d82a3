import type { Cluster } from '../cluster/cluster.ts';
import { TENSOR_FLOPS_PER_EXPONENTIAL } from '../cluster/gpus/common.ts';
import type { GpuGeneration, GpuSpec, ModelSpec } from '../schema/index.ts';
import { KERNEL_LAUNCH_SEC, memoryBoundSec } from './kernel-rates.ts';

/*
 * FlashAttention's backward pass recomputes the scores (q·kᵀ) and runs four more contractions (dV,
 * dP, dQ, dK) against the forward's two: 2.5× the forward FLOPs, the ratio FlashAttention-2 uses to
 * report its backward throughput (Dao 2023, arXiv 2307.08691, §4.1). It reaches a lower share of
 * peak than the forward: up to 63% of A100's against 73% forward in the same paper, so the backward
 * runs at 63/73 of the forward's efficiency.
 */
const FLASH_BACKWARD_FLOPS_RATIO = 2.5;
const FLASH_BACKWARD_RELATIVE_EFFICIENCY = 63 / 73;

/**
 * FLOPs a fused attention kernel performs, given the FLOPs of the full score matrix over `keys` key
 * positions. A causal mask leaves the upper triangle of the score matrix unused, and FlashAttention
 * and cuDNN skip a 128 × 128 tile only when the mask covers it whole (Dao 2023 §3.1's block skipping):
 * a 128-row block of queries meets the key blocks at or before its own, the diagonal one computed in
 * full though half masked — 0.531 of the full matrix at 2k positions, 0.516 at 4k, 0.5002 at 256k.
 * Under a sliding window of `window` keys per query it meets only those of its band: the diagonal one
 * and ceil((window − 1) / 128) before it, fewer near the sequence's start. Without the key positions
 * (`keys` 0), the half. The graph counts the full matrix, as SC'21's formula does; Megatron-LM's MFU
 * (core_v0.19.0, megatron/training/training.py num_floating_point_operations) counts the causal half
 * ("/ 2  # causal mask"). The price follows what the kernel performs.
 */
export function performedAttentionFlops(
  fullFlops: number,
  causal: boolean,
  window: number | null = null,
  keys = 0,
): number {
  if (!causal) return fullFlops;
  if (keys <= 0) return fullFlops / 2;
  const queryBlocks = Math.ceil(keys / ATTENTION_BLOCK_ROWS);
  const band =
    window === null || window >= keys
      ? queryBlocks
      : Math.min(queryBlocks, Math.ceil((window - 1) / ATTENTION_BLOCK_ROWS) + 1);
  // Query block q meets min(q + 1, band) key blocks.
  const tiles = (band * (band + 1)) / 2 + (queryBlocks - band) * band;
  const share = (tiles * ATTENTION_BLOCK_ROWS * ATTENTION_BLOCK_ROWS) / (keys * keys);
  return fullFlops * Math.min(1, share);
}

/*
 * FlashAttention's grid: one thread block per 128 rows of queries (forward) or of keys (backward)
 * of every sequence and head, each block on one SM. FlashAttention-2 (Dao 2023, §3.2) parallelises
 * over batch, heads and sequence blocks; FlashAttention-3 (Shah et al. 2024, arXiv 2407.08608) runs
 * 128-row blocks for head dims of 64–256 on H100, one warp-specialised block per SM.
 */
const ATTENTION_BLOCK_ROWS = 128;

/** Thread blocks of a pass: sequences × heads (`rowsPerPosition`) × blocks of `positions` rows. */
export function attentionBlocks(rowsPerPosition: number, positions: number): number {
  return rowsPerPosition * Math.ceil(positions / ATTENTION_BLOCK_ROWS);
}

/**
 * How much longer the pass takes than its FLOPs at full occupancy: blocks run in waves of one per
 * SM, and a last wave part full costs a whole one. 1 without an SM count.
 */
export function attentionWaveFactor(blocks: number, smCount: number | undefined): number {
  if (smCount === undefined || blocks <= 0) return 1;
  return (Math.ceil(blocks / smCount) * smCount) / blocks;
}

/** Thread blocks of the forward (over query rows) and backward (over key rows) passes. */
export interface AttentionGrid {
  readonly forwardBlocks: number;
  readonly backwardBlocks: number;
}

/*
 * A fused kernel's speed depends on the head dim: its tiles are 128 query rows × head dim, so a short
 * head does less MMA work per byte of K and V it streams. The FlashAttention-3 paper's H100 figures
 * (Shah et al. 2024, BF16, 4k–16k tokens) put cuDNN's fused kernel at head dim 64 at 0.67–0.72 of its
 * head-dim-128 speed forward (causal 363–388 against 518–539 TFLOP/s, non-causal 408–413 against
 * 595–609) and 0.85–0.87 backward (266–395 against 305–465, the 512–2k tokens they show). Between 64
 * and 128 the share goes linearly in log2 of the head dim; at 128 and above it is 1 (the fit's own
 * models are 128; the paper's head-dim-256 figures are within 7% of it).
 */
const HEAD_DIM_64_SHARE = { forward: 0.7, backward: 0.86 } as const;

/** The fused kernel's speed at `headDim` over its speed at 128, forward and backward. */
export function headDimShare(headDim: number | undefined): { forward: number; backward: number } {
  if (headDim === undefined || headDim >= 128) return { forward: 1, backward: 1 };
  const t = Math.max(0, Math.min(1, Math.log2(headDim / 64)));
  return {
    forward: HEAD_DIM_64_SHARE.forward + t * (1 - HEAD_DIM_64_SHARE.forward),
    backward: HEAD_DIM_64_SHARE.backward + t * (1 - HEAD_DIM_64_SHARE.backward),
  };
}

/**
 * The softmax's exponentials a second on `gpu`: the figure it states (Blackwell Ultra's), else its
 * generation's dense 16-bit tensor peak over that generation's tensor FLOPs per exponential; none for
 * a GPU whose generation has no such figure (AMD's, or none named), whose tensor cores alone then bound
 * attention.
 */
export function softmaxExponentialsPerSec(gpu: GpuSpec): number | undefined {
  if (gpu.exponentialsPerSec !== undefined) return gpu.exponentialsPerSec;
  const flopsPerExponential =
    gpu.generation === undefined ? undefined : TENSOR_FLOPS_PER_EXPONENTIAL[gpu.generation];
  const peakTflops = gpu.peakTflops.bf16 ?? gpu.peakTflops.fp16;
  return flopsPerExponential === undefined ? undefined : (peakTflops * 1e12) / flopsPerExponential;
}

export interface PassSec {
  readonly forwardSec: number;
  readonly backwardSec: number;
}

/**
 * One fused attention kernel on one device, forward and backward. `performedFlops` are the forward's;
 * `bytes` what the forward reads and writes (q, k, v, the output). The backward reads q, k, v, the
 * output and its gradient and writes the three input gradients: about twice the forward's bytes.
 * `headDim` (undefined: 128's speed) scales both passes by `headDimShare`.
 *
 * `performedScores`, the score elements those FLOPs compute, each cost the softmax one exponential on
 * the special-function units, forward and again in the backward, which recomputes the probabilities
 * (Dao 2023, §3.1.2). The units run beside the tensor cores, so a pass takes the longer of the two at
 * the kernel's share of each: on H100 a head dim of 128 gives the tensor cores twice the exponentials'
 * time (FlashAttention-3's 989 TFLOP/s against 3.9 T exponentials), on B200 the same time, and a head
 * dim of 64 there leaves the forward bound by its exponentials (FlashAttention-4, arXiv 2603.05451).
 */
export function flashAttentionSec(
  performedFlops: number,
  bytes: number,
  grid: AttentionGrid,
  peakFlopsPerSec: number,
  gpu: GpuSpec,
  headDim?: number,
  performedScores = 0,
): PassSec {
  const share = headDimShare(headDim);
  const fullSpeed = peakFlopsPerSec * gpu.efficiency.attention;
  const forwardFlopsPerSec = fullSpeed * share.forward;
  const backwardFlopsPerSec = fullSpeed * FLASH_BACKWARD_RELATIVE_EFFICIENCY * share.backward;
  const exponentials = softmaxExponentialsPerSec(gpu);
  const exponentialsSec =
    exponentials === undefined ? 0 : performedScores / (exponentials * gpu.efficiency.attention);
  const forwardComputeSec =
    Math.max(performedFlops / forwardFlopsPerSec, exponentialsSec) *
    attentionWaveFactor(grid.forwardBlocks, gpu.smCount);
  const backwardComputeSec =
    Math.max((FLASH_BACKWARD_FLOPS_RATIO * performedFlops) / backwardFlopsPerSec, exponentialsSec) *
    attentionWaveFactor(grid.backwardBlocks, gpu.smCount);
  return {
    forwardSec: Math.max(forwardComputeSec, memoryBoundSec(bytes, gpu)) + KERNEL_LAUNCH_SEC,
    backwardSec: Math.max(backwardComputeSec, memoryBoundSec(2 * bytes, gpu)) + KERNEL_LAUNCH_SEC,
  };
}

/*
 * FlashAttention-2's kernels predate Hopper's warpgroup MMA and TMA. `efficiency.attention` is fitted
 * on cuDNN's fused kernels, which Transformer Engine runs; the FlashAttention-3 paper (Shah et al.
 * 2024, arXiv 2407.08608) measures both on H100 SXM5 in BF16 at head dim 128: forward, causal, 4k–16k
 * tokens, cuDNN 518–539 TFLOP/s against FlashAttention-2's 319–335; backward 499–516 against
 * 310–322 — 1.59–1.66× at every length from 2k, causal or not. A 'flash2' model's attention therefore
 * reaches 1/1.6 of the fused kernel's share on Hopper. On Blackwell, where cuDNN runs the fifth
 * generation's tensor-core instructions and FlashAttention-2 does not, NVIDIA's own B200 benchmark
 * (NVIDIA/cudnn-frontend benchmark/sdpa_benchmark_training/artifacts/
 * sdpa_bf16_benchmark_results_NVIDIA_B200.csv: PyTorch's cuDNN backend against flash-attn 2.7.4,
 * BF16, causal, GQA, head dim 128) has cuDNN 2.5× faster at 4k tokens and 2.9–3.3× from 8k to 128k,
 * forward and backward alike: 1/3. On Ampere and older FlashAttention-2 is the generation's own
 * kernel, as AMD's is on CDNA 3.
 */
const FLASH_ATTENTION_2_SHARE: Partial<Record<GpuGeneration, number>> = {
  hopper: 1 / 1.6,
  blackwell: 1 / 3,
};

/** The share of the fused kernel's attention efficiency FlashAttention-2 reaches on a generation. */
export function flashAttention2Share(generation: GpuGeneration | undefined): number {
  return (generation !== undefined ? FLASH_ATTENTION_2_SHARE[generation] : undefined) ?? 1;
}

/**
 * The cluster as the model's attention kernels run on it: a 'flash2' model gets FlashAttention-2's
 * share of its GPU's attention efficiency, by the GPU's generation (catalog GPUs name theirs; a
 * described GPU without one keeps its own efficiency).
 */
export function withAttentionKernels(cluster: Cluster, model: ModelSpec): Cluster {
  if (model.kind !== 'transformer' || model.attention !== 'flash2') return cluster;
  const share = flashAttention2Share(cluster.gpu.generation);
  if (share === 1) return cluster;
  const efficiency = { ...cluster.gpu.efficiency, attention: cluster.gpu.efficiency.attention * share };
  return { ...cluster, gpu: { ...cluster.gpu, efficiency } };
}
