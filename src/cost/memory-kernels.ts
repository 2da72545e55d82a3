import type { GpuSpec, OpKind } from '../schema/index.ts';
import { SAVED_FOR_BACKWARD } from '../schema/index.ts';
import type { PassSec } from './attention-kernel.ts';
import { KERNEL_LAUNCH_SEC, memoryBoundSec } from './kernel-rates.ts';

/** What one device's share of an op without a contraction reads and writes, bytes. */
export interface ElementwiseTraffic {
  /** Every input as the op reads it on one device. */
  readonly inputBytes: number;
  /** The inputs that are activations (kept for backward by the kinds that keep inputs). */
  readonly activationInputBytes: number;
  /** The inputs that receive a gradient: the backward writes each. */
  readonly gradientInputBytes: number;
  readonly outputBytes: number;
  /** Elements of the output: a dropout writes a one-byte mask per element. */
  readonly outputElements: number;
}

/** Forward bytes: read the inputs, write the output (and a dropout's one-byte mask). */
function forwardKernelBytes(kind: OpKind, t: ElementwiseTraffic): number {
  return t.inputBytes + t.outputBytes + (kind === 'dropout' ? t.outputElements : 0);
}

/**
 * Backward bytes, from what the kind keeps (`SAVED_FOR_BACKWARD`): read the output's gradient and
 * the saved tensor (the activation inputs, the output, or the mask), write each input's gradient.
 */
function backwardKernelBytes(kind: OpKind, t: ElementwiseTraffic): number {
  return t.outputBytes + savedBytes(kind, t) + t.gradientInputBytes;
}

/** The bytes of what the kind keeps for its backward pass, one device's share. */
function savedBytes(kind: OpKind, t: ElementwiseTraffic): number {
  switch (SAVED_FOR_BACKWARD[kind]) {
    case 'inputs':
      return t.activationInputBytes;
    case 'inputs-and-output':
      return t.activationInputBytes + t.outputBytes;
    case 'output':
      return t.outputBytes;
    case 'mask':
      return t.outputElements;
    case 'nothing':
      return 0;
  }
}

/**
 * An op without a contraction (norm, activation, dropout, residual add, eager softmax, reshape) runs
 * as one memory-bound kernel per pass: its bytes at the achievable share of HBM bandwidth, plus a
 * launch. Its few FLOPs per element run on the CUDA cores at the fp32 rate and bind only for ops that
 * declare many (`flops`); the tensor cores' efficiency has nothing to do with them.
 */
export function elementwiseKernelSec(
  kind: OpKind,
  flops: number,
  traffic: ElementwiseTraffic,
  gpu: GpuSpec,
): PassSec {
  const cudaCoreFlopsPerSec = gpu.peakTflops.fp32 * 1e12;
  const flopsSec = flops / cudaCoreFlopsPerSec;
  return {
    forwardSec:
      Math.max(flopsSec, memoryBoundSec(forwardKernelBytes(kind, traffic), gpu)) + KERNEL_LAUNCH_SEC,
    backwardSec:
      traffic.gradientInputBytes === 0
        ? 0
        : Math.max(flopsSec, memoryBoundSec(backwardKernelBytes(kind, traffic), gpu)) + KERNEL_LAUNCH_SEC,
  };
}

/** Bytes of an element of the fp32 "opmath" type eager PyTorch upcasts 16-bit tensors to. */
export const OPMATH_BYTES = 4;

/*
 * Eager PyTorch's RMSNorm (aten rms_norm's composite; TransformerSpec.normFusion), per element of the
 * activation (e bytes): upcast to fp32 (reads e, writes 4), square (4, 4), mean over the row (reads
 * 4), add eps and rsqrt (one value a row), product with it (4, 4), cast back (4, e), product with the
 * weight (e, e): 28 + 4e bytes in 8 kernels. Autograd's backward through them: the weight's product
 * (its input gradient 2e; the weight's, a product and a sum over the tokens, 4e), the cast back (e,
 * 4), the product with the rsqrt (its input gradient 8; the rsqrt's, a product and a row sum, 12), the
 * square's (2·x, then times the gradient: 16), the two gradients of the upcast input summed (12) and
 * cast down (4, e): 60 + 8e bytes in 11 kernels. Against one kernel's e + e forward.
 */
