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
  const nodeCount = problem.nodes.length;
  const alive = problem.nodes.map((node) => node.cost.map((c) => c !== Number.POSITIVE_INFINITY));
  // The live strategies of each node, rebuilt only when the node loses one: the rules read them in
  // their innermost loops, and recomputing them there made pruning quadratic (44% of planning CPU).
  const live = alive.map((strategies) => strategies.flatMap((isAlive, k) => (isAlive ? [k] : [])));
  const incidences: Incidence[][] = problem.nodes.map(() => []);
  for (const edge of problem.edges) {
    incidences[edge.from]!.push({ edge, isFrom: true });
    incidences[edge.to]!.push({ edge, isFrom: false });
  }
  const other = (inc: Incidence) => (inc.isFrom ? inc.edge.to : inc.edge.from);
  const budget = problem.memoryBudget;
  const leastMemory = (v: number) =>
    live[v]!.reduce((least, k) => Math.min(least, problem.nodes[v]!.memory[k]!), Number.POSITIVE_INFINITY);
  const least = problem.nodes.map((_, v) => leastMemory(v));
  let totalLeast = least.reduce((a, b) => a + b, 0);

  /** Worklist: a node is looked at again only when it or a neighbour lost a strategy. */
  const queued = new Uint8Array(nodeCount).fill(1);
  const queue = [...problem.nodes.keys()].reverse();
  let budgetChanged = budget !== null;
  const afterRemoval = (v: number) => {
    live[v] = alive[v]!.flatMap((isAlive, k) => (isAlive ? [k] : []));
    const newLeast = leastMemory(v);
    if (newLeast !== least[v]) {
      totalLeast += newLeast - least[v]!;
      least[v] = newLeast;
      budgetChanged = budget !== null;
    }
    for (const u of [v, ...incidences[v]!.map(other)]) {
      if (queued[u] === 1) continue;
      queued[u] = 1;
      queue.push(u);
    }
  };

  const removeForbidden = (v: number): boolean => {
    let changed = false;
    for (const k of live[v]!) {
      const blocked = incidences[v]!.some((inc) =>
        live[other(inc)]!.every((l) => entry(inc, k, l) === Number.POSITIVE_INFINITY),
      );
      if (blocked) {
        alive[v]![k] = false;
        changed = true;
      }
    }
    return changed;
  };

  /** Strategies whose memory plus the least memory of every other node exceeds the budget. */
  const removeOverBudget = (v: number): boolean => {
    if (budget === null) return false;
    let changed = false;
    for (const k of live[v]!) {
      if (!fitsBudget(totalLeast - least[v]! + problem.nodes[v]!.memory[k]!, budget)) {
        alive[v]![k] = false;
        changed = true;
      }
    }
    return changed;
  };

  /**
   * Whether strategy `better` of node v dominates strategy `worse` (ties broken by index). Plain loops, no
   * closure: this runs K² times per node visit, and tsx wraps every named closure it creates.
   */
  const dominates = (v: number, better: number, worse: number): boolean => {
    const node = problem.nodes[v]!;
    let strictly = better < worse;
    if (node.cost[better]! > node.cost[worse]!) return false;
    if (node.cost[better]! < node.cost[worse]!) strictly = true;
    if (budget !== null) {
      if (node.memory[better]! > node.memory[worse]!) return false;
      if (node.memory[better]! < node.memory[worse]!) strictly = true;
    }
    for (const inc of incidences[v]!) {
      for (const l of live[other(inc)]!) {
        const a = entry(inc, better, l);
        const b = entry(inc, worse, l);
        if (a > b) return false;
        if (a < b) strictly = true;
      }
    }
    return strictly;
  };

  const removeDominated = (v: number): boolean => {
    let changed = false;
    const candidates = live[v]!;
    for (const worse of candidates) {
      if (candidates.some((better) => better !== worse && alive[v]![better] && dominates(v, better, worse))) {
        alive[v]![worse] = false;
        changed = true;
      }
    }
    return changed;
  };

  for (;;) {
    if (queue.length === 0) {
      if (!budgetChanged) break;
      // The least total memory rose: every node may now have strategies over the budget.
      budgetChanged = false;
      for (let v = 0; v < nodeCount; v++) if (removeOverBudget(v)) afterRemoval(v);
      continue;
    }
    const v = queue.pop()!;
    queued[v] = 0;
    if (live[v]!.length === 0) return { problem, kept: [], infeasible: true };
    const forbidden = removeForbidden(v);
    if (forbidden) live[v] = alive[v]!.flatMap((isAlive, k) => (isAlive ? [k] : []));
    const dominated = removeDominated(v);
    if (forbidden || dominated) afterRemoval(v);
  }
  if (live.some((strategies) => strategies.length === 0)) return { problem, kept: [], infeasible: true };
  return { problem: restrict(problem, live), kept: live, infeasible: false };
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
