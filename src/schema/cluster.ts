import { z } from 'zod';
import { CollectiveAlgorithm, GpuGeneration } from './vocabulary.ts';

const positive = z.number().positive().finite();

/** Dense (no sparsity) peak throughput per math mode, TFLOP/s. */
export const PeakTflops = z
  .object({
    fp32: positive,
    tf32: positive.optional(),
    bf16: positive.optional(),
    fp16: positive,
    fp8: positive.optional(),
    /** NVFP4 (E2M1 with block scales), where the tensor cores run it: Blackwell on. */
    nvfp4: positive.optional(),
  })
  .strict();
export type PeakTflops = z.infer<typeof PeakTflops>;

/**
 * Fractions of peak a well-tuned kernel reaches; the analytic model's only calibration knobs
 * (DESIGN.md §4, compute roofline).
 */
export const Efficiency = z
  .object({
    /**
     * Share of tensor-core peak a GEMM reaches when its tiles fill every wave and K is long: what
     * wave quantization, tile edges and short K leave is priced apart (cost/gemm.ts).
     */
    matmul: z.number().gt(0).max(1),
    /**
     * Share of tensor-core peak the fused attention kernel's forward pass reaches on the FLOPs it
     * performs; FlashAttention-2 reports 50–73% on A100 (Dao 2023, arXiv 2307.08691), hence the default.
     */
    attention: z.number().gt(0).max(1).default(0.6),
    /** Share of HBM bandwidth that memory-bound kernels reach. */
    memory: z.number().gt(0).max(1),
    /** Share of tensor-parallel collective time hidden behind GEMMs when that overlap is enabled. */
    tpOverlap: z.number().min(0).max(1).default(0.5),
    /**
     * Share of each GPU's network line rate that NCCL's bus bandwidth reaches across nodes. 0.96 is
     * what the catalog's published multi-node plateaus show where the network paces the ring:
     * 192 of 8 × 25 GB/s on DGX A100 nodes, 381.8 of 8 × 50 GB/s on AWS B200 nodes.
     */
    network: z.number().gt(0).max(1).default(0.96),
  })
  .strict();
export type Efficiency = z.infer<typeof Efficiency>;

/**
 * The factors a calibration fits, per GPU generation, on published or measured step times; the
 * others (tpOverlap) describe a runtime's overlap rather than a kernel and stay as documented.
 */
export const CALIBRATED_FACTORS = [
  'matmul',
  'attention',
  'memory',
] as const satisfies readonly (keyof Efficiency)[];

/**
 * The tensor-core GEMM tile the generation's library kernels compute per thread block, in matrix
 * elements (M × N × K of a GEMM of M×N outputs and depth K): a GEMM runs ceil(M/m)·ceil(N/n) tiles in
 * waves over the SMs (DESIGN.md §4.1).
 */
export const GemmTile = z
  .object({
    m: z.number().int().positive(),
    n: z.number().int().positive(),
    k: z.number().int().positive(),
    /** SMs that compute one tile together: 2 for Blackwell's pair-of-SMs MMA, else 1. */
    smsPerTile: z.number().int().positive(),
    /** The kernel or document the shape was read from. */
    source: z.string().min(1),
  })
  .strict();
export type GemmTile = z.infer<typeof GemmTile>;

/** NCCL's algorithms that the catalog's all-reduce figures ran. */
export const NcclAlgorithm = CollectiveAlgorithm.extract(['ring', 'nvls']);
export type NcclAlgorithm = z.infer<typeof NcclAlgorithm>;

/** One published nccl-tests `all_reduce_perf` figure: bus bandwidth over so many GPUs and nodes. */
export const AllReduceBusBandwidth = z
  .object({
    /** nccl-tests' busbw (algorithm bandwidth × 2(n − 1)/n), GB/s of 10⁹ bytes. */
    busGBps: positive,
    /** GPUs in the all-reduce. */
    gpus: z.number().int().min(2),
    /** Nodes (NVLink domains) they span: 1 is over NVLink only, more crosses the network. */
    nodes: z.number().int().positive(),
    /** Message size, bytes; absent where the source plots the large-message plateau without its size. */
    messageBytes: positive.optional(),
    /** The algorithm NCCL ran; absent where the source does not say. */
    algorithm: NcclAlgorithm.optional(),
    source: z.string().min(1),
  })
  .strict();
export type AllReduceBusBandwidth = z.infer<typeof AllReduceBusBandwidth>;

