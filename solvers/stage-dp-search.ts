/**
 * Which t_max bounds to run the stage DP at. Write G(t) for the least Σ latency + once_0 over solutions whose
 * stages all take ≤ t. G is a non-increasing step function that changes only at option latencies, and the
 * optimum is min over those latencies t of G(t) + (B − 1)·t (Alpa tries them all, upward, until B·t ≥ best).
 *
 * Here the candidates form intervals searched best-first (least lower bound first), each bisected: the
 * middle candidates are cheap to run (few options fit) and split the interval best. A run at t returns a
 * solution with Σ = G(t) and some max latency m ≤ t. Then:
 * - candidates in [m, t] cannot beat it: G is G(t) all along there and their max is ≥ m;
 * - candidates below m have G ≥ G(t), so any solution there costs ≥ G(t) + (B − 1)·(its lowest candidate);
 * - candidates above t keep the bound their interval had.
 * An interval whose bound max(G_bound, t_low) + (B − 1)·t_low (Σ ≥ max, too) reaches the best T is dropped.
 * Its right end is trimmed the same way before bisecting. A probe only looks for solutions that could beat
 * the best from that interval, Σ + once_0 < best − (B − 1)·t_low; finding none settles candidates up to t.
 * Until a first solution is found, a run that finds none is followed by one at the highest candidate, which
 * admits every option: it finds a solution or proves there is none.
 */

/** Distinct latencies, ascending, merged into groups [lowest, highest] of near-equal values. */
export interface CandidateGroups {
  readonly lowest: readonly number[];
  readonly highest: readonly number[];
}

/**
 * Groups ascending distinct latencies: values within `mergeRelative` (relative) of their group's first share
 * one group. The run for a group uses its highest value as the bound, so it admits every solution a run at
 * any member would: merging never skips a solution (Alpa's gap does), it can only report a max up to the
 * group's width above the best one.
 */
export function candidateGroups(distinct: Float64Array, mergeRelative: number): CandidateGroups {
  const lowest: number[] = [];
  const highest: number[] = [];
  for (const t of distinct) {
    if (lowest.length > 0 && t - lowest[lowest.length - 1]! <= mergeRelative * t)
      highest[highest.length - 1] = t;
    else {
      lowest.push(t);
      highest.push(t);
    }
  }
  return { lowest, highest };
}

/**
 * One DP run: the least Σ latency + once_0 over solutions with every stage ≤ t_max, and that solution's max
 * latency; null if no such solution has Σ + once_0 below `sumBudget`.
 */
export type Probe = (
  tMaxSec: number,
  sumBudget: number,
) => { readonly leastSum: number; readonly maxLatencySec: number } | null;

export interface SearchInputs {
  readonly groups: CandidateGroups;
  readonly microbatches: number;
  /** Best T found so far (probes lower it). */
  readonly bestStepSec: () => number;
  readonly probe: Probe;
  /** Checked before each probe; true ends the search. */
  readonly outOfTime: () => boolean;
}

interface Interval {
  readonly first: number;
  readonly last: number;
  /** No candidate of the interval has G below this. */
  readonly leastSum: number;
  /** Probe the highest candidate rather than the middle one. */
  readonly top: boolean;
}

/** Largest index in [from, to] whose value is ≤ limit (values ascending), or from − 1 if none. */
function lastAtMost(values: readonly number[], from: number, to: number, limit: number): number {
  let lo = from - 1;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (values[mid]! <= limit) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Runs probes until every candidate is settled or time runs out. */
export function searchCandidates(inputs: SearchInputs): void {
  const { microbatches: B, probe } = inputs;
  const { lowest, highest } = inputs.groups;
  const lowerBound = (candidate: number, leastSum: number): number =>
    Math.max(leastSum, lowest[candidate]!) + (B - 1) * lowest[candidate]!;
  const open: Interval[] = [];
  if (lowest.length > 0) open.push({ first: 0, last: lowest.length - 1, leastSum: 0, top: false });
  while (open.length > 0) {
    let pick = 0;
    for (let i = 1; i < open.length; i++) {
      if (
        lowerBound(open[i]!.first, open[i]!.leastSum) < lowerBound(open[pick]!.first, open[pick]!.leastSum)
      ) {
        pick = i;
      }
    }
    const { first, last: end, leastSum, top } = open[pick]!;
    const best = inputs.bestStepSec();
    if (lowerBound(first, leastSum) >= best) return;
    open.splice(pick, 1);
    // The bound grows with t: keep the candidates whose bound is still below the best (first is one).
    let last = first;
    for (let hi = end; last < hi; ) {
      const mid = (last + hi + 1) >> 1;
      if (lowerBound(mid, leastSum) < best) last = mid;
      else hi = mid - 1;
    }
    if (inputs.outOfTime()) return;
    const split = top ? last : (first + last) >> 1;
    // A solution of this interval beats the best only if Σ + once_0 < best − (B − 1)·(its lowest candidate).
    const found = probe(highest[split]!, best - (B - 1) * lowest[first]!);
    // With nothing found yet, the next probe admits every option of the rest: a solution, or a proof of none.
    const noneYet = found === null && best === Number.POSITIVE_INFINITY;
    if (split < last) open.push({ first: split + 1, last, leastSum, top: noneYet });
    if (found === null) continue;
    // Candidates from the group holding the found max up to the split are settled; those below it are not.
    const settledFrom = lastAtMost(lowest, first, split, found.maxLatencySec);
    if (settledFrom > first) {
      open.push({ first, last: settledFrom - 1, leastSum: Math.max(leastSum, found.leastSum), top: false });
    }
  }
}
