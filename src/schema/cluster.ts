import { z } from 'zod';

const positive = z.number().positive().finite();

/** Dense (no sparsity) peak throughput per math mode, TFLOP/s. */
export const PeakTflops = z
  .object({
    fp32: positive,
    tf32: positive.optional(),
    bf16: positive.optional(),
    fp16: positive,
    fp8: positive.optional(),
  })
  .strict();
export type PeakTflops = z.infer<typeof PeakTflops>;

/**
 * Fractions of peak a well-tuned kernel reaches; the analytic model's only calibration knobs
 * (DESIGN.md §4, compute roofline).
 */
export const Efficiency = z
  .object({
    /** Share of tensor-core peak that large matmuls reach. */
    matmul: z.number().gt(0).max(1),
    /** Share of HBM bandwidth that memory-bound kernels reach. */
    memory: z.number().gt(0).max(1),
    /** Share of tensor-parallel collective time hidden behind GEMMs when that overlap is enabled. */
    tpOverlap: z.number().min(0).max(1).default(0.5),
  })
  .strict();
export type Efficiency = z.infer<typeof Efficiency>;

export const GpuSpec = z
  .object({
    name: z.string().min(1).max(100),
    memoryBytes: positive,
    peakTflops: PeakTflops,
    hbmGBps: positive,
    /** NVLink bandwidth per GPU and direction, GB/s. */
    nvlinkGBps: positive,
    efficiency: Efficiency,
  })
  .strict();
export type GpuSpec = z.infer<typeof GpuSpec>;

/** A GPU of the catalog (`GET /v1/gpus`), with the node it usually ships in and the figures' source. */
export const CatalogGpu = z.object({
  spec: GpuSpec,
  /** Inter-node bandwidth per GPU and direction of the node the GPU usually ships in, GB/s. */
  defaultInterNodeGBps: z.number(),
  source: z.string(),
});
export type CatalogGpu = z.infer<typeof CatalogGpu>;

export const ClusterSpec = z
  .object({
    /** A catalog id (case-insensitive, e.g. "A100-80GB") or a full GPU description. */
    gpu: z.union([z.string().min(1).max(100), GpuSpec]),
    nodes: z.number().int().positive().max(100_000),
    gpusPerNode: z.number().int().positive().max(1024),
    /** Per GPU and direction, GB/s; defaults to the GPU's NVLink figure. */
    intraNodeGBps: positive.optional(),
    /** Per GPU and direction, GB/s; defaults to the catalog's typical node (e.g. DGX A100: 25). */
    interNodeGBps: positive.optional(),
    intraNodeLatencyUs: z.number().nonnegative().finite().optional(),
    interNodeLatencyUs: z.number().nonnegative().finite().optional(),
    /** What one GPU costs per hour, USD; with it every plan's summary says what training costs. */
    pricePerGpuHour: positive.optional(),
  })
  .strict();
export type ClusterSpec = z.infer<typeof ClusterSpec>;
export type ClusterInput = z.input<typeof ClusterSpec>;
