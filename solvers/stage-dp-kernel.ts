/**
 * One run of Alpa's stage DP (Eq. 3) for a fixed t_max, on the flat StageTable.
 *
 * F(b, k, d) = least Σ latency of a cut of layers k..L-1 into stages on exactly d devices with at most b
 * stages, every stage's latency ≤ t_max and every stage's memory rule met. A stage on entry e placed first in
 * such a suffix leaves a suffix of at most min(b − 1, maxStagesAfter_e) stages, so
 *   F(b, k, d) = min over entries e of layer k: lat_e + F(min(b − 1, bound_e), next_e, d − dev_e).
 * The bound b ("tier") replaces Alpa's exact stage count s, and only bounds that can bind get a tier:
 * 0..maxFiniteBound plus the unbounded one. With no binding memory rule that is the unbounded tier alone
 * (the s dimension dropped).
 *
 * Tiers are filled from the top down, and a cell whose solution one tier up already has ≤ b stages is that
 * solution (it is valid with the tighter bound and no valid one is cheaper), so it is copied. Only cells whose
 * solution uses exactly b + 1 stages are recomputed: few, since the least Σ usually needs few stages. Every
 * cell keeps the stage count of the solution behind it for this test, and a row none of whose solutions
 * needs b + 1 stages is not even copied: rows are reached through an index, and that tier's entry points at
 * the row above.
 */
import { Admission } from './stage-dp-admit.ts';
import { type StageTable, UNBOUNDED } from './stage-dp-table.ts';

export interface DpRun {
  /** Σ latency + onceSec of stage 0; Infinity if nothing fits. */
  readonly value: number;
  /** The solution's entries, stage 0 first; empty if infeasible. */
  readonly entries: readonly number[];
  /** Cells computed (not copied). */
  readonly states: number;
}

/** The DP's tables, allocated once per solve and reused by every t_max run. */
export class StageDpWorkspace {
  /** maxFiniteBound + 2: tiers 0..maxFiniteBound, then the unbounded tier. */
  readonly tiers: number;
  /** D + 1: cells per row, one per device count. */
  readonly width: number;
  /** Physical row of (tier, k) = rowOf[tier · (L + 1) + k]; rows equal to the tier above share its storage. */
  readonly rowOf: Int32Array;
  /** Cell d of physical row p is at p · width + d. */
  readonly value: Float64Array;
  readonly argEntry: Int32Array;
  readonly stageCount: Int32Array;
  /** Per physical row: its finite cells lie in [lowDevices, highDevices] (empty when low > high)... */
  readonly lowDevices: Int32Array;
  readonly highDevices: Int32Array;
  /** ...and the most stages any of them uses. */
  readonly mostStages: Int32Array;
  /** Physical rows handed out in the current run. */
  usedRows = 0;
  /** The entries the current run may use, and bounds on its prefixes and suffixes. */
  readonly admission: Admission;

  constructor(readonly table: StageTable) {
    this.tiers = table.maxFiniteBound + 2;
    this.width = table.totalDevices + 1;
    this.rowOf = new Int32Array(this.tiers * (table.layers + 1));
    // A row of its own for every tier at every layer k ≥ 1, plus the shared terminal and empty rows.
    const rows = this.tiers * table.layers + 2;
    this.value = new Float64Array(rows * this.width);
    this.argEntry = new Int32Array(rows * this.width);
    this.stageCount = new Int32Array(rows * this.width);
    this.lowDevices = new Int32Array(rows);
    this.highDevices = new Int32Array(rows);
    this.mostStages = new Int32Array(rows);
    this.admission = new Admission(table);
  }
}

/** The tier a stage whose maxStagesAfter is `bound` (or UNBOUNDED) leaves to its suffix, its own held to `tier`. */
function suffixTier(bound: number, unbounded: number, tier: number): number {
  if (tier === unbounded) return bound === UNBOUNDED ? unbounded : bound;
  return bound === UNBOUNDED || bound > tier - 1 ? tier - 1 : bound;
}

/** A fresh physical row, all cells infinite. */
function newRow(ws: StageDpWorkspace): number {
  const row = ws.usedRows++;
  ws.value.fill(Number.POSITIVE_INFINITY, row * ws.width, (row + 1) * ws.width);
  ws.lowDevices[row] = ws.width;
  ws.highDevices[row] = -1;
  ws.mostStages[row] = 0;
  return row;
}

