import type { Dtype, GpuSpec, PeakTflops, Precision } from '../schema/index.ts';

/*
 * What every kernel pays besides its work: the GPU finishes one kernel's last blocks, fetches the next
 * launch and ramps its first wave up. NVIDIA's "Getting Started with CUDA Graphs" (A. Gray, 2019,
 * developer.nvidia.com/blog/cuda-graphs) measures back-to-back launches of a 2.9 µs kernel at 3.8 µs
 * each from a stream (about 1 µs between kernels), and the framework's dispatch of each eager op
 * adds a few µs more on the host, hidden only while the GPU has queued work. 3 µs per kernel is the
 * middle of that range; it matters for small kernels only (a microbatch of one sequence).
 */
export const KERNEL_LAUNCH_SEC = 3e-6;

/** Dense tensor-core peak, FLOP/s, at the math mode a contraction runs in. */
export function tensorPeakFlopsPerSec(gpu: GpuSpec, dtype: Dtype): number {
  const p = gpu.peakTflops;
  const tflops =
    dtype === 'bf16'
      ? (p.bf16 ?? p.fp32)
      : dtype === 'fp16'
        ? p.fp16
        : dtype === 'fp8' || dtype === 'mxfp8'
          ? (p.fp8 ?? p.fp16)
          : dtype === 'nvfp4'
            ? (p.nvfp4 ?? p.fp8 ?? p.fp16)
            : dtype === 'tf32'
              ? (p.tf32 ?? p.fp32)
              : p.fp32;
  return tflops * 1e12;
}

/**
 * The dense peak, TFLOP/s, a training precision's linear layers run at — what its MFU is a share of:
 * the precision's own, MXFP8 at FP8's (the same tensor cores, block-scaled), else the fp16 one.
 */
export function precisionPeakTflops(p: PeakTflops, precision: Precision): number {
  return (precision === 'mxfp8' ? p.fp8 : p[precision]) ?? p.fp16;
}

/** Time to stream `bytes` through HBM at the achievable share of its bandwidth (no launch). */
export function memoryBoundSec(bytes: number, gpu: GpuSpec): number {
  return bytes / (gpu.hbmGBps * 1e9 * gpu.efficiency.memory);
}

/** One memory-bound kernel moving `bytes` through HBM: streaming time plus its launch. */
export function memoryKernelSec(bytes: number, gpu: GpuSpec): number {
  return bytes > 0 ? memoryBoundSec(bytes, gpu) + KERNEL_LAUNCH_SEC : 0;
}
