/**
 * Quantized GEMMs: a linear layer's GEMMs run in a scaled format narrower than their bf16 operands —
 * FP8 (training.precision "fp8": E4M3 forward, E5M2 gradients, a scale per tensor), MXFP8 ("mxfp8":
 * E4M3 with an E8M0 scale per 32 elements) or NVFP4 ("nvfp4": E2M1 elements with an E4M3 scale per 16
 * and an FP32 scale per tensor, Transformer Engine's NVFP4BlockScaling recipe, Blackwell's FP4 tensor
 * cores). The GEMM runs at the format's tensor-core peak (kernel-rates.ts); this module says what each
 * format costs beside it: the bytes of one quantized copy, the copies a weight keeps through the step,
 * and the cast kernels' traffic.
 */
import {
  DTYPE_BYTES,
  type Dtype,
  type GpuSpec,
  type ParallelSpec,
  type Precision,
  quantizedGemmDtype,
} from '../schema/index.ts';
import type { PassSec } from './attention-kernel.ts';
import { KERNEL_LAUNCH_SEC, memoryBoundSec } from './kernel-rates.ts';

export type QuantizedDtype = Extract<Dtype, 'fp8' | 'mxfp8' | 'nvfp4'>;

export interface QuantizedFormat {
  readonly dtype: QuantizedDtype;
  /**
   * Scaled block by block (MXFP8, NVFP4), which only the tensor cores of Blackwell and later run —
   * those with an FP4 peak (`cluster.gpu.peakTflops.nvfp4`).
   */
  readonly blockScaled: boolean;
  /** Bytes of one quantized copy per element, its scales included: what a gather of it sends. */
  readonly elementBytes: number;
  /** Bytes per element of the copies a weight keeps for the step (one each for forward and backward). */
  readonly weightCopyBytes: number;
  /** HBM traffic of quantizing an activation, per byte of the bf16 input. */
  readonly forwardCastBytesPerInputByte: number;
  /** HBM traffic of quantizing the output gradient, per byte of it. */
  readonly gradientCastBytesPerOutputByte: number;
  /** HBM traffic of the backward's other casts, per byte of the bf16 input. */
  readonly backwardCastBytesPerInputByte: number;
  readonly forwardKernels: number;
  readonly backwardKernels: number;
  /**
   * Whether a grouped GEMM's operand (the experts' tokens, split by expert) is quantized one group at
   * a time, each group in kernels of its own, or in one fused kernel for all of them (Transformer
   * Engine's `split_quantize`, v2.14: per split for current-scaling FP8, whose scale needs each
   * split's own amax, and for MXFP8; one fused kernel for NVFP4).
   */
  readonly castsPerGroup: boolean;
}

/*
 * FP8 with a scale per tensor set from its own largest magnitude (current scaling: Megatron-LM's
 * --fp8-recipe tensorwise, which meshplan's export asks for; torchao's tensorwise Float8Linear likewise):
 * each cast first reads the bf16 tensor for its amax, then sets the scale, then casts (Transformer
 * Engine v2.14 Float8CurrentScalingQuantizer::quantize_impl: nvte_compute_amax, nvte_compute_scale_from_amax,
 * nvte_quantize_v2), so the forward reads the activation twice and writes it once (2 + 2 + 1 bytes an
 * element) in three kernels; the backward does the same for the output gradient, writing its transpose
 * too (2 + 2 + 2), and transposes the saved FP8 input (1 read, 1 written), four kernels. The weight
 * keeps its FP8 copy and that transpose, 1 byte each.
 */
const FP8: QuantizedFormat = {
  dtype: 'fp8',
  blockScaled: false,
  elementBytes: 1,
  weightCopyBytes: 2,
  forwardCastBytesPerInputByte: 2.5,
  gradientCastBytesPerOutputByte: 3,
  backwardCastBytesPerInputByte: 1,
  forwardKernels: 3,
  backwardKernels: 4,
  castsPerGroup: true,
};

/*
 * MXFP8 (Transformer Engine's MXFP8BlockScaling, as Megatron-LM's --fp8-format e4m3 --fp8-recipe mxfp8
 * runs it, Megatron-Bridge's FP8 recipe on Blackwell): E4M3 elements, each 32 sharing an E8M0 scale,
 * 1.03125 bytes. A block's scale is its own largest magnitude, so one pass reads the bf16 tensor and
 * writes a row-wise and a column-wise copy (a block runs along the contracted dim, so the weight
 * gradient's GEMM needs its own): 2 + 2 × 1.03125 bytes an element, 2.03125 per input byte, one
 * kernel; the output gradient the same backward. The column-wise copy of the input is what the backward
 * keeps; a weight keeps both copies.
 */
// An element and its share of its block's scale, as the graph sizes an mxfp8 tensor.
const MXFP8_ELEMENT_BYTES = DTYPE_BYTES.mxfp8;
const MXFP8_CAST_BYTES_PER_INPUT_BYTE = (2 + 2 * MXFP8_ELEMENT_BYTES) / 2;
const MXFP8: QuantizedFormat = {
  dtype: 'mxfp8',
  blockScaled: true,
  elementBytes: MXFP8_ELEMENT_BYTES,
  weightCopyBytes: 2 * MXFP8_ELEMENT_BYTES,
  forwardCastBytesPerInputByte: MXFP8_CAST_BYTES_PER_INPUT_BYTE,
  gradientCastBytesPerOutputByte: MXFP8_CAST_BYTES_PER_INPUT_BYTE,
  backwardCastBytesPerInputByte: 0,
  forwardKernels: 1,
  backwardKernels: 1,
  castsPerGroup: true,
};

