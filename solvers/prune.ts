/**
 * Exact preprocessing: removes strategies that no optimal choice needs, so the MILP and the elimination DP
 * see smaller problems. Every rule keeps at least one optimal choice intact:
 * - forbidden: infinite node cost, or an infinite edge row/column towards every live neighbour strategy;
 * - over budget: the strategy's memory plus the least memory of all other nodes already exceeds the budget;
 * - dominated: another strategy is no worse in cost, memory (when there is a budget) and every incident
 *   edge row/column; of exact duplicates the lowest index stays.
 * Self-edges are folded into node costs first. Rules are applied until nothing changes, since removing a strategy can expose new dominance next door.
 */
import type { IlpEdge, IlpProblem } from './problem.ts';
import { fitsBudget } from './verify.ts';

export interface PrunedProblem {
  /** The reduced problem (same nodes, fewer strategies, all-zero edges dropped). */
  readonly problem: IlpProblem;
  /** kept[v][k] is the original index of the reduced problem's strategy k of node v. */
  readonly kept: readonly (readonly number[])[];
  /** True when some node has no strategy left: no choice is finite and within the budget. */
  readonly infeasible: boolean;
}

interface Incidence {
  readonly edge: IlpEdge;
  /** Whether this node is the edge's `from` (its strategies index rows) or its `to` (columns). */
  readonly isFrom: boolean;
}

/** Cost on `edge` when this node takes strategy `mine` and the other end takes `theirs`. */
function entry(incidence: Incidence, mine: number, theirs: number): number {
  const { edge, isFrom } = incidence;
  return isFrom ? edge.cost[mine]![theirs]! : edge.cost[theirs]![mine]!;
}

/** A self-edge (from = to) only ever sees its diagonal: fold it into the node's cost. */
function foldSelfEdges(problem: IlpProblem): IlpProblem {
  if (problem.edges.every((edge) => edge.from !== edge.to)) return problem;
  const cost = problem.nodes.map((node) => [...node.cost]);
  for (const edge of problem.edges) {
    if (edge.from !== edge.to) continue;
    const nodeCost = cost[edge.from]!;
    for (let k = 0; k < nodeCost.length; k++) nodeCost[k]! += edge.cost[k]![k]!;
  }
  return {
    ...problem,
    nodes: problem.nodes.map((node, v) => ({ ...node, cost: cost[v]! })),
    edges: problem.edges.filter((edge) => edge.from !== edge.to),
  };
}

export function pruneProblem(input: IlpProblem): PrunedProblem {
  const problem = foldSelfEdges(input);
  const alive = problem.nodes.map((node) => node.cost.map((c) => c !== Number.POSITIVE_INFINITY));
  const incidences: Incidence[][] = problem.nodes.map(() => []);
  for (const edge of problem.edges) {
    incidences[edge.from]!.push({ edge, isFrom: true });
    incidences[edge.to]!.push({ edge, isFrom: false });
  }
  const liveOf = (v: number) => alive[v]!.flatMap((isAlive, k) => (isAlive ? [k] : []));
  const other = (inc: Incidence) => (inc.isFrom ? inc.edge.to : inc.edge.from);

  const removeForbidden = (v: number): boolean => {
    let changed = false;
    for (const k of liveOf(v)) {
      const blocked = incidences[v]!.some((inc) =>
        liveOf(other(inc)).every((l) => entry(inc, k, l) === Number.POSITIVE_INFINITY),
      );
      if (blocked) {
        alive[v]![k] = false;
        changed = true;
      }
    }
    return changed;
  };

  const removeOverBudget = (): boolean => {
    const budget = problem.memoryBudget;
    if (budget === null) return false;
    const least = problem.nodes.map((node, v) => Math.min(...liveOf(v).map((k) => node.memory[k]!)));
    const total = least.reduce((a, b) => a + b, 0);
    let changed = false;
    problem.nodes.forEach((node, v) => {
      for (const k of liveOf(v)) {
        if (!fitsBudget(total - least[v]! + node.memory[k]!, budget)) {
          alive[v]![k] = false;
          changed = true;
        }
      }
    });
    return changed;
  };

  /** Whether strategy `better` of node v dominates strategy `worse` (ties broken by index). */
  const dominates = (v: number, better: number, worse: number): boolean => {
    const node = problem.nodes[v]!;
    let strictly = better < worse;
    const compare = (a: number, b: number): boolean => {
      if (a > b) return false;
      if (a < b) strictly = true;
      return true;
    };
    if (!compare(node.cost[better]!, node.cost[worse]!)) return false;
    if (problem.memoryBudget !== null && !compare(node.memory[better]!, node.memory[worse]!)) return false;
    for (const inc of incidences[v]!) {
      for (const l of liveOf(other(inc)))
        if (!compare(entry(inc, better, l), entry(inc, worse, l))) return false;
    }
    return strictly;
  };

  const removeDominated = (v: number): boolean => {
    let changed = false;
    const live = liveOf(v);
    for (const worse of live) {
      if (live.some((better) => better !== worse && alive[v]![better] && dominates(v, better, worse))) {
        alive[v]![worse] = false;
        changed = true;
      }
    }
    return changed;
  };

  let changed = true;
  while (changed) {
    changed = removeOverBudget();
    for (let v = 0; v < problem.nodes.length; v++) {
      if (liveOf(v).length === 0) return { problem, kept: [], infeasible: true };
      changed = removeForbidden(v) || changed;
      changed = removeDominated(v) || changed;
    }
  }
  if (alive.some((strategies) => !strategies.includes(true))) return { problem, kept: [], infeasible: true };
  const kept = problem.nodes.map((_, v) => liveOf(v));
  return { problem: restrict(problem, kept), kept, infeasible: false };
}

function restrict(problem: IlpProblem, kept: readonly (readonly number[])[]): IlpProblem {
  const nodes = problem.nodes.map((node, v) => ({
    cost: kept[v]!.map((k) => node.cost[k]!),
    memory: kept[v]!.map((k) => node.memory[k]!),
  }));
  const edges = problem.edges
    .map((edge) => ({
      from: edge.from,
      to: edge.to,
      cost: kept[edge.from]!.map((k) => kept[edge.to]!.map((l) => edge.cost[k]![l]!)),
    }))
    // An all-zero edge adds nothing to any choice; dropping it saves MILP columns and DP factors.
    .filter((edge) => edge.cost.some((row) => row.some((c) => c !== 0)));
  return { ...problem, nodes, edges };
}

/** Maps a choice of the reduced problem back to strategy indices of the original problem. */
export function expandChoice(pruned: PrunedProblem, choice: readonly number[]): number[] {
  return choice.map((k, v) => pruned.kept[v]![k]!);
}
