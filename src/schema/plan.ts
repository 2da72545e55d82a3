import { z } from 'zod';
import { Exports, Frameworks } from './exports.ts';
import { LayerNameRange, LayerRange } from './layer-range.ts';
import { OpLayoutOut } from './shard-plan.ts';
import { Summary } from './summary.ts';
import { FrameworkTarget, PlanStatus, ScheduleKind } from './vocabulary.ts';

/**
 * Where a step's time goes (seconds per step); `totalSec` is the step time. The communication terms
 * count all of it; `hiddenByOverlapSec` is what the overlaps hide behind compute, so the other terms
 * minus it make `totalSec`.
 */
export const Breakdown = z.object({
  computeSec: z.number(),
  tpCommSec: z.number(),
  reshardSec: z.number(),
  /** Context parallelism's exposed key/value exchanges (ring sends, all-to-alls or all-gathers). */
  cpCommSec: z.number(),
  /** Expert parallelism's token dispatch and combine all-to-alls. */
  epCommSec: z.number(),
  ppCommSec: z.number(),
  dpCommSec: z.number(),
  bubbleSec: z.number(),
  optimizerSec: z.number(),
  /**
   * Tensor-parallel and expert-parallel communication hidden behind the GEMMs (input gradients
   * reduced alongside weight gradients, Transformer Engine's overlap, overlapped all-to-alls): counted
   * in tpCommSec, reshardSec and epCommSec, not in totalSec.
   */
  hiddenByOverlapSec: z.number(),
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
  layers: LayerRange,
  layerNames: LayerNameRange,
  subMesh: z.object({ nodes: z.number().int(), devicesPerNode: z.number().int() }),
  logicalMesh: z
    .tuple([z.number().int().describe('axis 0 (slow)'), z.number().int().describe('axis 1 (fast)')])
    .describe('Devices along each axis of the logical mesh [a0, a1]; a0 · a1 is the sub-mesh size'),
  /** Forward + backward of one microbatch, including its collectives and pipeline sends. */
  latencySec: z.number(),
  memoryBytes: z.number(),
  memory: MemoryBreakdown,
  /**
   * Microbatches' worth of activations this stage holds at its peak: a whole number, but for an
   * interleaved schedule, whose stages hold chunks of 1/virtualStages of a microbatch each.
   */
  inFlightMicrobatches: z.number(),
  /** Per-op layouts of each distinct layer kind in the stage (identical blocks share one). */
  layerPlans: z.array(z.object({ layer: z.string(), count: z.number().int(), ops: z.array(OpLayoutOut) })),
});
export type StageOut = z.infer<typeof StageOut>;

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
  /**
   * With target `any`: the best plan each framework can run, found in the same search (absent
   * for a framework target, an estimate, or no plan).
   */
  frameworks: Frameworks.optional(),
  /** The framework the search was restricted to, or `any`. */
  target: FrameworkTarget.optional(),
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
