import { z } from 'zod';
import { CollectiveKind, DimSpec, Phase, PlanStatus } from './vocabulary.ts';

export const CollectiveOut = z.object({
  kind: CollectiveKind,
  axis: z.union([z.literal(0), z.literal(1)]),
  bytes: z.number(),
  sec: z.number(),
  phase: Phase,
  reason: z.string(),
});

export const TensorSpecOut = z.object({
  tensor: z.string(),
  /** Per tensor dim: R, S0, S1 or S01. */
  spec: z.array(DimSpec),
  /** Mesh axes the tensor awaits a sum over (P0, P1); empty for complete tensors. */
  partialAxes: z.array(z.number().int()),
});

export const OpLayoutOut = z.object({
  op: z.string(),
  kind: z.string(),
  /** The op whose strategy this one follows (Alpa's merged elementwise ops); null for a leader. */
  follows: z.string().nullable(),
  strategy: z.object({
    /** The op dim each mesh axis splits; null: the op is replicated along that axis. */
    axis0: z.string().nullable(),
    axis1: z.string().nullable(),
    label: z.string(),
  }),
  inputSpecs: z.array(TensorSpecOut),
  outputSpec: TensorSpecOut,
  collectives: z.array(CollectiveOut),
  computeSec: z.object({ forward: z.number(), backward: z.number() }),
  commSec: z.number(),
  memoryBytes: z.object({ paramState: z.number(), activations: z.number() }),
});
export type OpLayoutOut = z.infer<typeof OpLayoutOut>;

export const MeshOut = z.object({
  shape: z.tuple([z.number().int(), z.number().int()]),
  axes: z.array(
    z.object({
      size: z.number().int(),
      spansNodes: z.boolean(),
      bandwidthGBps: z.number(),
      latencyUs: z.number(),
    }),
  ),
});

export const SolverOut = z.object({
  status: PlanStatus,
  backend: z.string(),
  wallSec: z.number(),
  ilpNodes: z.number().int(),
  ilpEdges: z.number().int(),
  strategies: z.number().int(),
});

export const IntraOpPlan = z.object({
  status: PlanStatus,
  /** Why there is no plan (infeasible budget, time limit), when there is none. */
  reason: z.string().optional(),
  graph: z.string(),
  mesh: MeshOut,
  memoryBudgetBytes: z.number().nullable(),
  ops: z.array(OpLayoutOut),
  totals: z
    .object({
      computeSec: z.number(),
      commSec: z.number(),
      reshardSec: z.number(),
      totalSec: z.number(),
      memoryBytesPerDevice: z.number(),
    })
    .nullable(),
  solver: SolverOut,
});
export type IntraOpPlan = z.infer<typeof IntraOpPlan>;
