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
import {
  compositeRmsNormSec,
  crossEntropySec,
  type ElementwiseTraffic,
  elementwiseKernelSec,
} from './memory-kernels.ts';
import { scanKernelSec } from './scan-kernel.ts';

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
  /** Bit i set: input i is a parameter (its gradient is a weight gradient). */
  readonly paramMask: number;
  /** The math mode of the tensor cores (the op's compute dtype or its operands'). */
  readonly dtype: Dtype;
  /** Element size of the op's output, bytes. */
  readonly outputElementBytes: number;
  /** The kernels each of its GEMMs launches a pass: one per local expert of a grouped GEMM (gemm.ts `gemmKernels`). */
  readonly gemmKernels: number;
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
 * The key positions an attention op's queries may read, unsplit: its key sequence dim where it names
 * one, else the dims it contracts that its query (first operand) lacks — the key sequence, whatever
 * letter an imported graph gives it (the head dim is in the query too). Latent attention's query comes
 * in two operands, the rotary part in the second, so only the name tells its keys apart.
 */
function keyPositions(op: GraphOp): number {
  const named = op.dimSize[DIM.keySeq];
  if (named !== undefined) return named;
  const query = op.einsum.inputs[0] ?? '';
  let keys = 1;
  for (const l of op.einsum.contracted) if (!query.includes(l)) keys *= op.dimSize[l] ?? 1;
  return keys;
}

/**
 * The FLOPs of each score element (one query's product with one key) an attention op computes: its
 * FLOPs over the full matrix's scores, which are its output's positions and heads (every output dim
 * but the last, the value's) times the key positions. 4 × head dim for square heads; undefined for a
 * graph whose op does not read so.
 */
function attentionFlopsPerScore(op: GraphOp): number | undefined {
  let rows = 1;
  for (const l of op.einsum.output.slice(0, -1)) rows *= op.dimSize[l] ?? 1;
  const scores = rows * keyPositions(op);
  return scores > 0 && op.flops > 0 ? op.flops / scores : undefined;
}

/** An op's kernel time per pass, and the part of its backward that computes weight gradients. */
export interface OpKernelSec extends PassSec {
  /**
   * The backward GEMMs producing parameter gradients: nothing waits on them within the layer, so the
   * reduction of the input gradient computed just before can run alongside (see layout-eval.ts).
   */
  readonly weightGradientSec: number;
}

/**
 * Compute time of one op on one device, forward and backward, by the kernel that runs it
 * (DESIGN.md §4.1): a two-operand contraction is a GEMM forward and one GEMM per input gradient
 * backward (cost/gemm.ts); a fused attention kernel is priced on the FLOPs it performs
 * (cost/attention-kernel.ts); an op without a contraction is a memory-bound kernel
 * (cost/memory-kernels.ts). Other contractions (fused kernels the einsum does not show, gathers) keep
 * the roofline at the GEMM efficiency, the backward one such kernel per input gradient.
 */
export function opComputeSec(op: GraphOp, share: OpShare, gpu: GpuSpec): OpKernelSec {
  if (op.composite) return { ...compositeRmsNormSec(share, gpu), weightGradientSec: 0 };
  if (op.einsum.contracted.length === 0)
    return { ...elementwiseKernelSec(op.kind, share.flops, share, gpu), weightGradientSec: 0 };
  if (op.kind === 'scan') return { ...scanKernelSec(op, share, gpu), weightGradientSec: 0 };
  const peak = tensorPeakFlopsPerSec(gpu, share.dtype);
  const bytes = share.inputBytes + share.outputBytes;
  if (op.kind === 'attention') {
    const performed = performedAttentionFlops(share.flops, op.causal, op.window, keyPositions(op));
    const flopsPerScore = attentionFlopsPerScore(op);
    return {
      ...flashAttentionSec(
        performed,
        bytes,
        attentionGrid(op, share),
        peak,
        gpu,
        op.dimSize[DIM.headDim],
        flopsPerScore === undefined ? 0 : performed / flopsPerScore,
      ),
      weightGradientSec: 0,
    };
  }
  if (op.kind === 'loss') {
    // The logits this device holds: its shard of the first operand (the output may be scattered
    // further, or be a scalar of a mean loss).
    let logits = 1;
    for (const l of op.einsum.inputs[0]!) logits *= localSize(op, l, share.split, share.axisSizes);
    return { ...crossEntropySec(logits, DTYPE_BYTES[share.dtype], gpu), weightGradientSec: 0 };
  }
  const roles = op.kind === 'matmul' ? gemmLetters(op) : null;
  if (roles !== null) {
    const forward = forwardGemm(op, roles, share.split, share.axisSizes);
    const elementBytes = { operands: DTYPE_BYTES[share.dtype], result: share.outputElementBytes };
    const kernels = share.gemmKernels;
    let backwardSec = 0;
    let weightGradientSec = 0;
    for (const operand of [0, 1] as const) {
      if ((share.gradientMask & (1 << operand)) === 0) continue;
      const sec = gemmSec(gradientGemm(forward, operand), elementBytes, peak, gpu, kernels);
      backwardSec += sec;
      if ((share.paramMask & (1 << operand)) !== 0) weightGradientSec += sec;
    }
    return { forwardSec: gemmSec(forward, elementBytes, peak, gpu, kernels), backwardSec, weightGradientSec };
  }
  const achieved = peak * gpu.efficiency.matmul;
  const n = share.gradientInputs;
  return {
    weightGradientSec: 0,
    forwardSec: Math.max(share.flops / achieved, memoryBoundSec(bytes, gpu)) + KERNEL_LAUNCH_SEC,
    backwardSec:
      n === 0
        ? 0
        : Math.max((n * share.flops) / achieved, memoryBoundSec(2 * bytes, gpu)) + n * KERNEL_LAUNCH_SEC,
  };
}
