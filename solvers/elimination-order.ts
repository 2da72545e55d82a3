/**
 * Greedy elimination order for the variable-elimination DP. Eliminating a variable builds a table over it
 * and its current neighbours, so the greedy step picks the variable whose table is smallest (a weighted
 * min-degree), breaking ties by the fill-in it causes. On chains and residual blocks this finds the
 * optimal order (tables of 2 or 3 variables).
 */

export interface EliminationOrder {
  readonly order: readonly number[];
  /** Entries of the largest table the order builds (product of domain sizes of a variable and its neighbours). */
  readonly largestTable: number;
  /** Σ over the steps of table entries × factors read per entry (about degree + 1): a lower bound on the work. */
  readonly estimatedWork: number;
}

/**
 * Returns null as soon as every remaining variable would need a table over `maxTableEntries` entries: the
 * graph is then too wide for the DP, and the caller falls back to a MILP.
 */
export function eliminationOrder(
  domainSizes: readonly number[],
  edges: readonly (readonly [number, number])[],
  maxTableEntries: number,
): EliminationOrder | null {
  const neighbours = domainSizes.map(() => new Set<number>());
  for (const [a, b] of edges) {
    neighbours[a]!.add(b);
    neighbours[b]!.add(a);
  }
  const remaining = new Set(domainSizes.keys());
  const tableSize = (x: number) => {
    let size = domainSizes[x]!;
    for (const y of neighbours[x]!) size *= domainSizes[y]!;
    return size;
  };
  const fillIn = (x: number) => {
    const around = [...neighbours[x]!];
    let missing = 0;
    for (let i = 0; i < around.length; i++) {
      for (let j = i + 1; j < around.length; j++) if (!neighbours[around[i]!]!.has(around[j]!)) missing++;
    }
    return missing;
  };
  const order: number[] = [];
  let largestTable = 1;
  let estimatedWork = 0;
  while (remaining.size > 0) {
    let best = -1;
    let bestSize = Number.POSITIVE_INFINITY;
    let bestFill = Number.POSITIVE_INFINITY;
    for (const x of remaining) {
      const size = tableSize(x);
      if (size > bestSize) continue;
      const fill = size < bestSize || bestFill > 0 ? fillIn(x) : bestFill;
      if (size < bestSize || fill < bestFill) {
        best = x;
        bestSize = size;
        bestFill = fill;
      }
    }
    if (bestSize > maxTableEntries) return null;
    largestTable = Math.max(largestTable, bestSize);
    estimatedWork += bestSize * (neighbours[best]!.size + 1);
    const around = [...neighbours[best]!];
    for (const y of around) {
      neighbours[y]!.delete(best);
      for (const z of around) if (z !== y) neighbours[y]!.add(z);
    }
    remaining.delete(best);
    order.push(best);
  }
  return { order, largestTable, estimatedWork };
}
