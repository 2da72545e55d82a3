import { findGpu } from '../cluster/catalog.ts';
import type { GraphOp } from '../graph/graph.ts';
import type { GpuSpec } from '../schema/index.ts';
import type { PassSec } from './attention-kernel.ts';
import type { OpShare } from './compute.ts';
import { localSize } from './gemm.ts';
import { KERNEL_LAUNCH_SEC, memoryBoundSec, tensorPeakFlopsPerSec } from './kernel-rates.ts';

/** Bytes of a chunk state's element: the SSD kernels carry states in fp32. */
const STATE_BYTES = 4;
/** Bytes of an activation's element (x, z, B, C, the output): bf16. */
const ACTIVATION_BYTES = 2;

/**
 * The kinds of tensor the SSD's kernels move, per token: `x`, tensors of a head's width (x, z, the output, the pre-gate output, their gradients: heads ×
 * headDim bf16); `states`, passes over the fp32 chunk states (heads × headDim × stateDim a chunk; a
 * bf16 copy counts half); `bc`, tensors of the groups' width (B, C and their gradients: groups ×
 * stateDim bf16); `scores`, the fp32 chunk scores C·Bᵀ or their gradient (groups × chunk a token).
 * dt and the decays (a value a head a token, against a head's headDim of x) are left out: about 2%
 * of the bytes. Read as a count of each (what a kernel moves) or as each one's bytes.
 */
interface SsdTensors {
  readonly x: number;
  readonly states: number;
  readonly bc: number;
  readonly scores: number;
}

/** What one of mamba_ssm's SSD kernels reads and writes a token, counted in SsdTensors. */
interface SsdKernelTraffic extends SsdTensors {
  readonly kernel: string;
}

const kernel = (name: string, x: number, states: number, bc: number, scores: number): SsdKernelTraffic => ({
  kernel: name,
  x,
  states,
  bc,
  scores,
});

/**
 * The forward's kernels before the chunk scan, as _mamba_chunk_scan_combined_fwd runs them (mamba_ssm
 * ssd_combined.py, which Megatron-LM's MambaMixer calls through mamba_split_conv1d_scan_combined):
 * the decays' cumulative sums, the chunk states written in fp32, passed along the sequence into a
 * bf16 copy, and the chunk scores. The backward runs them again: the forward keeps none of it.
 */
const CHUNK_STATE_KERNELS: readonly SsdKernelTraffic[] = [
  kernel('_chunk_cumsum_fwd', 0, 0, 0, 0),
  kernel('_chunk_state_fwd', 1, 1, 1, 0),
  kernel('_state_passing_fwd', 0, 1.5, 0, 0),
  kernel('_bmm_chunk_fwd', 0, 0, 2, 1),
];

/**
 * The forward: those, then the chunk scan, which reads x, the gate z, C, the scores and the states
 * and writes the gated output and the output before the gate (kept for the backward).
 */
const FORWARD_SSD_KERNELS: readonly SsdKernelTraffic[] = [
  ...CHUNK_STATE_KERNELS,
  kernel('_chunk_scan_fwd', 4, 0.5, 1, 1),
];

/**
 * The backward, as _mamba_chunk_scan_combined_bwd runs it: the chunk states and scores redone, then
 * the gate's gradient (reading x, z, the pre-gate output and the output's gradient, writing dz and
 * the gated gradient), the states' gradient and its passing back along the sequence, dx (from the
 * scores, the states' gradient and the output's gradient), dB, dC, the scores' gradient, its two
 * products into dB and dC, and the decays' gradient.
 */
const BACKWARD_SSD_KERNELS: readonly SsdKernelTraffic[] = [
  ...CHUNK_STATE_KERNELS,
  kernel('_chunk_scan_bwd_dz', 6, 0, 0, 0),
  kernel('_chunk_scan_bwd_dstates', 1, 1, 1, 0),
  kernel('_state_passing_bwd', 0, 2.5, 0, 0),
  kernel('_chunk_scan_chunk_state_bwd_dx', 3, 1, 1, 1),
  kernel('_chunk_state_bwd_db', 1, 1, 2, 0),
  kernel('_chunk_scan_bwd_dC', 1, 0.5, 2, 0),
  kernel('_chunk_scan_bwd_dcb', 2, 0, 0, 1),
  kernel('_bmm_chunk_bwd', 0, 0, 3, 1),
  kernel('_bmm_chunk_bwd', 0, 0, 3, 1),
  kernel('_chunk_scan_bwd_ddAcs_stable', 2, 0, 0, 1),
  kernel('_chunk_cumsum_bwd', 0, 0, 0, 0),
];

