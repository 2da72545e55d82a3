/**
 * What one stage-DP run may use. An entry is admitted when its latency is within t_max and, if the run has
 * a Σ budget, when some cover of all layers through it can stay under the budget: the least Σ latency of a
 * prefix ending where it starts, plus its own, plus the least of a suffix starting after it (both ignore
 * devices and memory, so they are lower bounds). The search sets the budget to what Σ + once_0 must stay
 * under to beat the best step time found, which removes most long stages on small sub-meshes.
 */
import type { StageTable } from './stage-dp-table.ts';

export class Admission {
  /** Admitted entries; those of layer k are [admittedStart[k], admittedStart[k + 1]). */
  readonly admitted: Int32Array;
  readonly admittedStart: Int32Array;
  /** Copies of the admitted entries' fields, in admitted order, so that the DP's inner loops read them in sequence. */
  readonly latencySec: Float64Array;
  readonly next: Int32Array;
  readonly devices: Int32Array;
  readonly boundAfter: Int32Array;
  /** Fewest devices covering layers 0..k−1 with admitted entries (Infinity: no cover). */
  readonly prefixDevices: Float64Array;
  /** Least Σ latency covering layers 0..k−1 (Infinity: no cover). */
  readonly prefixSum: Float64Array;
  /** Least Σ latency covering layers k..L−1 (Infinity: no cover). */
  readonly suffixSum: Float64Array;

  constructor(readonly table: StageTable) {
    const entries = table.latencySec.length;
    this.admitted = new Int32Array(entries);
    this.admittedStart = new Int32Array(table.layers + 1);
    this.latencySec = new Float64Array(entries);
    this.next = new Int32Array(entries);
    this.devices = new Int32Array(entries);
    this.boundAfter = new Int32Array(entries);
    this.prefixDevices = new Float64Array(table.layers + 1);
    this.prefixSum = new Float64Array(table.layers + 1);
    this.suffixSum = new Float64Array(table.layers + 1);
  }

  admit(tMaxSec: number, sumBudget: number): void {
    const { table, prefixSum, suffixSum } = this;
    const { latencySec, next, entryStart } = table;
    const L = table.layers;
    prefixSum.fill(Number.POSITIVE_INFINITY);
    prefixSum[0] = 0;
    for (let k = 0; k < L; k++) {
      const before = prefixSum[k]!;
      if (before === Number.POSITIVE_INFINITY) continue;
      for (let e = entryStart[k]!, end = entryStart[k + 1]!; e < end; e++) {
        const lat = latencySec[e]!;
        if (lat <= tMaxSec && before + lat < prefixSum[next[e]!]!) prefixSum[next[e]!] = before + lat;
      }
    }
    suffixSum.fill(Number.POSITIVE_INFINITY);
    suffixSum[L] = 0;
    for (let k = L - 1; k >= 0; k--) {
      let least = Number.POSITIVE_INFINITY;
      for (let e = entryStart[k]!, end = entryStart[k + 1]!; e < end; e++) {
        const lat = latencySec[e]!;
        if (lat <= tMaxSec && lat + suffixSum[next[e]!]! < least) least = lat + suffixSum[next[e]!]!;
      }
      suffixSum[k] = least;
    }
    this.collect(tMaxSec, sumBudget);
  }

  /** Lists the admitted entries and, from them alone, the fewest devices covering each prefix. */
  private collect(tMaxSec: number, sumBudget: number): void {
    const { table, admitted, admittedStart, prefixDevices, prefixSum, suffixSum } = this;
    const { latencySec, next, devices, entryStart } = table;
    prefixDevices.fill(Number.POSITIVE_INFINITY);
    prefixDevices[0] = 0;
    let count = 0;
    for (let k = 0; k < table.layers; k++) {
      admittedStart[k] = count;
      const before = prefixDevices[k]!;
      if (before === Number.POSITIVE_INFINITY) continue;
      const budget = sumBudget - prefixSum[k]!;
      for (let e = entryStart[k]!, end = entryStart[k + 1]!; e < end; e++) {
        const lat = latencySec[e]!;
        const n = next[e]!;
        if (lat > tMaxSec || !(lat + suffixSum[n]! < budget)) continue;
        admitted[count] = e;
        this.latencySec[count] = lat;
        this.next[count] = n;
        this.devices[count] = devices[e]!;
        this.boundAfter[count] = table.boundAfter[e]!;
        count++;
        if (before + devices[e]! < prefixDevices[n]!) prefixDevices[n] = before + devices[e]!;
      }
    }
    admittedStart[table.layers] = count;
  }
}
