/**
 * Pareto frontiers of (cost, memory) pairs for the elimination DP. With a memory budget a table entry cannot
 * keep only its cheapest partial choice (a dearer but leaner one may be the only one that fits later), so it
 * keeps every pair that no other pair beats in both cost and memory. Without a budget the frontier
 * degenerates to the single cheapest point. Frontiers are kept sorted by cost (so memory decreases).
 */

export interface FrontierPoint {
  readonly cost: number;
  readonly memory: number;
  /** Value of the eliminated variable that produced this point (-1 for original factors and the final merge). */
  readonly value: number;
  /**
   * Back-pointers as a chain rather than an array (allocating an array per candidate made garbage collection
   * the main cost): this point used point `index` of input `slot`, plus whatever `previous` used. Inputs
   * not named in the chain contributed their only point, index 0.
   */
  readonly slot: number;
  readonly index: number;
  readonly previous: FrontierPoint | null;
}

/** Index of the point used in each of `inputCount` inputs, read from the back-pointer chain. */
export function partsOf(point: FrontierPoint, inputCount: number): number[] {
  const parts = new Array<number>(inputCount).fill(0);
  for (let p: FrontierPoint | null = point; p !== null; p = p.previous)
    if (p.slot >= 0) parts[p.slot] = p.index;
  return parts;
}

export type Frontier = readonly FrontierPoint[];

export interface FrontierRules {
  /** Whether memory matters (there is a budget); if not, only the cheapest point is kept. */
  readonly budgeted: boolean;
  /** Points with more memory than this cannot be completed within the budget. */
  readonly memoryCeiling: number;
  /**
   * Points with at most this much memory fit the budget however they are completed, so among them only the
   * cheapest matters: the frontier can stop there.
   */
  readonly memorySafe: number;
  /**
   * Lagrangian pruning (lagrangian.ts): a point with cost + weight·memory above `weightedCeiling` cannot be
   * completed into a choice better than the incumbent. Infinity when there is no such bound.
   */
  readonly weight: number;
  readonly weightedCeiling: number;
}

/** Whether a point of this cost and memory may still be part of a choice worth having. */
export const admissible = (cost: number, memory: number, rules: FrontierRules) =>
  memory <= rules.memoryCeiling && cost + rules.weight * memory <= rules.weightedCeiling;

const byCostThenMemory = (a: FrontierPoint, b: FrontierPoint) => a.cost - b.cost || a.memory - b.memory;

/**
 * Keeps the non-dominated points (one of each set of equal points) of a list sorted by cost then memory,
 * under the ceiling, and nothing after the first point that is safe.
 */
function pruneSorted(sorted: readonly FrontierPoint[], rules: FrontierRules): FrontierPoint[] {
  const kept: FrontierPoint[] = [];
  let leanest = Number.POSITIVE_INFINITY;
  for (const p of sorted) {
    if (p.memory >= leanest || !admissible(p.cost, p.memory, rules)) continue;
    kept.push(p);
    leanest = p.memory;
    if (p.memory <= rules.memorySafe) break;
  }
  return kept;
}

/** Union of frontiers, pruned. Each input is sorted, so a pairwise merge replaces a sort. */
export function mergeFrontiers(frontiers: readonly Frontier[], rules: FrontierRules): FrontierPoint[] {
  if (!rules.budgeted) {
    let best: FrontierPoint | undefined;
    for (const frontier of frontiers)
      for (const p of frontier) if (best === undefined || p.cost < best.cost) best = p;
    return best === undefined ? [] : [best];
  }
  let lists = frontiers.filter((f) => f.length > 0);
  while (lists.length > 1) {
    const next: Frontier[] = [];
    for (let i = 0; i < lists.length; i += 2) {
      const a = lists[i]!;
      const b = lists[i + 1];
      if (b === undefined) {
        next.push(a);
        continue;
      }
      const merged: FrontierPoint[] = [];
      let ia = 0;
      let ib = 0;
      while (ia < a.length || ib < b.length) {
        const takeA = ib >= b.length || (ia < a.length && byCostThenMemory(a[ia]!, b[ib]!) <= 0);
        merged.push(takeA ? a[ia++]! : b[ib++]!);
      }
      next.push(pruneSorted(merged, rules));
    }
    lists = next;
  }
  return lists.length === 0 ? [] : pruneSorted(lists[0]!, rules);
}

/**
 * Sums of one point of `left` and one of `right`, pruned; each result points back at its `left` point and
 * at `right[index]` as input `slot`. Candidates live in typed arrays and only survivors become objects.
 */
export function minkowskiSum(
  left: Frontier,
  right: Frontier,
  slot: number,
  rules: FrontierRules,
): FrontierPoint[] {
  const width = right.length;
  const cost = new Float64Array(left.length * width);
  const memory = new Float64Array(left.length * width);
  const order: number[] = [];
  left.forEach((a, i) => {
    right.forEach((b, j) => {
      const index = i * width + j;
      cost[index] = a.cost + b.cost;
      memory[index] = a.memory + b.memory;
      if (admissible(cost[index]!, memory[index]!, rules)) order.push(index);
    });
  });
  if (!rules.budgeted) {
    const cheapest = order.reduce((best, index) => (cost[index]! < cost[best]! ? index : best), order[0]!);
    order.length = Math.min(order.length, 1);
    if (order.length > 0) order[0] = cheapest;
  } else if (left.length > 1) {
    // With one left point the sums keep right's order; otherwise they need sorting.
    order.sort((x, y) => cost[x]! - cost[y]! || memory[x]! - memory[y]!);
  }
  const kept: FrontierPoint[] = [];
  let leanest = Number.POSITIVE_INFINITY;
  for (const index of order) {
    if (memory[index]! >= leanest) continue;
    const a = left[Math.floor(index / width)]!;
    kept.push({
      cost: cost[index]!,
      memory: memory[index]!,
      value: a.value,
      slot,
      index: index % width,
      previous: a,
    });
    leanest = memory[index]!;
    if (leanest <= rules.memorySafe) break;
  }
  return kept;
}