const COMPOSITE_RMS_NORM = {
  forward: { bytesPerElement: (e: number) => 28 + 4 * e, kernels: 8 },
  backward: { bytesPerElement: (e: number) => 60 + 8 * e, kernels: 11 },
} as const;

/** Eager PyTorch's RMSNorm (OpSpec.composite) on one device's share, pass by pass. */
export function compositeRmsNormSec(traffic: ElementwiseTraffic, gpu: GpuSpec): PassSec {
  const elements = traffic.outputElements;
  const e = elements > 0 ? traffic.outputBytes / elements : 0;
  const weightBytes = traffic.inputBytes - traffic.activationInputBytes;
  const pass = (p: { bytesPerElement: (e: number) => number; kernels: number }, weightPasses: number) =>
    memoryBoundSec(elements * p.bytesPerElement(e) + weightPasses * weightBytes, gpu) +
    p.kernels * KERNEL_LAUNCH_SEC;
  return {
    forwardSec: pass(COMPOSITE_RMS_NORM.forward, 1),
    // Its weight is read and its gradient written.
    backwardSec: traffic.gradientInputBytes === 0 ? 0 : pass(COMPOSITE_RMS_NORM.backward, 2),
  };
}

/*
 * The loss over the vocabulary as Megatron-LM's vocab-parallel cross entropy runs it unfused
 * (core_v0.19.0 tensor_parallel/cross_entropy.py, without --cross-entropy-loss-fusion): the logits
 * upcast to fp32, then one kernel per step over the fp32 copy — max, subtract it in place, exp in
 * place, sum, divide in place by the sum (the softmax kept for backward). Bytes per logit: the
 * upcast reads the logit and writes 4, the max and the sum read 4, the three in-place steps read and
 * write 4 each. Backward scales the kept softmax in place by the loss gradient (4 + 4) and casts the
 * result down to the logits' type (4 read, one logit written). PyTorch's F.cross_entropy on upcast
 * logits (torchtitan, DeepSpeed's models) moves about as much: upcast, log-softmax, and backward a
 * dense fp32 gradient cast down.
 */
const FP32_BYTES = 4;
/**
 * What the loss keeps for its backward, per logit: that fp32 softmax (Megatron-LM's exp_logits, fused
 * or not, saved by save_for_backward; PyTorch's log-softmax output on the upcast logits), not the
 * logits themselves, which nothing keeps once it is made.
 */
export const LOSS_SAVED_BYTES_PER_LOGIT = FP32_BYTES;
const LOSS_FORWARD_FP32_BYTES_PER_LOGIT = FP32_BYTES + 2 * FP32_BYTES + 3 * 2 * FP32_BYTES;
const LOSS_FORWARD_KERNELS = 6;
const LOSS_BACKWARD_FP32_BYTES_PER_LOGIT = 2 * FP32_BYTES + FP32_BYTES;
const LOSS_BACKWARD_KERNELS = 2;

/** Cross entropy over `logits` logits of `logitBytes` each on one device, forward and backward. */
export function crossEntropySec(logits: number, logitBytes: number, gpu: GpuSpec): PassSec {
  if (logits <= 0) return { forwardSec: 0, backwardSec: 0 };
  const forwardBytes = logits * (logitBytes + LOSS_FORWARD_FP32_BYTES_PER_LOGIT);
  const backwardBytes = logits * (LOSS_BACKWARD_FP32_BYTES_PER_LOGIT + logitBytes);
  return {
    forwardSec: memoryBoundSec(forwardBytes, gpu) + LOSS_FORWARD_KERNELS * KERNEL_LAUNCH_SEC,
    backwardSec: memoryBoundSec(backwardBytes, gpu) + LOSS_BACKWARD_KERNELS * KERNEL_LAUNCH_SEC,
  };
}
