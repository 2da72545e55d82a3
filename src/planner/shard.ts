import { solveIlpIsolated } from '../../solvers/index.ts';
import type { BackendChoice, IlpSolution } from '../../solvers/problem.ts';
import type { Cluster } from '../cluster/cluster.ts';
import type { LogicalMesh } from '../cluster/mesh.ts';
import { toIlpProblem } from '../cost/ilp-problem.ts';
import { buildIntraOpModel, type IntraOpModel, strandedOps, strategiesOfChoice } from '../cost/intra-op.ts';
import { evaluateLayout } from '../cost/layout-eval.ts';
import { PARAM_STATE_BYTES } from '../cost/memory.ts';
import type { OpGraph } from '../graph/graph.ts';
import type { IntraOpPlan } from '../schema/index.ts';
import { describeOps } from './describe.ts';

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
    allowReplicatedMatmul: options.allowReplicatedMatmul,
  });
  const problem = toIlpProblem(model, options.memoryBudgetBytes, options.timeLimitSec ?? 30);
  const stranded = strandedOps(model);
  const base = (solver: Pick<IntraOpPlan['solver'], 'status' | 'backend' | 'wallSec'>) => ({
    graph: graph.name,
    mesh: meshOut(mesh),
    memoryBudgetBytes: options.memoryBudgetBytes,
    solver: {
      ...solver,
      ilpNodes: problem.nodes.length,
      ilpEdges: problem.edges.length,
      strategies: problem.nodes.reduce((s, n) => s + n.cost.length, 0),
    },
  });
  // An op no strategy fits on this mesh (an axis none of its dimensions divides) is an answer, not a solve.
  if (stranded.length > 0) {
    const named = `${stranded.slice(0, 5).join(', ')}${stranded.length > 5 ? ` and ${stranded.length - 5} more` : ''}`;
    return {
      ...base({ status: 'infeasible', backend: 'none', wallSec: 0 }),
      status: 'infeasible',
      reason: `${named} ${stranded.length === 1 ? 'has' : 'have'} no valid sharding on the ${mesh.shape[0]}×${mesh.shape[1]} mesh: every mesh axis larger than 1 must split a dimension it divides (or the op must be replicable)`,
      ops: [],
      totals: null,
    };
  }
  const solution = await solveIlpIsolated(problem, {
    backend: options.backend ?? 'auto',
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const solved = base({ status: solution.status, backend: solution.backend, wallSec: solution.wallSec });
  if (solution.choice === null) {
    return {
      ...solved,
      status: solution.status,
      reason: noPlanReason(model, solution, options.memoryBudgetBytes),
      ops: [],
      totals: null,
    };
  }
  return { ...solved, status: solution.status, ...describeChoice(model, options, solution.choice) };
}

/** The mesh as a plan reports it: its shape and each axis's link. */
function meshOut(mesh: LogicalMesh): IntraOpPlan['mesh'] {
  return {
    shape: [mesh.shape[0], mesh.shape[1]],
    axes: mesh.axes.map((a) => ({
      size: a.size,
      spansNodes: a.spansNodes,
      bandwidthGBps: 1 / a.betaSecPerByte / 1e9,
      latencyUs: a.alphaSec * 1e6,
    })),
  };
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

function describeChoice(
  model: IntraOpModel,
  options: ShardOptions,
  choice: readonly number[],
): Pick<IntraOpPlan, 'ops' | 'totals'> {
  const strategies = strategiesOfChoice(model, choice);
  // The ILP's own choice is always valid on its mesh.
  const evaluated = evaluateLayout(
    options.graph,
    options.mesh,
    { gpu: options.cluster.gpu, recompute: 'none' },
    (op) => strategies[op]!,
  )!;
  const bytesPerParam = PARAM_STATE_BYTES;
  return {
    ops: describeOps(options.graph, evaluated, model.coarsening, bytesPerParam),
    totals: {
      computeSec: evaluated.forwardComputeSec + evaluated.backwardComputeSec,
      commSec: evaluated.commSec + evaluated.gradSyncSec,
      reshardSec: evaluated.reshardSec,
      totalSec: evaluated.totalSec + evaluated.gradSyncSec,
      memoryBytesPerDevice: evaluated.paramElements * bytesPerParam + evaluated.activationBytes,
    },
  };
}
