import type { Cluster } from '../cluster/cluster.ts';
import {
  DEFAULT_RECOMPUTE_MODULES,
  type PlanRequest,
  type Recompute,
  type RecomputeModule,
  type ZeroStage,
} from '../schema/index.ts';
import { expertFolding } from './estimate-config.ts';

/** How one pipeline replica's devices are cut into stage sub-meshes. */
export interface ReplicaShape {
  readonly dp: number;
  /** Context-parallel degree: the replica's devices each hold seqLen / cp tokens. */
  readonly cp: number;
  /** Devices per stage sub-mesh, per allowed shape. */
  readonly stageDevices: readonly number[];
  /** What the stage DP counts in: 1 device, or a whole node once stages fill nodes. */
  readonly deviceUnit: number;
  readonly replicaDevices: number;
  /**
   * Stages smaller than a node in a replica that spans nodes: the tensor-parallel groups of a
   * Megatron-style run, offered with Megatron's layouts only (Alpa's search cuts such replicas
   * into whole nodes).
   */
  readonly tensorParallelGroups: boolean;
}

function powersOfTwoUpTo(n: number): number[] {
  const out: number[] = [];
  for (let p = 1; p <= n; p *= 2) out.push(p);
  return out;
}

export function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d * d <= n; d++) {
    if (n % d === 0) {
      out.push(d);
      if (d * d !== n) out.push(n / d);
    }
  }
  return out.sort((a, b) => a - b);
}

/**
 * Data-parallel degrees worth planning (DESIGN.md §6: factor dp out first, then plan one replica).
 * A replica that fills nodes is cut into stages of one size inside a node — whole nodes, or the
 * tensor-parallel groups of a Megatron-style run — never spanning nodes (that would put a slow axis
 * inside the stage, which data parallelism across replicas does better); a smaller one into Alpa's
 * (1, 2^k) sub-meshes.
 */
export function replicaShapes(
  cluster: Cluster,
  request: PlanRequest,
  layerCount: number,
  cp = 1,
): ReplicaShape[] {
  const g = cluster.gpusPerNode;
  const pinned = request.parallel ?? {};
  const shapes: ReplicaShape[] = [];
  if (cluster.devices % cp !== 0) return shapes;
  for (const dp of divisors(cluster.devices / cp)) {
    if (pinned.dp !== undefined && pinned.dp !== dp) continue;
    if (request.training.globalBatch % dp !== 0) continue;
    const replicaDevices = cluster.devices / (dp * cp);
    // The stage DP uses every device of the replica, so a pinned pp fixes the stage size.
    const pinnedStage = pinned.pp === undefined ? undefined : replicaDevices / pinned.pp;
    if (pinnedStage !== undefined && !Number.isInteger(pinnedStage)) continue;
    if (replicaDevices >= g) {
      // Whole-node stages, or (Megatron's ranks: a stage's tp innermost, its data-parallel peers
      // next, pipeline neighbours outermost) uniform stages of a power of two inside a node.
      for (const m of [...new Set([g, ...powersOfTwoUpTo(g)])].sort((a, b) => b - a)) {
        if (replicaDevices % m !== 0 || replicaDevices / m > layerCount) continue;
        if (pinnedStage !== undefined && pinnedStage !== m) continue;
        if (pinned.tp !== undefined && pinned.tp > m) continue;
        shapes.push({
          dp,
          cp,
          stageDevices: [m],
          deviceUnit: m,
          replicaDevices,
          tensorParallelGroups: m < g,
        });
      }
    } else {
      // Smaller than a node (or pinned so): Alpa's (1, 2^k) sub-meshes, which never straddle a node.
      const sizes = powersOfTwoUpTo(Math.min(g, replicaDevices)).filter(
        (m) => pinnedStage === undefined || m === pinnedStage,
      );
      if (sizes.length > 0)
        shapes.push({
          dp,
          cp,
          stageDevices: sizes,
          deviceUnit: 1,
          replicaDevices,
          tensorParallelGroups: false,
        });
    }
  }
  return shapes;
}

/**
 * Microbatch sizes worth trying: powers of two dividing the per-replica batch, up to 8. Past that
 * the roofline cost per sequence no longer falls while the bubble and activations grow.
 */
export function microBatchSizes(request: PlanRequest, dp: number): number[] {
  const perReplica = request.training.globalBatch / dp;
  // An operator graph's shapes fix its microbatch: the request says how many sequences it holds.
  if (request.model.kind === 'graph') {
    const mb = request.training.microBatch ?? 1;
    return perReplica % mb === 0 ? [mb] : [];
  }
  const pinned = request.parallel?.microBatch ?? request.training.microBatch;
  if (pinned !== undefined) return perReplica % pinned === 0 ? [pinned] : [];
  return powersOfTwoUpTo(Math.min(8, perReplica)).filter((mb) => perReplica % mb === 0);
}