/** Kernels besides the SSD's: the causal convolution, forward; redone and differentiated, backward. */
const CONV_FORWARD_KERNELS = 1;
const CONV_BACKWARD_KERNELS = 2;

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
 * 3.35 TB/s, while its 3.4e11 FLOPs run at 9% of the tensor cores' peak.
 *
 * Below both roofs, the kernel is bound by neither HBM nor the tensor cores but by how fast each SM
 * works through its tiles (the dependent loads, MMAs and reductions of one chunk in one thread block):
 * its rate follows the SMs and their clock, not the memory. So the H800's 0.92 TB/s is read as a rate
 * per SM-second (132 SMs at the 1,830 MHz the catalog gives the H100 silicon) and every SSD kernel of
 * mamba_ssm is priced at it on the GPU's own SMs: a B200's 148 SMs move 12% more, not the 2.3× its
 * HBM would. A GPU whose catalog entry gives no clock (Blackwell's) is taken at Hopper's: B200's SM
 * clocks are like H100 SXM5's (Chips and Cheese, "Nvidia's B200: Keeping the CUDA Juggernaut
 * Rolling", 2025). A GPU described without an SM count keeps the H800's share of its HBM bandwidth.
 * The causal convolution streams at the achievable rate (causal-conv1d's backward moves its bytes at
 * 80–85% of HBM bandwidth, Dao-AILab/causal-conv1d pull request 88).
 */
/** TileLang's chunk scan on the benchmark's shapes, seconds (README.md's table). */
const TILELANG_CHUNK_SCAN_SEC = 2.531e-3;
/** Triton's chunk scan on the same shapes: the same FLOPs at 90.6 TFLOP/s against TileLang's 135.7. */
const TRITON_CHUNK_SCAN_SEC = (TILELANG_CHUNK_SCAN_SEC * 135.711) / 90.6;
/** The benchmark's GPU, and the clock the catalog gives its silicon (the H100's), MHz. */
const H800 = findGpu('H800-80GB')!.spec;
const HOPPER_CLOCK_MHZ = findGpu('H100-80GB')!.spec.boostClockMHz!;
/** The benchmark's bytes moved a second by the Triton chunk scan on the H800. */
const H800_SSD_BYTES_PER_SEC = (26_688 * 8 * 16_384) / TRITON_CHUNK_SCAN_SEC;
export const SSD_HBM_SHARE = H800_SSD_BYTES_PER_SEC / (H800.hbmGBps * 1e9);
/** What the SSD's kernels move a second on one SM at Hopper's clock. */
const SSD_BYTES_PER_SM_SEC = H800_SSD_BYTES_PER_SEC / H800.smCount!;

/** The rate the SSD's kernels move bytes at on `gpu`: per SM and clock where the catalog knows them. */
export function ssdBytesPerSec(gpu: GpuSpec): number {
  if (gpu.smCount === undefined) return gpu.hbmGBps * 1e9 * SSD_HBM_SHARE;
  const clock = (gpu.boostClockMHz ?? HOPPER_CLOCK_MHZ) / HOPPER_CLOCK_MHZ;
  return SSD_BYTES_PER_SM_SEC * gpu.smCount * clock;
}

/** Time the SSD's kernels take to move `bytes` at their rate on `gpu` (no launch). */
function ssdBoundSec(bytes: number, gpu: GpuSpec): number {
  return bytes / ssdBytesPerSec(gpu);
}

/** The bytes a token's share of the SSD's kernels moves, given each tensor kind's bytes a token. */
function ssdBytesPerToken(kernels: readonly SsdKernelTraffic[], sizes: SsdTensors): number {
  let bytes = 0;
  for (const k of kernels)
    bytes += k.x * sizes.x + k.states * sizes.states + k.bc * sizes.bc + k.scores * sizes.scores;
  return bytes;
}

/**
 * One device's share of a `scan` op (Mamba-2's fused convolution and SSD scan, OpSpec.scan), priced
 * as its kernels run. The causal convolution streams the packed input and writes x, B and C at the
 * achievable HBM rate. The SSD's kernels then run their contractions on the tensor cores at the GEMM
 * share of the peak, against the bytes they move (FORWARD_SSD_KERNELS, BACKWARD_SSD_KERNELS) at
 * their measured rate on the GPU's SMs (ssdBytesPerSec). The backward first redoes the convolution
 * (the memory-efficient path keeps only the packed input), then runs the SSD's backward kernels,
 * three times the forward FLOPs, and the convolution's backward writes the input's gradient.
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
  const { stateDim, chunkSize } = recurrence;
  const sizes: SsdTensors = {
    x: heads * headDim * ACTIVATION_BYTES,
    states: (heads * headDim * stateDim * STATE_BYTES) / chunkSize,
    bc: groups * stateDim * ACTIVATION_BYTES,
    scores: groups * chunkSize * STATE_BYTES,
  };
  // The convolution's output: x, B and C of every token (headDim a head and the groups' 2·N each).
  const convBytes = share.inputBytes + tokens * (sizes.x + 2 * sizes.bc);
  const forwardSsdBytes = tokens * ssdBytesPerToken(FORWARD_SSD_KERNELS, sizes);
  const backwardSsdBytes = tokens * ssdBytesPerToken(BACKWARD_SSD_KERNELS, sizes);
  const achieved = tensorPeakFlopsPerSec(gpu, share.dtype) * gpu.efficiency.matmul;
  return {
    forwardSec:
      memoryBoundSec(convBytes, gpu) +
      Math.max(share.flops / achieved, ssdBoundSec(forwardSsdBytes, gpu)) +
      (CONV_FORWARD_KERNELS + FORWARD_SSD_KERNELS.length) * KERNEL_LAUNCH_SEC,
    backwardSec:
      share.gradientInputs === 0
        ? 0
        : memoryBoundSec(2 * convBytes + share.gradientInputBytes, gpu) +
          Math.max((3 * share.flops) / achieved, ssdBoundSec(backwardSsdBytes, gpu)) +
          (CONV_BACKWARD_KERNELS + BACKWARD_SSD_KERNELS.length) * KERNEL_LAUNCH_SEC,
  };
}
