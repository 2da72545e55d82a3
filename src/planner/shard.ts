import { solveIlpIsolated } from '../../solvers/index.ts';
import type { BackendChoice, IlpSolution } from '../../solvers/problem.ts';
import type { Cluster } from '../cluster/cluster.ts';
import type { LogicalMesh } from '../cluster/mesh.ts';
import { buildIntraOpModel, edgeReshards, type IntraOpModel, toIlpProblem } from '../cost/intra-op.ts';
import { type Layout, partialAxes, tensorSpec } from '../cost/layout.ts';
import type { PricedCollective } from '../cost/op-cost.ts';
import { operandLayout, outputLayout, strategyLabel } from '../cost/strategy.ts';
import type { OpGraph } from '../graph/graph.ts';
import type { IntraOpPlan, OpLayoutOut } from '../schema/index.ts';

/** Mixed-precision Adam: bf16 weight and gradient (2 + 2) plus fp32 master weight, m and v (12). */
export const ADAM_MIXED_PRECISION_BYTES_PER_PARAM = 16;

export interface ShardOptions {
  readonly graph: OpGraph;
  readonly cluster: Cluster;
  readonly mesh: LogicalMesh;
  readonly memoryBudgetBytes: number | null;
  readonly timeLimitSec?: number;
  readonly backend?: BackendChoice;
  readonly signal?: AbortSignal;
  readonly allowReplicatedMatmul?: boolean;
}

/** The intra-operator plan of a whole graph on one logical mesh: the ILP of DESIGN.md §5. */
export async function shardGraph(options: ShardOptions): Promise<IntraOpPlan> {
  const { graph, cluster, mesh } = options;
  const model = buildIntraOpModel(graph, mesh, {
    gpu: cluster.gpu,
    paramStateBytesPerParam: ADAM_MIXED_PRECISION_BYTES_PER_PARAM,
    allowReplicatedMatmul: options.allowReplicatedMatmul,
  });
  const problem = toIlpProblem(model, options.memoryBudgetBytes, options.timeLimitSec ?? 30);
  const solution = await solveIlpIsolated(problem, {
    backend: options.backend ?? 'auto',
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const base = {
    graph: graph.name,
    mesh: {
      shape: [mesh.shape[0], mesh.shape[1]] as [number, number],
      axes: mesh.axes.map((a) => ({
        size: a.size,
        spansNodes: a.spansNodes,
        bandwidthGBps: 1 / a.betaSecPerByte / 1e9,
        latencyUs: a.alphaSec * 1e6,
      })),
    },
    memoryBudgetBytes: options.memoryBudgetBytes,
    solver: {
      status: solution.status,
      backend: solution.backend,
      wallSec: solution.wallSec,
      ilpNodes: problem.nodes.length,
      ilpEdges: problem.edges.length,
      strategies: problem.nodes.reduce((s, n) => s + n.cost.length, 0),
    },
  };
  if (solution.choice === null) {
    return {
      ...base,
      status: solution.status,
      reason: noPlanReason(model, solution, options.memoryBudgetBytes),
      ops: [],
      totals: null,
    };
  }
  return { ...base, status: solution.status, ...describeChoice(model, solution.choice) };
}

function noPlanReason(model: IntraOpModel, solution: IlpSolution, budgetBytes: number | null): string {
  if (solution.status === 'timeout')
    return `no sharding was found within the time limit (${solution.wallSec.toFixed(2)} s)`;
  const leastBytes = model.groups.reduce(
    (s, g) => s + Math.min(...g.strategies.map((x) => x.memoryBytes)),
    0,
  );
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  return `the graph needs at least ${gib(leastBytes)} per device on this mesh but the budget is ${gib(budgetBytes ?? 0)} (short by ${gib(leastBytes - (budgetBytes ?? 0))})`;
}

function specOut(tensor: string, layout: Layout, rank: number) {
  return { tensor, spec: tensorSpec(layout, rank), partialAxes: partialAxes(layout) };
}

function describeChoice(model: IntraOpModel, choice: readonly number[]): Pick<IntraOpPlan, 'ops' | 'totals'> {
  const { graph, groups, groupOf } = model;
  const chosen = (op: number) => groups[groupOf[op]!]!.strategies[choice[groupOf[op]!]!]!.members.get(op)!;
  const reshardOf = new Map<number, PricedCollective[]>();
  let reshardSec = 0;
  for (const edge of model.tensorEdges) {
    const { forward, backward } = edgeReshards(
      model,
      edge,
      chosen(edge.producer).strategy,
      chosen(edge.consumer).strategy,
    );
    const list = reshardOf.get(edge.consumer) ?? [];
    for (const [phase, r] of [
      ['forward', forward],
      ['backward', backward],
    ] as const) {
      for (const c of r.collectives) list.push({ ...c, phase, reason: `reshard ${edge.tensor}` });
      reshardSec += r.sec;
    }
    reshardOf.set(edge.consumer, list);
  }
  let computeSec = 0;
  let commSec = 0;
  let memory = 0;
  const ops: OpLayoutOut[] = graph.ops.map((op) => {
    const { strategy, cost } = chosen(op.index);
    const leader = groups[groupOf[op.index]!]!.leader;
    const collectives = [...cost.collectives, ...(reshardOf.get(op.index) ?? [])];
    computeSec += cost.forwardSec + cost.backwardSec;
    commSec += cost.commSec;
    memory += cost.paramStateBytes + cost.activationBytes;
    const out = graph.tensors.get(op.output)!;
    return {
      op: op.name,
      kind: op.kind,
      follows: leader === op.index ? null : graph.ops[leader]!.name,
      strategy: { axis0: strategy.split[0], axis1: strategy.split[1], label: strategyLabel(strategy) },
      inputSpecs: op.inputs.map((t, i) =>
        specOut(t, operandLayout(strategy, op.einsum.inputs[i]!), graph.tensors.get(t)!.shape.length),
      ),
      outputSpec: specOut(
        op.output,
        outputLayout(op, strategy, model.keepsPartial[op.index]!),
        out.shape.length,
      ),
      collectives: collectives.map((c) => ({ ...c })),
      computeSec: { forward: cost.forwardSec, backward: cost.backwardSec },
      commSec: collectives.reduce((s, c) => s + c.sec, 0),
      memoryBytes: { paramState: cost.paramStateBytes, activations: cost.activationBytes },
    };
  });
  return {
    ops,
    totals: {
      computeSec,
      commSec,
      reshardSec,
      totalSec: computeSec + commSec + reshardSec,
      memoryBytesPerDevice: memory,
    },
  };
}
