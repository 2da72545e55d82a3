/**
 * Seeded random IlpProblems for tests and benchmarks. The shapes mimic what the planner produces: chains of
 * operators, residual blocks (a skip edge around each block), and general DAGs.
 */
import type { IlpEdge, IlpNode, IlpProblem } from './problem.ts';

export type RandomGraphShape = 'dag' | 'chain' | 'residual';

export interface RandomProblemOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Strategies per node: a fixed count, or [min, max] drawn per node. */
  readonly strategies: number | readonly [number, number];
  /** Default 'dag'. */
  readonly shape?: RandomGraphShape;
  /** 'dag' only: probability of each forward edge i → j. Default 0.3. */
  readonly edgeProbability?: number;
  /** 'residual' only: nodes per block; a skip edge joins each block's first and last node. Default 3. */
  readonly blockSize?: number;
  /**
   * null: no budget (default). A number t in [0, 1]: budget = min + t·(max − min) of the total memory, so
   * small t binds (rounded to a half-integer, see budgetFor). 'infeasible': half the minimum possible
   * memory, so no choice fits.
   */
  readonly budget?: number | 'infeasible' | null;
  /** Probability that a node cost or an edge entry is Infinity (forbidden). Default 0. */
  readonly forbiddenProbability?: number;
  /** Whole-number costs (many ties) instead of fractional ones. Default false. */
  readonly integerCosts?: boolean;
  /** Default 10. */
  readonly timeLimitSec?: number;
}

/** mulberry32: tiny, fast, good enough for test data; returns floats in [0, 1). */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function edgePairs(options: RandomProblemOptions, rng: () => number): [number, number][] {
  const n = options.nodes;
  const pairs: [number, number][] = [];
  const shape = options.shape ?? 'dag';
  if (shape === 'dag') {
    const p = options.edgeProbability ?? 0.3;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (rng() < p) pairs.push([i, j]);
    return pairs;
  }
  for (let i = 0; i + 1 < n; i++) pairs.push([i, i + 1]);
  if (shape === 'residual') {
    const block = options.blockSize ?? 3;
    for (let start = 0; start + block < n; start += block) pairs.push([start, start + block]);
  }
  return pairs;
}

export function randomProblem(options: RandomProblemOptions): IlpProblem {
  const rng = createRng(options.seed);
  const forbidden = options.forbiddenProbability ?? 0;
  const draw = (scale: number) => (options.integerCosts ? Math.floor(rng() * scale) : rng() * scale);
  const cost = (scale: number) => (rng() < forbidden ? Number.POSITIVE_INFINITY : draw(scale));
  const [minK, maxK] =
    typeof options.strategies === 'number' ? [options.strategies, options.strategies] : options.strategies;
  const nodes: IlpNode[] = Array.from({ length: options.nodes }, () => {
    const k = minK + Math.floor(rng() * (maxK - minK + 1));
    return {
      cost: Array.from({ length: k }, () => cost(10)),
      memory: Array.from({ length: k }, () => 1 + Math.floor(rng() * 100)),
    };
  });
  const edges: IlpEdge[] = edgePairs(options, rng).map(([from, to]) => ({
    from,
    to,
    // About a third of the entries are free, as when both ends agree on a layout.
    cost: nodes[from]!.cost.map(() => nodes[to]!.cost.map(() => (rng() < 0.3 ? 0 : cost(5)))),
  }));
  return {
    nodes,
    edges,
    memoryBudget: budgetFor(nodes, options.budget ?? null),
    timeLimitSec: options.timeLimitSec ?? 10,
  };
}

function budgetFor(nodes: readonly IlpNode[], budget: number | 'infeasible' | null): number | null {
  if (budget === null) return null;
  const least = nodes.reduce((sum, node) => sum + Math.min(...node.memory), 0);
  const most = nodes.reduce((sum, node) => sum + Math.max(...node.memory), 0);
  if (budget === 'infeasible') return least / 2;
  // Memories are whole numbers; a budget halfway between two sums puts no choice on the boundary, where
  // the solvers' feasibility tolerances (1e-7 to 1e-9) could disagree with an exact check.
  return Math.floor(least + budget * (most - least)) + 0.5;
}
