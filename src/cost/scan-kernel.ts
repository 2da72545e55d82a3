import type { GraphOp } from '../graph/graph.ts';
import type { GpuSpec } from '../schema/index.ts';
import type { PassSec } from './attention-kernel.ts';
import type { OpShare } from './compute.ts';
import { localSize } from './gemm.ts';
import { KERNEL_LAUNCH_SEC, memoryBoundSec, tensorPeakFlopsPerSec } from './kernel-rates.ts';

/** Bytes of a chunk state's element: the SSD kernels carry states in fp32. */
const STATE_BYTES = 4;
/**
 * Kernels of the fused forward (mamba_split_conv1d_scan_combined): the causal convolution, then the
 * SSD's chunk cumsum, chunk scores (C·Bᵀ), chunk states, state passing and chunk scan.
 */
const FORWARD_KERNELS = 6;
/** Its backward: the convolution and the chunk states again (not kept), and about two kernels per forward one. */
const BACKWARD_KERNELS = 14;
/**
 * Passes over the chunk states: the chunk-state kernel writes them, state passing reads and rewrites
 * them, the chunk scan reads them.
 */
const STATE_PASSES = 4;

/*
 * The SSD's kernels work chunk by chunk on small tiles (a chunk's scores, one head's state) and reach
 * a small share of HBM bandwidth, unlike the streaming kernels memoryBoundSec prices. Measured on the
 * kernel Megatron-LM runs: TileLang's chunk-scan benchmark (tile-ai/tilelang benchmark/mamba2,
 * README.md and mamba_benchmark_result.png, H800 SXM) times mamba_ssm 2.2.6's Triton chunk scan
 * (_chunk_scan_fwd) beside its own autotuned kernel on 8 × 16,384 tokens of 80 heads of 64, state
 * 128, one group, chunks of 256: TileLang's takes 2.531 ms (135.7 TFLOP/s, tabulated) and the chart
 * puts Triton's at 90.6 TFLOP/s (its bar's height read against TileLang's tabulated one), the same
 * FLOPs in 2.531 × 135.7 / 90.6 = 3.79 ms. The chunk scan's compulsory traffic a token — x and the
 * output (10,240 bytes each), the previous chunk's states (5,120), the chunk scores (512), C (256),
 * the decays and dt (320), all fp16 — is 26,688 bytes, 3.50 GB in all: 0.92 TB/s, 28% of the H800's
 * 3.35 TB/s (its 3.4e11 FLOPs run at 9% of the tensor cores' peak, so the bytes, not the FLOPs, are
 * what it falls short on). Every SSD kernel of mamba_ssm is priced at that share; the causal
 * convolution streams at the achievable rate (causal-conv1d's backward moves its bytes at 80–85% of
 * HBM bandwidth, Dao-AILab/causal-conv1d pull request 88).
 */
/** TileLang's chunk scan on the benchmark's shapes, seconds (README.md's table). */
const TILELANG_CHUNK_SCAN_SEC = 2.531e-3;
/** Triton's chunk scan on the same shapes: the same FLOPs at 90.6 TFLOP/s against TileLang's 135.7. */
const TRITON_CHUNK_SCAN_SEC = (TILELANG_CHUNK_SCAN_SEC * 135.711) / 90.6;
export const SSD_HBM_SHARE = (26_688 * 8 * 16_384) / TRITON_CHUNK_SCAN_SEC / 3.35e12;

/** Time the SSD's kernels take to move `bytes` at their share of HBM bandwidth (no launch). */
function ssdBoundSec(bytes: number, gpu: GpuSpec): number {
  return bytes / (gpu.hbmGBps * 1e9 * SSD_HBM_SHARE);
}

/**
 * One device's share of a `scan` op (Mamba-2's fused convolution and SSD scan, OpSpec.scan), priced
 * as its kernels run. The causal convolution streams the packed input and writes x, B and C at the
 * achievable HBM rate. The SSD's kernels then run their contractions on the tensor cores at the GEMM
 * share of the peak, against the bytes they move at their own measured share of HBM bandwidth
 * (SSD_HBM_SHARE): the convolution's output read back, each chunk's fp32 states (heads × headDim ×
 * stateDim) over their four passes, each group's chunk scores, and the output. The backward first
 * redoes the convolution and the chunk states the forward did not keep (the memory-efficient path),
 * then computes two gradients for each forward contraction: three times the forward FLOPs, twice
 * each kernel's bytes, and the convolution writes the input's gradient.
 */
export function scanKernelSec(op: GraphOp, share: OpShare, gpu: GpuSpec): PassSec {
  const recurrence = op.scan!;
  const out = op.einsum.output;
  const headsLetter = out.at(-2)!;
  const headDim = op.dimSize[out.at(-1)!] ?? 1;
  const totalHeads = op.dimSize[headsLetter] ?? 1;
  const heads = localSize(op, headsLetter, share.split, share.axisSizes);
  let tokens = 1;
  for (const l of out.slice(0, -2)) tokens *= localSize(op, l, share.split, share.axisSizes);
  const groups = (recurrence.groups * heads) / totalHeads;
  const chunks = tokens / recurrence.chunkSize;
  const stateBytes = STATE_PASSES * chunks * heads * headDim * recurrence.stateDim * STATE_BYTES;
  const scoreBytes = 2 * chunks * groups * recurrence.chunkSize ** 2 * STATE_BYTES;
  // The convolution's output: x, B and C of every token (headDim a head and the groups' 2·N each).
  const convOutputBytes = tokens * (heads * headDim + 2 * groups * recurrence.stateDim) * 2;
  const convBytes = share.inputBytes + convOutputBytes;
  const ssdBytes = convOutputBytes + stateBytes + scoreBytes + share.outputBytes;
  const achieved = tensorPeakFlopsPerSec(gpu, share.dtype) * gpu.efficiency.matmul;
  return {
    forwardSec:
      memoryBoundSec(convBytes, gpu) +
      Math.max(share.flops / achieved, ssdBoundSec(ssdBytes, gpu)) +
      FORWARD_KERNELS * KERNEL_LAUNCH_SEC,
    backwardSec:
      share.gradientInputs === 0
        ? 0
        : memoryBoundSec(2 * convBytes + share.gradientInputBytes, gpu) +
          Math.max((3 * share.flops) / achieved, ssdBoundSec(2 * ssdBytes, gpu)) +
          BACKWARD_KERNELS * KERNEL_LAUNCH_SEC,
  };
}
