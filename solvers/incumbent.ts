/**
 * A quick feasible choice for a budgeted problem, used as a MILP warm start and as the answer of last
 * resort when the MILP stops without one: start from the leanest strategy of every node (which fits
 * whenever anything fits) and improve by single-node moves that lower the cost and keep the budget, until
 * none is left or the deadline passes. A local optimum, not a proof.
 */
import type { IlpProblem } from './problem.ts';
import { fitsBudget } from './verify.ts';

interface Neighbour {
  readonly other: number;
  readonly cost: readonly (readonly number[])[];
  /** Whether this node indexes the edge's rows (it is the edge's `from`). */
  readonly isFrom: boolean;
}

/**
 * Starts from `start` when given (a choice within the budget), else from the leanest choice. Returns null
 * when the start is over the budget or has an infinite cost.
 */
export function greedyIncumbent(
  problem: IlpProblem,
  deadlineMs = Number.POSITIVE_INFINITY,
  start?: readonly number[],
): { choice: number[]; objective: number } | null {
  const { nodes, edges } = problem;
  const neighbours: Neighbour[][] = nodes.map(() => []);
  for (const edge of edges) {
    neighbours[edge.from]!.push({ other: edge.to, cost: edge.cost, isFrom: true });
    if (edge.from !== edge.to)
      neighbours[edge.to]!.push({ other: edge.from, cost: edge.cost, isFrom: false });
  }
  const choice = start ? [...start] : leanestChoice(problem);
  let memory = nodes.reduce((sum, node, v) => sum + node.memory[choice[v]!]!, 0);
  if (!fitsBudget(memory, problem.memoryBudget)) return null;

  /** Cost of node v at strategy k with its neighbours as chosen (a self-edge sees its diagonal). */
  const localCost = (v: number, k: number): number => {
    let cost = nodes[v]!.cost[k]!;
    for (const n of neighbours[v]!) {
      const theirs = n.other === v ? k : choice[n.other]!;
      cost += n.isFrom ? n.cost[k]![theirs]! : n.cost[theirs]![k]!;
    }
    return cost;
  };
  for (let improved = true; improved && performance.now() < deadlineMs; ) {
    improved = false;
    for (let v = 0; v < nodes.length; v++) {
      const current = choice[v]!;
      const currentCost = localCost(v, current);
      let best = current;
      let bestCost = currentCost;
      for (let k = 0; k < nodes[v]!.cost.length; k++) {
        if (k === current) continue;
        const newMemory = memory - nodes[v]!.memory[current]! + nodes[v]!.memory[k]!;
        if (!fitsBudget(newMemory, problem.memoryBudget)) continue;
        const cost = localCost(v, k);
        if (cost < bestCost) {
          best = k;
          bestCost = cost;
        }
      }
      if (best !== current) {
        memory += nodes[v]!.memory[best]! - nodes[v]!.memory[current]!;
        choice[v] = best;
        improved = true;
      }
    }
  }
  let objective = nodes.reduce((sum, node, v) => sum + node.cost[choice[v]!]!, 0);
  for (const edge of edges) objective += edge.cost[choice[edge.from]!]![choice[edge.to]!]!;
  return Number.isFinite(objective) ? { choice, objective } : null;
}

/** The leanest strategy of every node (the cheaper among equally lean ones): fits whenever anything fits. */
function leanestChoice(problem: IlpProblem): number[] {
  return problem.nodes.map((node) => {
    let best = 0;
    for (let k = 1; k < node.cost.length; k++) {
      const lighter = node.memory[k]! < node.memory[best]!;
      const asLightCheaper = node.memory[k] === node.memory[best] && node.cost[k]! < node.cost[best]!;
      if (lighter || asLightCheaper) best = k;
    }
    return best;
  });
}
