/**
 * The rows of the stage DP's table and the operations on them (see stage-dp-kernel.ts for the recursion).
 * Row (tier, k) holds F(tier, k, d) for every device count d. Rows live in a pool and are reached through
 * `rowOf`, so that a row equal to the one a tier up shares its storage, and a bounded-tier row is only built
 * when some computation first reads it.
 */
import { Admission } from './stage-dp-admit.ts';
import { type StageTable, UNBOUNDED } from './stage-dp-table.ts';

/** The DP's tables, allocated once per solve and reused by every t_max run. */
export class StageDpWorkspace {
  /** maxFiniteBound + 2: tiers 0..maxFiniteBound, then the unbounded tier. */
  readonly tiers: number;
  readonly unbounded: number;
  /** D + 1: cells per row, one per device count. */
  readonly width: number;
  readonly rowsPerTier: number;
  /** Physical row of (tier, k) = rowOf[tier · (L + 1) + k]; NOT_BUILT until some computation reads it. */
  readonly rowOf: Int32Array;
  /**
   * Cell d of physical row p is at p · width + d. The pool grows on demand (most tiers never get rows of
   * their own), so these are replaced when it does: re-read them after anything that may add a row.
   */
  value: Float64Array;
  argEntry: Int32Array;
  stageCount: Int32Array;
  /** Per physical row: its finite cells lie in [lowDevices, highDevices] (empty when low > high)... */
  lowDevices: Int32Array;
  highDevices: Int32Array;
  /** ...and the most stages any of them uses. */
  mostStages: Int32Array;
  /** The entries the current run may use, and bounds on its prefixes and suffixes. */
  readonly admission: Admission;
  /** The current run's Σ budget, physical rows handed out and cells computed. */
  sumBudget = Number.POSITIVE_INFINITY;
  usedRows = 0;
  states = 0;

  constructor(readonly table: StageTable) {
    this.tiers = table.maxFiniteBound + 2;
    this.unbounded = this.tiers - 1;
    this.width = table.totalDevices + 1;
    this.rowsPerTier = table.layers + 1;
    this.rowOf = new Int32Array(this.tiers * this.rowsPerTier);
    // The unbounded tier's rows and the shared terminal and empty rows, with room for some more.
    const rows = 2 * table.layers + 2;
    this.value = new Float64Array(rows * this.width);
    this.argEntry = new Int32Array(rows * this.width);
    this.stageCount = new Int32Array(rows * this.width);
    this.lowDevices = new Int32Array(rows);
    this.highDevices = new Int32Array(rows);
    this.mostStages = new Int32Array(rows);
    this.admission = new Admission(table);
  }
}

export const NOT_BUILT = -1;

/** The tier left to the suffix after a stage with maxStagesAfter `bound` (or UNBOUNDED) in tier `tier`. */
export function suffixTier(bound: number, unbounded: number, tier: number): number {
  if (tier === unbounded) return bound === UNBOUNDED ? unbounded : bound;
  return bound === UNBOUNDED || bound > tier - 1 ? tier - 1 : bound;
}

function grown<T extends Float64Array | Int32Array>(values: T, length: number): T {
  const bigger = new (values.constructor as new (length: number) => T)(length);
  bigger.set(values);
  return bigger;
}

/** A fresh physical row, all cells infinite. */
export function newRow(ws: StageDpWorkspace): number {
  const row = ws.usedRows++;
  if (row >= ws.lowDevices.length) {
    const rows = 2 * ws.lowDevices.length;
    ws.value = grown(ws.value, rows * ws.width);
    ws.argEntry = grown(ws.argEntry, rows * ws.width);
    ws.stageCount = grown(ws.stageCount, rows * ws.width);
    ws.lowDevices = grown(ws.lowDevices, rows);
    ws.highDevices = grown(ws.highDevices, rows);
    ws.mostStages = grown(ws.mostStages, rows);
  }
  ws.value.fill(Number.POSITIVE_INFINITY, row * ws.width, (row + 1) * ws.width);
  ws.lowDevices[row] = ws.width;
  ws.highDevices[row] = -1;
  ws.mostStages[row] = 0;
  return row;
}

