/**
 * What one stage-DP run may use: the entries within t_max, a prefix of each layer's block (the table sorts
 * blocks by latency), and two lower bounds per layer k from them, ignoring memory: the fewest devices and the
 * least Σ latency that can cover layers 0..k−1. The first caps the devices a suffix from k gets, the second
 * tells which suffix states are too costly for the run's Σ budget.
 */
import type { StageTable } from './stage-dp-table.ts';

export class Admission {
  /** The entries of layer k within t_max are [table.entryStart[k], withinEnd[k]). */
  readonly withinEnd: Int32Array;
  /** Fewest devices covering layers 0..k−1 (Infinity: no cover). */
  readonly prefixDevices: Float64Array;
  /** Least Σ latency covering layers 0..k−1 (Infinity: no cover). */
  readonly prefixSum: Float64Array;

  constructor(readonly table: StageTable) {
    this.withinEnd = new Int32Array(table.layers);
    this.prefixDevices = new Float64Array(table.layers + 1);
    this.prefixSum = new Float64Array(table.layers + 1);
  }

  admit(tMaxSec: number): void {
    const { table, withinEnd, prefixDevices, prefixSum } = this;
    const { latencySec, next, devices, entryStart } = table;
    prefixDevices.fill(Number.POSITIVE_INFINITY);
    prefixDevices[0] = 0;
    prefixSum.fill(Number.POSITIVE_INFINITY);
    prefixSum[0] = 0;
    for (let k = 0; k < table.layers; k++) {
      let lo = entryStart[k]!;
      let hi = entryStart[k + 1]!;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (latencySec[mid]! <= tMaxSec) lo = mid + 1;
        else hi = mid;
      }
      withinEnd[k] = lo;
      const before = prefixSum[k]!;
      if (before === Number.POSITIVE_INFINITY) continue;
      const beforeDevices = prefixDevices[k]!;
      for (let e = entryStart[k]!; e < lo; e++) {
        const n = next[e]!;
        if (before + latencySec[e]! < prefixSum[n]!) prefixSum[n] = before + latencySec[e]!;
        if (beforeDevices + devices[e]! < prefixDevices[n]!) prefixDevices[n] = beforeDevices + devices[e]!;
      }
    }
  }
}