export const GpuSpec = z
  .object({
    name: z.string().min(1).max(100),
    memoryBytes: positive,
    peakTflops: PeakTflops,
    hbmGBps: positive,
    /** NVLink bandwidth per GPU and direction, GB/s. */
    nvlinkGBps: positive,
    efficiency: Efficiency,
    /**
     * The generation whose kernels the GPU runs (catalog GPUs carry theirs): where a kernel's figure
     * depends on it, e.g. what FlashAttention-2 reaches of the fused attention kernel.
     */
    generation: GpuGeneration.optional(),
    /** Streaming multiprocessors (NVIDIA) or compute units (AMD) that GEMM tiles are spread over. */
    smCount: z.number().int().positive().optional(),
    /** The clock the vendor's dense tensor peaks are computed at, MHz. */
    boostClockMHz: positive.optional(),
    gemmTile: GemmTile.optional(),
    /**
     * Exponentials per second its special-function units compute (MUFU.EX2, 16 or 32 a clock per SM):
     * the second ceiling of a fused attention kernel's forward, one per score it performs besides the
     * score's tensor-core FLOPs. Absent: its generation's (its 16-bit tensor peak over the
     * generation's tensor FLOPs per exponential, cost/attention-kernel.ts), else none: the tensor cores
     * alone bound it.
     */
    exponentialsPerSec: positive.optional(),
    /** Whether the usual node's NVLink switch reduces in the network (NVLink SHARP, NCCL's NVLS). */
    nvlinkSharp: z.boolean().optional(),
    /** Published all-reduce bus bandwidths of the usual node, inside it and across nodes. */
    allReduceBusBandwidth: z.array(AllReduceBusBandwidth).optional(),
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

/**
 * Fitted values of the GPU's efficiency factors (DESIGN.md §10): any subset of `Efficiency`'s
 * fields, each within that field's own bounds; the rest stay as the catalog has them.
 */
export const CalibratedFactors = z
  .object(
    Object.fromEntries(
      Object.entries(Efficiency.shape).map(([name, field]) => [
        name,
        // A factor the profile leaves out keeps the catalog's value: no schema default may fill it in.
        (field instanceof z.ZodDefault ? field.unwrap() : field).optional(),
      ]),
    ) as { [K in keyof typeof Efficiency.shape]: z.ZodOptional<z.ZodNumber> },
  )
  .strict();
export type CalibratedFactors = z.infer<typeof CalibratedFactors>;

/** One run of the fit: what it measured against what the calibrated model estimates. */
export const Residual = z.object({
  run: z.string(),
  measuredSec: z.number(),
  estimatedSec: z.number(),
  /** (estimated − measured) / measured, in percent. */
  errorPct: z.number(),
});
export type Residual = z.infer<typeof Residual>;

/**
 * A measured run's peak memory beside the estimate's (calibration checks memory, it fits none of
 * it): the estimate's peak does not depend on the fitted factors.
 */
export const MemoryResidual = z.object({
  run: z.string(),
  measuredGiB: z.number(),
  estimatedGiB: z.number(),
  /** (estimated − measured) / measured, in percent. */
  errorPct: z.number(),
  /** What the planner plans into on this GPU (its memory less the request's headroom), GiB. */
  capacityGiB: z.number(),
  /** Whether the estimate fits that capacity: a run that was measured did fit. */
  predictedToFit: z.boolean(),
});
export type MemoryResidual = z.infer<typeof MemoryResidual>;

/**
 * A calibration of one cluster's GPU: written by `meshplan calibrate`, stored by
 * `POST /v1/calibrations`, named by plan and estimate requests as `cluster.profile`.
 */
export const CalibrationProfile = z
  .object({
    kind: z.literal('meshplan-profile'),
    /** The catalog GPU (or the GPU description's name) the runs were measured on. */
    gpu: z.string().min(1).max(100),
    factors: CalibratedFactors,
    /** Measured runs the factors were fitted on. */
    fittedOn: z.number().int().positive(),
    residuals: z.array(Residual),
    /** The runs that gave a measured peak memory, against the estimate's (not fitted). */
    memoryResiduals: z.array(MemoryResidual).optional(),
    /**
     * What the fit could not explain, for the user to check before trusting the profile: runs it
     * leaves far off, factors pushed to a bound, runs that ran but are predicted not to fit.
     */
    warnings: z.array(z.string()).optional(),
    createdAt: z.string(),
  })
  .strict();
export type CalibrationProfile = z.infer<typeof CalibrationProfile>;

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
    /** Latency of one NVLink hop (one ring step), µs; defaults to NCCL's 1.9 (LL128). */
    intraNodeLatencyUs: z.number().nonnegative().finite().optional(),
    /** Latency of one network hop, µs; defaults to NCCL's 4.0 (LL128). */
    interNodeLatencyUs: z.number().nonnegative().finite().optional(),
    /** What one GPU costs per hour, USD; with it every plan's summary says what training costs. */
    pricePerGpuHour: positive.optional(),
    /**
     * A calibration of this cluster (`meshplan calibrate`): the CLI takes a profile file's path
     * (relative to the request file), the API a stored profile's id (`POST /v1/calibrations`); either
     * becomes the profile itself before planning. Its factors replace the GPU's catalog efficiency.
     */
    profile: z.union([z.string().min(1).max(4096), CalibrationProfile]).optional(),
  })
  .strict();
export type ClusterSpec = z.infer<typeof ClusterSpec>;
export type ClusterInput = z.input<typeof ClusterSpec>;
