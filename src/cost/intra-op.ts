import type { LogicalMesh } from '../cluster/mesh.ts';
import { type Coarsening, coarsen } from '../graph/coarsen.ts';
import type { GraphOp, OpGraph } from '../graph/graph.ts';
import type { GpuSpec, Recompute, RecomputeModule } from '../schema/index.ts';
import type { OuterGroups } from './exchange.ts';
import { PARAM_STATE_BYTES } from './memory.ts';
import { type CostContext, costContext, costOfOp, type OpCost } from './op-cost.ts';
import { quantizedFormat } from './quantized-gemm.ts';
import {
  enumerateStrategies,
  followerStrategy,
  isValid,
  type OpStrategy,
  outputLayout,
  routedStrategy,
  scatterVariants,
} from './strategy.ts';

/** One strategy of a group: the leader's choice and what it implies for every member. */
export interface GroupStrategy {
  readonly leader: OpStrategy;
  /** Per member op index: its strategy and cost. */
  readonly members: ReadonlyMap<number, { readonly strategy: OpStrategy; readonly cost: OpCost }>;
  readonly totalSec: number;
  readonly memoryBytes: number;
}

export interface Group {
  readonly leader: number;
  readonly members: readonly number[];
  readonly strategies: readonly GroupStrategy[];
}

/** A tensor flowing between two groups: the ILP edge cost is the sum over these. */
export interface TensorEdge {
  readonly tensor: string;
  readonly producer: number;
  readonly consumer: number;
  readonly input: number;
}

export interface IntraOpModel {
  readonly graph: OpGraph;
  readonly mesh: LogicalMesh;
  readonly coarsening: Coarsening;
  readonly groups: readonly Group[];
  readonly groupOf: readonly number[];
  readonly tensorEdges: readonly TensorEdge[];
  readonly keepsPartial: readonly boolean[];
  readonly ctx: CostContext;
}

export interface IntraOpOptions {
  readonly gpu: GpuSpec;
  /**
   * Bytes of state per parameter the ILP's memory budget counts (weight, gradient, optimizer);
   * default PARAM_STATE_BYTES, Adam with mixed precision without ZeRO.
   */
  readonly paramStateBytesPerParam?: number;
  readonly allowReplicatedMatmul?: boolean;
  /** Letters each mesh axis may not split. */
  readonly forbidden?: readonly [readonly string[], readonly string[]];
  readonly recompute?: Recompute;
  /** What selective recomputation redoes (default Megatron's: the attention core). */
  readonly recomputeModules?: readonly RecomputeModule[];
  /**
   * A layer repeated back to back: `from` (its output) feeds `to` (its input) of the next copy, which
   * uses the same layouts, so the ILP prices that hand-over as an edge from the op writing `from` to
   * every op reading `to`.
   */
  readonly carry?: { readonly from: string; readonly to: string };
  /** The context- and expert-parallel groups around the stage (default: none). */
  readonly outer?: OuterGroups;
  /** Restrict every leader to this strategy (a framework's fixed layout) instead of searching. */
  readonly pin?: (op: GraphOp) => OpStrategy;
}

/**
 * An op may hand its consumer a partial output (and let the edge choose all-reduce or
 * reduce-scatter) only when exactly one op reads it and that op prices the edge; otherwise the op
 * reduces it itself, once.
 */
function keepsPartialOutput(graph: OpGraph, coarsening: Coarsening, op: number): boolean {
  const consumers = graph.tensors.get(graph.ops[op]!.output)!.consumers;
  return consumers.length === 1 && coarsening.leaderOf[consumers[0]!.op] !== coarsening.leaderOf[op];
}

export function buildIntraOpModel(graph: OpGraph, mesh: LogicalMesh, options: IntraOpOptions): IntraOpModel {
  const coarsening = coarsen(graph);
  const ctx = costContext(
    graph,
    mesh,
    options.gpu,
    options.recompute ?? 'none',
    options.outer,
    options.recomputeModules,
  );
  const bytesPerParam = options.paramStateBytesPerParam ?? PARAM_STATE_BYTES;
  const keepsPartial = graph.ops.map((op) => keepsPartialOutput(graph, coarsening, op.index));
  const groupOf: number[] = new Array(graph.ops.length).fill(-1);
  const groups: Group[] = coarsening.leaders.map((leader, g) => {
    const members = coarsening.members.get(leader)!;
    for (const m of members) groupOf[m] = g;
    const op = graph.ops[leader]!;
    const reducesOutput = !keepsPartial[leader]!;
    const candidates =
      options.pin === undefined
        ? enumerateStrategies(op, mesh.shape, {
            allowReplicatedMatmul: options.allowReplicatedMatmul ?? false,
            reducesOutput,
            ...(options.forbidden ? { forbidden: options.forbidden } : {}),
          })
        : pinnedCandidates(op, options.pin(op), mesh.shape, reducesOutput);
    const strategies = candidates.map((leaderStrategy) =>
      groupStrategy(leaderStrategy, members, coarsening, keepsPartial, ctx, bytesPerParam),
    );
    return { leader, members, strategies };
  });
  const tensorEdges = graphEdges(graph, groupOf, options.carry);
  return { graph, mesh, coarsening, groups, groupOf, tensorEdges, keepsPartial, ctx };
}