/** Logical meshes of a sub-mesh of m devices in one node: both axes are NVLink, so [a, b] ≅ [b, a]. */
export function logicalShapes(m: number, pinnedTp: number | undefined): [number, number][] {
  const shapes: [number, number][] = [];
  for (const a0 of powersOfTwoUpTo(m)) {
    // A node of 5, 6 or 7 GPUs splits only by the powers of two that divide it.
    if (m % a0 !== 0) continue;
    const a1 = m / a0;
    if (pinnedTp !== undefined ? a1 === pinnedTp : a0 <= a1) shapes.push([a0, a1]);
  }
  return shapes;
}

/**
 * Memory escalation: each later entry trades speed for memory, so the search stops at the first
 * that fits. Recomputation: none, then selective (Korthikanti's attention core), then per-op
 * (torchtitan's, for its goal only: goalRecomputes), then full.
 * ZeRO with data parallelism: 1 (same traffic as plain all-reduce, optimizer state sharded),
 * 2 (gradients too, reduce-scattered per microbatch), 3 (parameters gathered per pass).
 */
export function recomputeOrder(request: PlanRequest): Recompute[] {
  const pinned = request.parallel?.recompute;
  return pinned !== undefined ? [pinned] : ['none', 'selective', 'per-op', 'full'];
}

/** What selective recomputation redoes for the request: its modules, else Megatron's default. */
export function recomputeModules(request: PlanRequest): readonly RecomputeModule[] {
  return request.parallel?.recomputeModules ?? DEFAULT_RECOMPUTE_MODULES;
}

export interface ZeroStep {
  readonly zero: ZeroStage;
  /** ZeRO-3 only: the next layer gathered while one runs (true for the other stages). */
  readonly zero3Prefetch: boolean;
}

/**
 * The ZeRO steps of the escalation, as the request pins them. ZeRO-3 comes twice: prefetching a
 * layer ahead (two held whole), then, last, gathering each only when it runs (one held, the gathers
 * waited for).
 */
export function zeroSteps(request: PlanRequest, dp: number): ZeroStep[] {
  const pinned = request.parallel?.zero;
  const stages: ZeroStage[] = pinned !== undefined ? [pinned] : dp === 1 ? [0] : [1, 2, 3];
  const prefetch = request.parallel?.zero3Prefetch;
  const prefetching: readonly boolean[] = prefetch !== undefined ? [prefetch] : [true, false];
  return stages.flatMap((zero): ZeroStep[] =>
    zero === 3
      ? prefetching.map((zero3Prefetch) => ({ zero, zero3Prefetch }))
      : [{ zero, zero3Prefetch: true }],
  );
}

/**
 * Context-parallel degrees worth planning: powers of two that cut every sequence into 2·cp chunks
 * (causal load balancing) of at least MIN_CP_SHARD tokens — below that the keys' exchange costs
 * more than the activations it saves. Fused attention only; a general graph has no sequence to cut.
 */
const MIN_CP_SHARD = 4096;

export function contextParallelDegrees(request: PlanRequest, cluster: Cluster): number[] {
  const pinned = request.parallel?.cp;
  if (pinned !== undefined) return [pinned];
  const model = request.model;
  if (model.kind !== 'transformer' || model.attention === 'eager') return [1];
  return powersOfTwoUpTo(cluster.devices).filter(
    (cp) => cp === 1 || (model.seqLen % (2 * cp) === 0 && model.seqLen / cp >= MIN_CP_SHARD),
  );
}

/**
 * Expert-parallel degrees worth planning with `replicas` (dp · cp) peers to carve them from: powers
 * of two dividing the experts and the peers (Megatron's rule); 1 for a dense model. These are the
 * carved degrees: the summary's ep multiplies in what the stage's layouts split the experts over.
 */
export function expertParallelDegrees(request: PlanRequest, replicas: number): number[] {
  const model = request.model;
  const experts = model.kind === 'transformer' ? (model.moe?.experts ?? 1) : 1;
  // A pinned ep with experts folded over a pinned tp (etp 1) spans the tp ranks: dp·cp carve ep / tp.
  const pinned = request.parallel?.ep === undefined ? undefined : expertFolding(request.parallel).carvedEp;
  const fits = (ep: number) => experts % ep === 0 && replicas % ep === 0;
  if (pinned !== undefined) return fits(pinned) ? [pinned] : [];
  return powersOfTwoUpTo(Math.min(experts, replicas)).filter(fits);
}
