import {
  type Dtype,
  type GpuSpec,
  type PeakTflops,
  type Precision,
  quantizedGemmDtype,
} from '../schema/index.ts';

/*
 * What every kernel pays besides its work: the GPU finishes one kernel's last blocks, fetches the next
 * launch and ramps its first wave up. NVIDIA's "Getting Started with CUDA Graphs" (A. Gray, 2019,
 * developer.nvidia.com/blog/cuda-graphs) measures back-to-back launches of a 2.9 µs kernel at 3.8 µs
 * each from a stream (about 1 µs between kernels), and the framework's dispatch of each eager op
 * adds a few µs more on the host, hidden only while the GPU has queued work. 3 µs per kernel is the
 * middle of that range; it matters for small kernels only (a microbatch of one sequence).
 */
export const KERNEL_LAUNCH_SEC = 3e-6;

/** Dense tensor-core peak, TFLOP/s, at a math mode: MXFP8 at FP8's (the same tensor cores, block-scaled). */
function dtypePeakTflops(p: PeakTflops, dtype: Dtype): number {
  if (dtype === 'bf16') return p.bf16 ?? p.fp32;
  if (dtype === 'fp16') return p.fp16;
  if (dtype === 'fp8' || dtype === 'mxfp8') return p.fp8 ?? p.fp16;
  if (dtype === 'nvfp4') return p.nvfp4 ?? p.fp8 ?? p.fp16;
  if (dtype === 'tf32') return p.tf32 ?? p.fp32;
  return p.fp32;
}

/** Dense tensor-core peak, FLOP/s, at the math mode a contraction runs in. */
export function tensorPeakFlopsPerSec(gpu: GpuSpec, dtype: Dtype): number {
  return dtypePeakTflops(gpu.peakTflops, dtype) * 1e12;
}

/**
 * The dense peak, TFLOP/s, a training precision's linear layers run at — what its MFU is a share of:
 * a quantized precision's GEMM format's, else the precision's own (the fp16 one where it has none).
 */
export function precisionPeakTflops(p: PeakTflops, precision: Precision): number {
  const quantized = quantizedGemmDtype(precision);
  if (quantized !== null) return dtypePeakTflops(p, quantized);
  return (precision === 'bf16' ? p.bf16 : undefined) ?? p.fp16;
}

/** Time to stream `bytes` through HBM at the achievable share of its bandwidth (no launch). */
export function memoryBoundSec(bytes: number, gpu: GpuSpec): number {
  return bytes / (gpu.hbmGBps * 1e9 * gpu.efficiency.memory);
}

/** One memory-bound kernel moving `bytes` through HBM: streaming time plus its launch. */
export function memoryKernelSec(bytes: number, gpu: GpuSpec): number {
  return bytes > 0 ? memoryBoundSec(bytes, gpu) + KERNEL_LAUNCH_SEC : 0;
}
