import type { GraphOp } from '../graph/graph.ts';
import { DIM } from '../graph/letters.ts';
import { DTYPE_BYTES, type Dtype, type GpuSpec } from '../schema/index.ts';
import {
  type AttentionGrid,
  attentionBlocks,
  flashAttentionSec,
  type PassSec,
  performedAttentionFlops,
} from './attention-kernel.ts';
import { forwardGemm, gemmLetters, gemmSec, gradientGemm, localSize } from './gemm.ts';
import { KERNEL_LAUNCH_SEC, memoryBoundSec, tensorPeakFlopsPerSec } from './kernel-rates.ts';
import { crossEntropySec, type ElementwiseTraffic, elementwiseKernelSec } from './memory-kernels.ts';

/** One device's share of an op under a strategy: how its dims are split and what it moves. */
export interface OpShare extends ElementwiseTraffic {
  /** The op dim each mesh axis splits (or null). */
  readonly split: readonly [string | null, string | null];
  readonly axisSizes: readonly [number, number];
  /** The op's FLOPs on one device. */
  readonly flops: number;
  /** Bit i set: input i receives a gradient. */
  readonly gradientMask: number;
  /** Inputs that receive a gradient. */
  readonly gradientInputs: number;
  /** The math mode of the tensor cores (the op's compute dtype or its operands'). */
  readonly dtype: Dtype;
  /** Element size of the op's output, bytes. */
  readonly outputElementBytes: number;
}

/**
 * The attention kernel's thread blocks on one device: the output dims of the query (its first
 * operand) other than its position and head dim — sequences and heads — times the 128-row blocks of
 * the query positions forward and of the key positions backward.
 */
function attentionGrid(op: GraphOp, share: OpShare): AttentionGrid {
  const query = op.einsum.inputs[0] ?? '';
  let rows = 1;
  for (const l of op.einsum.output) {
    if (l !== DIM.seq && query.includes(l) && !op.reducedDims.has(l))
      rows *= localSize(op, l, share.split, share.axisSizes);
  }
  return {
    forwardBlocks: attentionBlocks(rows, localSize(op, DIM.seq, share.split, share.axisSizes)),
    backwardBlocks: attentionBlocks(rows, localSize(op, DIM.keySeq, share.split, share.axisSizes)),
  };
}

/**
 * Compute time of one op on one device, forward and backward, by the kernel that runs it
 * (DESIGN.md §4.1): a two-operand contraction is a GEMM forward and one GEMM per input gradient
 * backward (cost/gemm.ts); a fused attention kernel is priced on the FLOPs it performs
 * (cost/attention-kernel.ts); an op without a contraction is a memory-bound kernel
 * (cost/memory-kernels.ts). Other contractions (fused kernels the einsum does not show, gathers) keep
 * the roofline at the GEMM efficiency, the backward one such kernel per input gradient.
 */
export function opComputeSec(op: GraphOp, share: OpShare, gpu: GpuSpec): PassSec {
  if (op.einsum.contracted.length === 0) return elementwiseKernelSec(op.kind, share.flops, share, gpu);
  const peak = tensorPeakFlopsPerSec(gpu, share.dtype);
  const bytes = share.inputBytes + share.outputBytes;
  if (op.kind === 'attention')
    return flashAttentionSec(
      performedAttentionFlops(share.flops, op.causal),
      bytes,
      attentionGrid(op, share),
      peak,
      gpu,
      op.dimSize[DIM.headDim],
    );
  if (op.kind === 'loss') {
    // The logits this device holds: its shard of the first operand (the output may be scattered
    // further, or be a scalar of a mean loss).
    let logits = 1;
    for (const l of op.einsum.inputs[0]!) logits *= localSize(op, l, share.split, share.axisSizes);
    return crossEntropySec(logits, DTYPE_BYTES[share.dtype], gpu);
  }
  const roles = op.kind === 'matmul' ? gemmLetters(op) : null;
  if (roles !== null) {
    const forward = forwardGemm(op, roles, share.split, share.axisSizes);
    const elementBytes = { operands: DTYPE_BYTES[share.dtype], result: share.outputElementBytes };
    let backwardSec = 0;
    if ((share.gradientMask & 1) !== 0)
      backwardSec += gemmSec(gradientGemm(forward, 0), elementBytes, peak, gpu);
    if ((share.gradientMask & 2) !== 0)
      backwardSec += gemmSec(gradientGemm(forward, 1), elementBytes, peak, gpu);
    return { forwardSec: gemmSec(forward, elementBytes, peak, gpu), backwardSec };
  }
  const achieved = peak * gpu.efficiency.matmul;
  const n = share.gradientInputs;
  return {
    forwardSec: Math.max(share.flops / achieved, memoryBoundSec(bytes, gpu)) + KERNEL_LAUNCH_SEC,
    backwardSec:
      n === 0
        ? 0
        : Math.max((n * share.flops) / achieved, memoryBoundSec(2 * bytes, gpu)) + n * KERNEL_LAUNCH_SEC,
  };
}