/** Relaxes cells [fromDevices, toDevices] of physical row `dstRow`, which holds (tier, k), with every admitted entry of layer k. */
function relaxRow(
  ws: StageDpWorkspace,
  tier: number,
  k: number,
  dstRow: number,
  fromDevices: number,
  toDevices: number,
): void {
  const { width, rowOf, value: F, argEntry, stageCount, lowDevices, highDevices } = ws;
  const { admitted, admittedStart, latencySec, next, devices, boundAfter } = ws.admission;
  const rowsPerTier = ws.table.layers + 1;
  const unbounded = ws.tiers - 1;
  const dst = dstRow * width;
  for (let i = admittedStart[k]!, end = admittedStart[k + 1]!; i < end; i++) {
    const dev = devices[i]!;
    if (dev > toDevices) continue;
    const row = rowOf[suffixTier(boundAfter[i]!, unbounded, tier) * rowsPerTier + next[i]!]!;
    const low = lowDevices[row]!;
    const high = highDevices[row]!;
    if (low > high) continue;
    const lat = latencySec[i]!;
    const e = admitted[i]!;
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
 * Drops the cells at or above `limit` (they cannot be part of a solution under the run's budget), then records
 * the row's finite range (within [low, high]) and the most stages its solutions use.
 */
function finishRow(ws: StageDpWorkspace, row: number, low: number, high: number, limit: number): void {
  const { value, stageCount } = ws;
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

/** Row (tier, k) as a copy of `above` without the solutions that need more than `tier` stages, recomputed. */
function recomputeTier(ws: StageDpWorkspace, tier: number, k: number, above: number, limit: number): number {
  const { width, value, argEntry, stageCount } = ws;
  const row = newRow(ws);
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
  relaxRow(ws, tier, k, row, from, to);
  finishRow(ws, row, low, high, limit);
  return Math.max(0, to - from + 1);
}

/** Fills F for layers k ≥ 1 (layer 0 is the top state, solved separately). Returns the cells computed. */
function fillTables(ws: StageDpWorkspace, tMaxSec: number, sumBudget: number): number {
  const { table, tiers, rowOf } = ws;
  const L = table.layers;
  const rowsPerTier = L + 1;
  const unbounded = tiers - 1;
  ws.usedRows = 0;
  const terminal = newRow(ws);
  ws.value[terminal * ws.width] = 0;
  ws.stageCount[terminal * ws.width] = 0;
  ws.lowDevices[terminal] = 0;
  ws.highDevices[terminal] = 0;
  const empty = newRow(ws);
  for (let tier = 0; tier < tiers; tier++) rowOf[tier * rowsPerTier + L] = terminal;
  const { admission } = ws;
  admission.admit(tMaxSec, sumBudget);
  let states = 0;
  for (let k = L - 1; k >= 1; k--) {
    // Tier 0 (no stage allowed) is empty before the end.
    rowOf[k] = empty;
    // The suffix gets what the cheapest cover of the prefix leaves; rows nobody can reach stay empty.
    const maxDevices = table.totalDevices - admission.prefixDevices[k]!;
    const limit = sumBudget === Number.POSITIVE_INFINITY ? sumBudget : sumBudget - admission.prefixSum[k]!;
    if (!(maxDevices >= table.minDevices)) {
      for (let tier = 1; tier < tiers; tier++) rowOf[tier * rowsPerTier + k] = empty;
      continue;
    }
    const row = newRow(ws);
    relaxRow(ws, unbounded, k, row, 0, maxDevices);
    finishRow(ws, row, 0, maxDevices, limit);
    rowOf[unbounded * rowsPerTier + k] = row;
    states += maxDevices + 1;
    for (let tier = unbounded - 1; tier >= 1; tier--) {
      const above = rowOf[(tier + 1) * rowsPerTier + k]!;
      if (ws.mostStages[above]! <= tier) rowOf[tier * rowsPerTier + k] = above;
      else {
        states += recomputeTier(ws, tier, k, above, limit);
        rowOf[tier * rowsPerTier + k] = ws.usedRows - 1;
      }
    }
  }
  return states;
}

/**
 * The least Σ latency + once_0 over solutions with every stage ≤ t_max, and one solution achieving it.
 * Solutions whose Σ + once_0 reaches `sumBudget` are not looked for: the result is exact when it is under the
 * budget, else empty.
 */
export function runStageDp(
  ws: StageDpWorkspace,
  tMaxSec: number,
  sumBudget = Number.POSITIVE_INFINITY,
): DpRun {
  const { table, tiers, width, rowOf } = ws;
  const L = table.layers;
  const D = table.totalDevices;
  const rowsPerTier = L + 1;
  const unbounded = tiers - 1;
  const states = fillTables(ws, tMaxSec, sumBudget) + 1;
  const cell = (tier: number, k: number, d: number) => rowOf[tier * rowsPerTier + k]! * width + d;
  // The whole model may hold topBound stages: a bound, not a stored tier (tiers stop at topBound − 1).
  const topSuffixTier = (e: number): number =>
    table.topBound === UNBOUNDED
      ? suffixTier(table.boundAfter[e]!, unbounded, unbounded)
      : Math.min(
          table.topBound - 1,
          table.boundAfter[e] === UNBOUNDED ? table.topBound : table.boundAfter[e]!,
        );
  let best = Number.POSITIVE_INFINITY;
  let bestEntry = -1;
  for (let i = ws.admission.admittedStart[0]!, end = ws.admission.admittedStart[1]!; i < end; i++) {
    const e = ws.admission.admitted[i]!;
    const lat = table.latencySec[e]!;
    const rest = ws.value[cell(topSuffixTier(e), table.next[e]!, D - table.devices[e]!)]!;
    const v = lat + table.onceSec[e]! + rest;
    if (v < best) {
      best = v;
      bestEntry = e;
    }
  }
  if (bestEntry < 0 || !(best < sumBudget)) return { value: Number.POSITIVE_INFINITY, entries: [], states };
  const entries = [bestEntry];
  let tier = topSuffixTier(bestEntry);
  let k = table.next[bestEntry]!;
  let d = D - table.devices[bestEntry]!;
  while (k < L) {
    const e = ws.argEntry[cell(tier, k, d)]!;
    entries.push(e);
    tier = suffixTier(table.boundAfter[e]!, unbounded, tier);
    k = table.next[e]!;
    d -= table.devices[e]!;
  }
  return { value: best, entries, states };
}
