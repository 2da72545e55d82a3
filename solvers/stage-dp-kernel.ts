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
 * The unbounded tier is filled for every layer; a bounded tier's row only when something reads it, and then
 * from the row a tier up: a cell whose solution there already has ≤ b stages is that solution (it is valid
 * with the tighter bound and no valid one is cheaper), so only cells whose solution uses exactly b + 1 stages
 * are recomputed, and a row with none of those is the row above (stage-dp-rows.ts). The least Σ seldom needs
 * many stages, so most tiers cost nothing.
 */
import {
  finishRow,
  NOT_BUILT,
  newRow,
  relaxRow,
  rowFor,
  type StageDpWorkspace,
  suffixTier,
} from './stage-dp-rows.ts';
import { UNBOUNDED } from './stage-dp-table.ts';

export { StageDpWorkspace } from './stage-dp-rows.ts';

export interface DpRun {
  /** Σ latency + onceSec of stage 0; Infinity if nothing fits. */
  readonly value: number;
  /** The solution's entries, stage 0 first; empty if infeasible. */
  readonly entries: readonly number[];
  /** Cells computed (not copied). */
  readonly states: number;
}

/** Resets the rows for a run and fills the unbounded tier for layers k ≥ 1 (layer 0 is the top state). */
function fillUnbounded(ws: StageDpWorkspace): void {
  const { table, tiers, rowOf, rowsPerTier, unbounded, admission } = ws;
  const L = table.layers;
  ws.usedRows = 0;
  ws.states = 0;
  rowOf.fill(NOT_BUILT);
  const terminal = newRow(ws);
  ws.value[terminal * ws.width] = 0;
  ws.stageCount[terminal * ws.width] = 0;
  ws.lowDevices[terminal] = 0;
  ws.highDevices[terminal] = 0;
  const empty = newRow(ws);
  for (let tier = 0; tier < tiers; tier++) rowOf[tier * rowsPerTier + L] = terminal;
  for (let k = L - 1; k >= 1; k--) {
    // Tier 0 (no stage allowed) is empty before the end.
    rowOf[k] = empty;
    // The suffix gets what the cheapest cover of the prefix leaves; rows nobody can reach stay empty.
    const maxDevices = table.totalDevices - admission.prefixDevices[k]!;
    if (!(maxDevices >= table.minDevices)) {
      for (let tier = 1; tier < tiers; tier++) rowOf[tier * rowsPerTier + k] = empty;
      continue;
    }
    const row = newRow(ws);
    relaxRow(ws, unbounded, k, row, 0, maxDevices);
    finishRow(ws, row, k, 0, maxDevices);
    rowOf[unbounded * rowsPerTier + k] = row;
    ws.states += maxDevices + 1;
  }
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
  const { table, width, unbounded } = ws;
  const L = table.layers;
  const D = table.totalDevices;
  ws.sumBudget = sumBudget;
  ws.admission.admit(tMaxSec);
  fillUnbounded(ws);
  const cell = (tier: number, k: number, d: number) => rowFor(ws, tier, k) * width + d;
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
  for (let e = table.entryStart[0]!, end = ws.admission.withinEnd[0]!; e < end; e++) {
    // The index first: building a row may grow (replace) the arrays.
    const rest = cell(topSuffixTier(e), table.next[e]!, D - table.devices[e]!);
    const v = table.latencySec[e]! + table.onceSec[table.source[e]!]! + ws.value[rest]!;
    if (v < best) {
      best = v;
      bestEntry = e;
    }
  }
  const states = ws.states + 1;
  if (bestEntry < 0 || !(best < sumBudget)) return { value: Number.POSITIVE_INFINITY, entries: [], states };
  const entries = [bestEntry];
  let tier = topSuffixTier(bestEntry);
  let k = table.next[bestEntry]!;
  let d = D - table.devices[bestEntry]!;
  while (k < L) {
    const at = cell(tier, k, d);
    const e = ws.argEntry[at]!;
    entries.push(e);
    tier = suffixTier(table.boundAfter[e]!, unbounded, tier);
    k = table.next[e]!;
    d -= table.devices[e]!;
  }
  return { value: best, entries, states };
}
