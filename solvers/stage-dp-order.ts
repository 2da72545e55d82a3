/**
 * Orders each first layer's entries by latency, so that a DP run with bound t_max reads exactly the entries
 * it admits (a prefix of each layer's block) instead of filtering all of them. A comparison sort of ~10^5
 * entries per call would cost more than the runs it speeds up; ranking against the few distinct latencies
 * (most entries repeat an earlier one's) and two counting passes costs little more than O(n).
 */

export interface LatencyOrder {
  /** The distinct entry latencies, ascending. */
  readonly distinct: Float64Array;
  /** Entry indices: those of first layer k fill [entryStart[k], entryStart[k + 1]), by ascending latency. */
  readonly byLatency: Int32Array;
}

/** Index of the first value ≥ x in ascending `values`. */
function lowerBound(values: Float64Array, x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * `listed` holds every distinct latency at least once (repeats allowed); it is sorted in place. Entries of
 * first layer k are the indices [entryStart[k], entryStart[k + 1]) of `latencySec`. sameAs[e] is an earlier
 * entry with the same latency, or -1: only the others need a binary search for their rank.
 */
export function orderByLatency(
  latencySec: Float64Array,
  entryStart: Int32Array,
  listed: Float64Array,
  sameAs: Int32Array,
): LatencyOrder {
  listed.sort();
  let distinctCount = 0;
  for (let i = 0; i < listed.length; i++) {
    if (i === 0 || listed[i] !== listed[i - 1]) listed[distinctCount++] = listed[i]!;
  }
  const distinct = listed.slice(0, distinctCount);
  const n = latencySec.length;
  const rank = new Int32Array(n);
  const rankStart = new Int32Array(distinctCount + 1);
  for (let e = 0; e < n; e++) {
    rank[e] = sameAs[e]! >= 0 ? rank[sameAs[e]!]! : lowerBound(distinct, latencySec[e]!);
    rankStart[rank[e]! + 1]!++;
  }
  for (let r = 0; r < distinctCount; r++) rankStart[r + 1]! += rankStart[r]!;
  // Stable counting sort by rank, then a stable pass that regroups by first layer keeps the rank order.
  const byRank = new Int32Array(n);
  for (let e = 0; e < n; e++) byRank[rankStart[rank[e]!]!++] = e;
  const firstOf = new Int32Array(n);
  for (let k = 0; k + 1 < entryStart.length; k++) firstOf.fill(k, entryStart[k]!, entryStart[k + 1]!);
  const cursor = entryStart.slice();
  const byLatency = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const e = byRank[i]!;
    byLatency[cursor[firstOf[e]!]!++] = e;
  }
  return { distinct, byLatency };
}

/** The DP's per-entry fields, reordered: result.x[i] = x[order[i]] (one pass, since the reads are scattered). */
export function permuteFields(
  order: Int32Array,
  latencySec: Float64Array,
  next: Int32Array,
  devices: Int32Array,
  boundAfter: Int32Array,
): { latencySec: Float64Array; next: Int32Array; devices: Int32Array; boundAfter: Int32Array } {
  const n = order.length;
  const result = {
    latencySec: new Float64Array(n),
    next: new Int32Array(n),
    devices: new Int32Array(n),
    boundAfter: new Int32Array(n),
  };
  for (let i = 0; i < n; i++) {
    const e = order[i]!;
    result.latencySec[i] = latencySec[e]!;
    result.next[i] = next[e]!;
    result.devices[i] = devices[e]!;
    result.boundAfter[i] = boundAfter[e]!;
  }
  return result;
}