/*
 * NVFP4 (Transformer Engine ≥ 2.7's NVFP4BlockScaling, as Megatron-LM's --fp4-format e2m1 --fp4-recipe
 * nvfp4 runs it; the recipe of NVIDIA's "Pretraining Large Language Models with NVFP4", arXiv
 * 2509.25149): an element is 4 bits and each 16 share an E4M3 scale, 0.5625 bytes. Every GEMM —
 * forward, data gradient and weight gradient — runs in NVFP4, so each operand is quantized twice over:
 * row-wise for the GEMM that contracts along its rows and column-wise, after a 16-point random Hadamard
 * transform, for the weight gradient's. The format's second level, the FP32 scale per tensor, needs the
 * tensor's largest magnitude before any block is cast: one pass reads the bf16 tensor for it, a second
 * reads it again and writes both copies — 2 + 2 + 2 × 0.5625 bytes an element, 2.5625 per input byte,
 * in two kernels; the output gradient the same backward. The column-wise copy of the input is what the
 * backward keeps for its weight gradient, so nothing is transposed there. A weight keeps both copies
 * (1.125 bytes an element), quantized in 16 × 16 blocks so that one scale serves both.
 */
// An element and its share of its block's scale, as the graph sizes an nvfp4 tensor.
const NVFP4_ELEMENT_BYTES = DTYPE_BYTES.nvfp4;
const NVFP4_CAST_BYTES_PER_INPUT_BYTE = (2 + 2 + 2 * NVFP4_ELEMENT_BYTES) / 2;
const NVFP4: QuantizedFormat = {
  dtype: 'nvfp4',
  blockScaled: true,
  elementBytes: NVFP4_ELEMENT_BYTES,
  weightCopyBytes: 2 * NVFP4_ELEMENT_BYTES,
  forwardCastBytesPerInputByte: NVFP4_CAST_BYTES_PER_INPUT_BYTE,
  gradientCastBytesPerOutputByte: NVFP4_CAST_BYTES_PER_INPUT_BYTE,
  backwardCastBytesPerInputByte: 0,
  forwardKernels: 2,
  backwardKernels: 2,
  castsPerGroup: false,
};

/** The format a contraction runs its tensor cores in, or null for an unquantized one. */
export function quantizedFormat(computeDtype: Dtype | null | undefined): QuantizedFormat | null {
  if (computeDtype === 'fp8') return FP8;
  if (computeDtype === 'mxfp8') return MXFP8;
  return computeDtype === 'nvfp4' ? NVFP4 : null;
}

/** The format a training precision runs its linear layers' GEMMs in, or null (bf16, fp16). */
export function precisionFormat(precision: Precision): QuantizedFormat | null {
  return quantizedFormat(quantizedGemmDtype(precision));
}

/**
 * Whether a request asks for its quantized GEMMs' weights to be kept and gathered in their format
 * alone: parallel.fp8ParamGather under FP8 and MXFP8, parallel.fp4ParamGather under NVFP4 (Megatron-LM's
 * --fp8-param-gather and --fp4-param-gather).
 */
export function paramGatherAsked(precision: Precision, parallel: ParallelSpec | undefined): boolean {
  if (precision === 'fp8' || precision === 'mxfp8') return parallel?.fp8ParamGather ?? false;
  if (precision === 'nvfp4') return parallel?.fp4ParamGather ?? false;
  return false;
}

/**
 * The cast kernels around a quantized GEMM that reads `activationBytes` of bf16 activations and
 * writes `outputBytes`: Transformer Engine's separate, memory-bound kernels, launched once for each
 * of `groups` (a grouped GEMM's experts) where the format casts group by group.
 *
 * A GEMM `fused` into another's linear module (OpSpec.fusedWith: Megatron-LM's linear_qkv, linear_fc1)
 * reads the input that module quantized once, priced with the other GEMM, and its output gradient is
 * part of the module's one, cast by the same kernels: only those bytes are its own.
 */
export function quantizedCastSec(
  format: QuantizedFormat,
  activationBytes: number,
  outputBytes: number,
  gpu: GpuSpec,
  groups = 1,
  fused = false,
): PassSec {
  if (activationBytes === 0) return { forwardSec: 0, backwardSec: 0 };
  if (fused)
    return {
      forwardSec: 0,
      backwardSec: memoryBoundSec(format.gradientCastBytesPerOutputByte * outputBytes, gpu),
    };
  const launches = format.castsPerGroup ? groups : 1;
  return {
    forwardSec:
      memoryBoundSec(format.forwardCastBytesPerInputByte * activationBytes, gpu) +
      launches * format.forwardKernels * KERNEL_LAUNCH_SEC,
    backwardSec:
      memoryBoundSec(
        format.gradientCastBytesPerOutputByte * outputBytes +
          format.backwardCastBytesPerInputByte * activationBytes,
        gpu,
      ) +
      launches * format.backwardKernels * KERNEL_LAUNCH_SEC,
  };
}