/**
 * The ops (group leaders) with no valid strategy on the model's mesh: an axis larger than 1 that no
 * dimension of theirs divides. A layer with any has no layout on that mesh.
 */
export function strandedOps(model: IntraOpModel): string[] {
  return model.groups.filter((g) => g.strategies.length === 0).map((g) => model.graph.ops[g.leader]!.name);
}

/**
 * The pinned strategy alone, if it is valid here. An op that hands its partial output on has no
 * scatter of its own: its consumer's edge does the scattering (an output gather, a framework's
 * own collective, stays).
 */
function pinnedCandidates(
  op: GraphOp,
  wanted: OpStrategy,
  axisSizes: readonly [number, number],
  reducesOutput: boolean,
): OpStrategy[] {
  const gathers = wanted.gathersOutputOn === undefined ? {} : { gathersOutputOn: wanted.gathersOutputOn };
  const strategy = reducesOutput ? wanted : { split: wanted.split, ...gathers };
  if (!isValid(op, strategy, axisSizes, { allowReplicatedMatmul: true, reducesOutput })) return [];
  const [t0, t1] = strategy.scatter ?? [null, null];
  if (t0 === null && t1 === null) return [strategy];
  // A scatter is valid exactly when the enumeration would have offered it.
  const offered = scatterVariants(op, { split: strategy.split }, axisSizes).some(
    (v) => v.scatter![0] === t0 && v.scatter![1] === t1,
  );
  return offered ? [strategy] : [];
}

/** Tensors crossing between groups, plus the hand-over to the next copy of a repeated layer. */
function graphEdges(
  graph: OpGraph,
  groupOf: readonly number[],
  carry: { readonly from: string; readonly to: string } | undefined,
): TensorEdge[] {
  const edges: TensorEdge[] = [];
  for (const op of graph.ops) {
    op.inputs.forEach((name, input) => {
      const producer = graph.tensors.get(name)!.producer;
      if (producer !== null && groupOf[producer] !== groupOf[op.index]) {
        edges.push({ tensor: name, producer, consumer: op.index, input });
      }
    });
  }
  if (carry !== undefined) {
    const producer = graph.tensors.get(carry.from)?.producer ?? null;
    const into = graph.tensors.get(carry.to);
    if (producer !== null && into !== undefined && into.producer === null) {
      for (const use of into.consumers)
        edges.push({ tensor: carry.to, producer, consumer: use.op, input: use.input });
    }
  }
  return edges;
}

function groupStrategy(
  leader: OpStrategy,
  members: readonly number[],
  coarsening: Coarsening,
  keepsPartial: readonly boolean[],
  ctx: CostContext,
  bytesPerParam: number,
): GroupStrategy {
  const { graph } = ctx;
  const perMember = new Map<number, { strategy: OpStrategy; cost: OpCost }>();
  let totalSec = 0;
  let memoryBytes = 0;
  for (const m of members) {
    const op = graph.ops[m]!;
    let strategy = leader;
    const followed = coarsening.followedInput[m];
    if (m !== members[0] && followed !== null && followed !== undefined) {
      const producer = graph.tensors.get(op.inputs[followed]!)!.producer!;
      const from = perMember.get(producer)!;
      strategy = followerStrategy(
        op,
        followed,
        outputLayout(graph.ops[producer]!, from.strategy, keepsPartial[producer]!),
      );
    }
    strategy = routedStrategy(op, strategy);
    const cost = costOfOp(op, strategy, keepsPartial[m]!, ctx);
    perMember.set(m, { strategy, cost });
    // Gradient syncs are per step; charging them per microbatch keeps the ILP conservative about
    // splitting the batch inside a stage, which data parallelism across replicas does anyway.
    totalSec +=
      cost.forwardSec +
      cost.backwardSec +
      cost.commSec +
      cost.gradSyncSec +
      cost.exchange.forwardSec +
      cost.exchange.backwardSec;
    memoryBytes +=
      cost.paramElements * bytesPerParam +
      cost.quantizedWeightElements * (quantizedFormat(op.computeDtype)?.weightCopyBytes ?? 0) +
      cost.activationBytes;
  }
  return { leader, members: perMember, totalSec, memoryBytes };
}

/** The strategy of every op (by op index) when each group takes the strategy `choice` gives it. */
export function strategiesOfChoice(model: IntraOpModel, choice: readonly number[]): OpStrategy[] {
  const strategies: OpStrategy[] = new Array(model.graph.ops.length);
  choice.forEach((k, g) => {
    for (const [op, m] of model.groups[g]!.strategies[k]!.members) strategies[op] = m.strategy;
  });
  return strategies;
}
