import type { GraphOp } from '../graph/graph.ts';
import type { Dtype, GpuSpec } from '../schema/index.ts';

/*
 * Which peak applies: contractions run on tensor cores at the operands' precision; everything else
 * (elementwise, norms, softmax) on the CUDA cores at the fp32 rate, where the HBM roofline binds
 * long before the FLOPs do.
 */
export function peakFlopsPerSec(gpu: GpuSpec, op: GraphOp, dtype: Dtype): number {
  if (op.einsum.contracted.length === 0) return gpu.peakTflops.fp32 * 1e12 * gpu.efficiency.matmul;
  const p = gpu.peakTflops;
  const tflops =
    dtype === 'bf16'
      ? (p.bf16 ?? p.fp32)
      : dtype === 'fp16'
        ? p.fp16
        : dtype === 'fp8'
          ? (p.fp8 ?? p.fp16)
          : dtype === 'tf32'
            ? (p.tf32 ?? p.fp32)
            : p.fp32;
  return tflops * 1e12 * gpu.efficiency.matmul;
}

/** Time of a kernel that only streams `bytes` through HBM, at the achievable share of its bandwidth. */
export function memoryBoundSec(bytes: number, gpu: GpuSpec): number {
  return bytes / (gpu.hbmGBps * 1e9 * gpu.efficiency.memory);
}

/** Roofline time of a kernel on one device. */
export function rooflineSec(flops: number, bytes: number, peakFlops: number, gpu: GpuSpec): number {
  return Math.max(flops / peakFlops, memoryBoundSec(bytes, gpu));
}
