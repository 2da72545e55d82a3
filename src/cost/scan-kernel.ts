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

/**
 * One device's share of a `scan` op (Mamba-2's fused convolution and SSD scan, OpSpec.scan), priced
 * as its kernels run: the contractions on the tensor cores at the GEMM share of the peak, against the
 * bytes they move — the packed input and the output, the convolution's output written and read back,
 * each chunk's fp32 states (heads × headDim × stateDim) over their four passes, and each group's
 * chunk scores. The backward first redoes the convolution and the chunk states the forward did not
 * keep (the memory-efficient path), then computes two gradients for each forward contraction: three
 * times the forward FLOPs, twice its bytes plus the input's gradient.
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
  const convBytes = 2 * tokens * (heads * headDim + 2 * groups * recurrence.stateDim) * 2;
  const forwardBytes = share.inputBytes + share.outputBytes + stateBytes + scoreBytes + convBytes;
  const achieved = tensorPeakFlopsPerSec(gpu, share.dtype) * gpu.efficiency.matmul;
  return {
    forwardSec:
      Math.max(share.flops / achieved, memoryBoundSec(forwardBytes, gpu)) +
      FORWARD_KERNELS * KERNEL_LAUNCH_SEC,
    backwardSec:
      share.gradientInputs === 0
        ? 0
        : Math.max(
            (3 * share.flops) / achieved,
            memoryBoundSec(2 * forwardBytes + share.gradientInputBytes, gpu),
          ) +
          BACKWARD_KERNELS * KERNEL_LAUNCH_SEC,
  };
}