/** Relaxes cells [fromDevices, toDevices] of physical row `dstRow` (tier, k) with layer k's entries. */
export function relaxRow(
  ws: StageDpWorkspace,
  tier: number,
  k: number,
  dstRow: number,
  fromDevices: number,
  toDevices: number,
): void {
  const { width, rowOf, rowsPerTier, unbounded } = ws;
  let { value: F, argEntry, stageCount, lowDevices, highDevices } = ws;
  const { latencySec, next, devices, boundAfter, entryStart } = ws.table;
  const dst = dstRow * width;
  for (let e = entryStart[k]!, end = ws.admission.withinEnd[k]!; e < end; e++) {
    const dev = devices[e]!;
    if (dev > toDevices) continue;
    const refTier = suffixTier(boundAfter[e]!, unbounded, tier);
    let row = rowOf[refTier * rowsPerTier + next[e]!]!;
    if (row === NOT_BUILT) {
      row = rowFor(ws, refTier, next[e]!);
      // Building it may have grown the pool.
      ({ value: F, argEntry, stageCount, lowDevices, highDevices } = ws);
    }
    const low = lowDevices[row]!;
    const high = highDevices[row]!;
    if (low > high) continue;
    const lat = latencySec[e]!;
    const from = Math.max(low + dev, fromDevices);
    const to = Math.min(high + dev, toDevices);
    const src = row * width - dev;
    for (let d = from; d <= to; d++) {
      const v = lat + F[src + d]!;
      if (v < F[dst + d]!) {
        F[dst + d] = v;
        argEntry[dst + d] = e;
        stageCount[dst + d] = stageCount[src + d]! + 1;
      }
    }
  }
}

/**
 * Drops the cells of row k that reach the run's budget less the least Σ of a prefix before k (they cannot be
 * part of a solution under the budget), then records the row's finite range (within [low, high]) and the
 * most stages its solutions use.
 */
export function finishRow(ws: StageDpWorkspace, row: number, k: number, low: number, high: number): void {
  const { value, stageCount } = ws;
  const limit =
    ws.sumBudget === Number.POSITIVE_INFINITY ? ws.sumBudget : ws.sumBudget - ws.admission.prefixSum[k]!;
  const base = row * ws.width;
  let most = 0;
  let first = high + 1;
  let last = low - 1;
  for (let d = low; d <= high; d++) {
    const v = value[base + d]!;
    if (v === Number.POSITIVE_INFINITY) continue;
    if (!(v < limit)) {
      value[base + d] = Number.POSITIVE_INFINITY;
      continue;
    }
    if (first > high) first = d;
    last = d;
    if (stageCount[base + d]! > most) most = stageCount[base + d]!;
  }
  ws.lowDevices[row] = first;
  ws.highDevices[row] = last;
  ws.mostStages[row] = most;
}

/**
 * The physical row of (tier, k), built on first use: the row a tier up if none of its solutions has more than
 * `tier` stages, else a copy of it with those cells recomputed under the tighter bound. Rows at k ≥ 1 of the
 * unbounded tier, of tier 0 and of unreachable layers are set before anything reads them.
 */
export function rowFor(ws: StageDpWorkspace, tier: number, k: number): number {
  const index = tier * ws.rowsPerTier + k;
  if (ws.rowOf[index] !== NOT_BUILT) return ws.rowOf[index]!;
  const above = rowFor(ws, tier + 1, k);
  if (ws.mostStages[above]! <= tier) {
    ws.rowOf[index] = above;
    return above;
  }
  const row = newRow(ws);
  const { width, value, argEntry, stageCount } = ws;
  ws.rowOf[index] = row;
  const low = ws.lowDevices[above]!;
  const high = ws.highDevices[above]!;
  value.copyWithin(row * width + low, above * width + low, above * width + high + 1);
  argEntry.copyWithin(row * width + low, above * width + low, above * width + high + 1);
  stageCount.copyWithin(row * width + low, above * width + low, above * width + high + 1);
  // More devices than `tier` of the largest sub-mesh cannot be filled with `tier` stages.
  const fillable = tier * ws.table.maxDevices;
  let from = width;
  let to = -1;
  for (let d = low; d <= high; d++) {
    if (stageCount[row * width + d]! <= tier) continue;
    value[row * width + d] = Number.POSITIVE_INFINITY;
    if (d > fillable) continue;
    if (from === width) from = d;
    to = d;
  }
  if (from <= to) {
    relaxRow(ws, tier, k, row, from, to);
    ws.states += to - from + 1;
  }
  finishRow(ws, row, k, low, high);
  return row;
}
