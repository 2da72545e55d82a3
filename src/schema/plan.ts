import { z } from 'zod';
import { OpLayoutOut } from './shard-plan.ts';
import { PlanStatus, Recompute, ScheduleKind } from './vocabulary.ts';

/** Where a step's time goes (seconds per step); `totalSec` is the step time. */
export const Breakdown = z.object({
  computeSec: z.number(),
  tpCommSec: z.number(),
  reshardSec: z.number(),
  ppCommSec: z.number(),
  dpCommSec: z.number(),
  bubbleSec: z.number(),
  optimizerSec: z.number(),
  totalSec: z.number(),
});
export type Breakdown = z.infer<typeof Breakdown>;

export const MemoryBreakdown = z.object({
  parametersBytes: z.number(),
  gradientsBytes: z.number(),
  optimizerBytes: z.number(),
  activationsBytes: z.number(),
  totalBytes: z.number(),
  capacityBytes: z.number(),
});
export type MemoryBreakdown = z.infer<typeof MemoryBreakdown>;

export const StageOut = z.object({
  /** First and last layer (inclusive) in the model's layer list. */
  layers: z.tuple([z.number().int(), z.number().int()]),
  layerNames: z.tuple([z.string(), z.string()]),
  subMesh: z.object({ nodes: z.number().int(), devicesPerNode: z.number().int() }),
  logicalMesh: z.tuple([z.number().int(), z.number().int()]),
  /** Forward + backward of one microbatch, including its collectives and pipeline sends. */
  latencySec: z.number(),
  memoryBytes: z.number(),
  memory: MemoryBreakdown,
  /** Microbatches whose activations this stage holds at its peak. */
  inFlightMicrobatches: z.number().int(),
  /** Per-op layouts of each distinct layer kind in the stage (identical blocks share one). */
  layerPlans: z.array(z.object({ layer: z.string(), count: z.number().int(), ops: z.array(OpLayoutOut) })),
});
export type StageOut = z.infer<typeof StageOut>;

export const Summary = z.object({
  dp: z.number().int(),
  tp: z.number().int(),
  pp: z.number().int(),
  /** GPUs the plan runs on. */
  gpus: z.number().int(),
  microBatch: z.number().int(),
  microbatches: z.number().int(),
  virtualStages: z.number().int(),
  recompute: Recompute,
  zero: z.number().int(),
  sequenceParallel: z.boolean(),
  schedule: ScheduleKind,
  stepTimeSec: z.number(),
  tokensPerSec: z.number(),
  /** Model FLOPs (no recomputation) per second per device, in TFLOP/s. */
  tflopsPerDevice: z.number(),
  /** FLOPs the hardware executes, recomputation included (SC'21's accounting), TFLOP/s per device. */
  hardwareTflopsPerDevice: z.number(),
  mfu: z.number(),
  peakMemoryBytes: z.number(),
  /** Days to train `training.tokens`, when the request gives them. */
  trainingDays: z.number().optional(),
  /** GPU-hours of the whole training when `training.tokens` is given, else of one step; with a price. */
  gpuHours: z.number().optional(),
  /** `gpuHours` × `cluster.pricePerGpuHour`, USD, when the request gives the price. */
  costUsd: z.number().optional(),
});
export type Summary = z.infer<typeof Summary>;

/** Where a plan's stages sit for JAX: each stage runs on its own mesh over its layer range. */
export const JaxStageMap = z.object({
  stage: z.number().int(),
  /** First and last layer (inclusive) in the model's layer list, as `StageOut.layers`. */
  layers: z.tuple([z.number().int(), z.number().int()]),
  layerNames: z.tuple([z.string(), z.string()]),
  meshShape: z.array(z.number().int()),
});
export type JaxStageMap = z.infer<typeof JaxStageMap>;

/**
 * Ready-to-use settings per framework. `expressible` false: the framework cannot run this plan
 * as planned; the notes say why and Megatron's `args` stay empty rather than describe another plan.
 */
export const Exports = z.object({
  megatron: z.object({
    expressible: z.boolean(),
    args: z.array(z.string()),
    command: z.string(),
    notes: z.array(z.string()),
  }),
  deepspeed: z.object({
    expressible: z.boolean(),
    config: z.record(z.string(), z.unknown()),
    notes: z.array(z.string()),
  }),
  torchtitan: z.object({
    expressible: z.boolean(),
    config: z.record(z.string(), z.unknown()),
    notes: z.array(z.string()),
  }),
  jax: z.object({
    expressible: z.boolean(),
    meshAxes: z.array(z.string()),
    /** Device count along each of `meshAxes`. */
    meshShape: z.array(z.number().int()),
    /**
     * One entry per tensor dim: null (replicated), an axis name, or two names joined by a comma
     * ("data,model") for a dim split over both axes, i.e. P(("data", "model")).
     */
    partitionSpecs: z.record(z.string(), z.array(z.string().nullable())),
    stages: z.array(JaxStageMap),
    notes: z.array(z.string()),
  }),
});
export type Exports = z.infer<typeof Exports>;

/** One configuration of a plan's time–memory frontier, and whether it is the plan itself. */
export const Alternative = z.object({ summary: Summary, chosen: z.boolean() });
export type Alternative = z.infer<typeof Alternative>;

export const Plan = z.object({
  status: PlanStatus,
  /** Why there is no plan, or what limited it. */
  reason: z.string().optional(),
  /** For an infeasible request: the smallest memory shortfall over the configurations tried. */
  shortfallBytes: z.number().optional(),
  summary: Summary.nullable(),
  breakdown: Breakdown.nullable(),
  stages: z.array(StageOut),
  schedule: z
    .object({ kind: ScheduleKind, microbatches: z.number().int(), virtualStages: z.number().int() })
    .nullable(),
  exports: Exports.nullable(),
  /**
   * The Pareto set over (stepTimeSec, peakMemoryBytes) of the configurations the search evaluated
   * (TensorOpt's frontier of time against memory), fastest first, at most 16, the plan among them;
   * empty when there is no plan.
   */
  alternatives: z.array(Alternative),
  solver: z.object({
    status: PlanStatus,
    ilpSolves: z.number().int(),
    dpStates: z.number().int(),
    configurationsTried: z.number().int(),
    wallSec: z.number(),
  }),
  assumptions: z.array(z.string()),
});
export type Plan = z.infer<typeof Plan>;
