import type { IlpNode, IlpProblem } from '../../solvers/problem.ts';
import type { LogicalMesh } from '../cluster/mesh.ts';
import { type Coarsening, coarsen } from '../graph/coarsen.ts';
import type { GraphOp, OpGraph } from '../graph/graph.ts';
import type { GpuSpec } from '../schema/index.ts';
import type { Layout } from './layout.ts';
import { type CostContext, costContext, costOfOp, type OpCost } from './op-cost.ts';
import { type Reshard, reshard, resolvedLayout } from './reshard.ts';
import { type Recompute, recomputesForward } from './saved.ts';
import {
  enumerateStrategies,
  followerStrategy,
  isValid,
  type OpStrategy,
  operandGradientLayout,
  operandLayout,
  outputLayout,
  scatterVariants,
} from './strategy.ts';

/** ILP units: the solvers work best on numbers near 1, so seconds go in as µs and bytes as MiB. */
export const ILP_SEC_PER_UNIT = 1e-6;
export const ILP_BYTES_PER_UNIT = 2 ** 20;

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
  readonly paramStateBytesPerParam: number;
  readonly allowReplicatedMatmul?: boolean;
  /** Letters each mesh axis may not split. */
  readonly forbidden?: readonly [readonly string[], readonly string[]];
  readonly recompute?: Recompute;
  /**
   * A layer repeated back to back: `from` (its output) feeds `to` (its input) of the next copy, which
   * uses the same layouts, so the ILP prices that hand-over as an edge from the op writing `from` to
   * every op reading `to`.
   */
  readonly carry?: { readonly from: string; readonly to: string };
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
    options.paramStateBytesPerParam,
    options.recompute ?? 'none',
  );
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
      groupStrategy(leaderStrategy, members, coarsening, keepsPartial, ctx),
    );
    return { leader, members, strategies };
  });
  const tensorEdges = graphEdges(graph, groupOf, options.carry);
  return { graph, mesh, coarsening, groups, groupOf, tensorEdges, keepsPartial, ctx };
}

/**
 * The pinned strategy alone, if it is valid here. An op that hands its partial output on has no
 * scatter of its own: its consumer's edge does the scattering.
 */
function pinnedCandidates(
  op: GraphOp,
  wanted: OpStrategy,
  axisSizes: readonly [number, number],
  reducesOutput: boolean,
): OpStrategy[] {
  const strategy = reducesOutput ? wanted : { split: wanted.split };
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
    const cost = costOfOp(op, strategy, keepsPartial[m]!, ctx);
    perMember.set(m, { strategy, cost });
    // Gradient syncs are per step; charging them per microbatch keeps the ILP conservative about
    // splitting the batch inside a stage, which data parallelism across replicas does anyway.
    totalSec += cost.forwardSec + cost.backwardSec + cost.commSec + cost.gradSyncSec;
    memoryBytes += cost.paramStateBytes + cost.activationBytes;
  }
  return { leader, members: perMember, totalSec, memoryBytes };
}

/** Layout of an edge's tensor on the producer side and what the consumer reads and returns. */
export function edgeReshards(
  model: IntraOpModel,
  edge: TensorEdge,
  producer: OpStrategy,
  consumer: OpStrategy,
): { forward: Reshard; backward: Reshard } {
  const { graph, mesh } = model;
  const bytes = graph.tensors.get(edge.tensor)!.bytes;
  const letters = graph.ops[edge.consumer]!.einsum.inputs[edge.input]!;
  const produced: Layout = outputLayout(
    graph.ops[edge.producer]!,
    producer,
    model.keepsPartial[edge.producer]!,
  );
  const forward = reshard(bytes, produced, operandLayout(consumer, letters), mesh);
  const backward = reshard(bytes, operandGradientLayout(consumer, letters), resolvedLayout(produced), mesh);
  // A recomputed consumer reads its input again, resharding included.
  if (!recomputesForward(graph.ops[edge.consumer]!, model.ctx.recompute)) return { forward, backward };
  return {
    forward,
    backward: {
      sec: backward.sec + forward.sec,
      collectives: [...backward.collectives, ...forward.collectives],
    },
  };
}

/**
 * The seconds an edge costs for every (producer strategy, consumer strategy) pair. Strategies far
 * outnumber the distinct layouts they give one tensor, so reshards are priced once per layout pair.
 */
function edgeCostMatrix(model: IntraOpModel, edge: TensorEdge): number[][] {
  const { graph, mesh } = model;
  const bytes = graph.tensors.get(edge.tensor)!.bytes;
  const producerOp = graph.ops[edge.producer]!;
  const letters = graph.ops[edge.consumer]!.einsum.inputs[edge.input]!;
  const recomputed = recomputesForward(graph.ops[edge.consumer]!, model.ctx.recompute);
  const fromIds = new Distinct<Layout>();
  const toIds = new Distinct<readonly [Layout, Layout]>();
  const rowOf = model.groups[model.groupOf[edge.producer]!]!.strategies.map((s) =>
    fromIds.id(
      outputLayout(producerOp, s.members.get(edge.producer)!.strategy, model.keepsPartial[edge.producer]!),
    ),
  );
  const colOf = model.groups[model.groupOf[edge.consumer]!]!.strategies.map((s) => {
    const strategy = s.members.get(edge.consumer)!.strategy;
    return toIds.id([operandLayout(strategy, letters), operandGradientLayout(strategy, letters)]);
  });
  const distinct = fromIds.values.map((from) => {
    const resolved = resolvedLayout(from);
    return toIds.values.map(([read, gradient]) => {
      const forward = reshard(bytes, from, read, mesh).sec;
      return forward * (recomputed ? 2 : 1) + reshard(bytes, gradient, resolved, mesh).sec;
    });
  });
  return rowOf.map((r) => colOf.map((c) => distinct[r]![c]!));
}

/** Interns values by their JSON form: a handful of distinct layouts stand for many strategies. */
class Distinct<T> {
  readonly values: T[] = [];
  private readonly ids = new Map<string, number>();
  id(value: T): number {
    const key = JSON.stringify(value);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.ids.set(key, id);
    }
    return id;
  }
}

/** The numeric ILP (solvers/problem.ts) for this model: one node per group, edges summed per group pair. */
export function toIlpProblem(
  model: IntraOpModel,
  memoryBudgetBytes: number | null,
  timeLimitSec: number,
): IlpProblem {
  const nodes: IlpNode[] = model.groups.map((g) => ({
    cost: g.strategies.map((s) => s.totalSec / ILP_SEC_PER_UNIT),
    memory: g.strategies.map((s) => s.memoryBytes / ILP_BYTES_PER_UNIT),
  }));
  const matrices = new Map<string, { from: number; to: number; cost: number[][] }>();
  for (const edge of model.tensorEdges) {
    const from = model.groupOf[edge.producer]!;
    const to = model.groupOf[edge.consumer]!;
    const secs = edgeCostMatrix(model, edge);
    const entry = matrices.get(`${from}:${to}`);
    if (entry === undefined) {
      matrices.set(`${from}:${to}`, {
        from,
        to,
        cost: secs.map((row) => row.map((sec) => sec / ILP_SEC_PER_UNIT)),
      });
    } else {
      for (const [k, row] of secs.entries()) {
        for (const [l, sec] of row.entries()) entry.cost[k]![l]! += sec / ILP_SEC_PER_UNIT;
      }
    }
  }
  return {
    nodes,
    edges: [...matrices.values()],
    memoryBudget: memoryBudgetBytes === null ? null : memoryBudgetBytes / ILP_BYTES_PER_UNIT,
    timeLimitSec,
  };
}
