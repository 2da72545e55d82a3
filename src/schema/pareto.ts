/**
 * Pareto dominance over vectors of objectives, every objective minimised (negate one to maximise
 * it). Pure and generic, here because schema is the one room that both users may import (DESIGN.md
 * §2): the planner, for a plan's alternatives, and the sweeps, for a sweep's frontier.
 */

/** `a` is no worse than `b` on every objective and better on at least one. */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (const [i, value] of a.entries()) {
    const other = b[i]!;
    if (value > other) return false;
    if (value < other) better = true;
  }
  return better;
}

function lexicographic(a: readonly number[], b: readonly number[]): number {
  for (const [i, value] of a.entries()) {
    if (value !== b[i]!) return value - b[i]!;
  }
  return 0;
}

/**
 * The items no other item dominates, in their given order; items with equal objectives are all kept
 * (neither dominates the other). Objectives must be numbers, not NaN.
 */
export function nonDominated<T>(items: readonly T[], objectives: (item: T) => readonly number[]): T[] {
  const keyed = items.map((item, index) => ({ item, index, key: objectives(item) }));
  // A dominating vector sorts before the one it dominates, and dominance is transitive: checking each
  // item against the kept ones before it is enough (a dropped dominator is dominated by a kept one).
  const kept: typeof keyed = [];
  for (const entry of [...keyed].sort((a, b) => lexicographic(a.key, b.key))) {
    if (!kept.some((k) => dominates(k.key, entry.key))) kept.push(entry);
  }
  return kept.sort((a, b) => a.index - b.index).map((k) => k.item);
}
