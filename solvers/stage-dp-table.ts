/**
 * Flattens a StageDpProblem into typed arrays for the DP kernel, validating as it reads (one pass over what
 * can be ~10^5 option objects per call, and the planner makes many calls). Each usable option becomes an
 * "entry"; the entries of each first layer are contiguous. Options that can never be part of a valid
 * solution are dropped here, and so, optionally, are options dominated within their cell.
 */
import { InvalidProblemError } from './errors.ts';
import { orderByLatency, permuteFields } from './stage-dp-order.ts';
import type { StageDpProblem, StageOption } from './stage-dp-problem.ts';

/** boundAfter value of an entry whose memory rule cannot bind: no cut of the remaining layers breaks it. */
export const UNBOUNDED = -1;

export interface StageTable {
  readonly layers: number;
  readonly totalDevices: number;
  /** Smallest sub-mesh that fits in totalDevices: every stage uses at least this many devices... */
  readonly minDevices: number;
  /** ...and at most this many. */
  readonly maxDevices: number;
  /** Entries of first layer k are [entryStart[k], entryStart[k + 1]), by ascending latency. */
  readonly entryStart: Int32Array;
  readonly latencySec: Float64Array;
  /** last + 1: the first layer of the next stage. */
  readonly next: Int32Array;
  readonly devices: Int32Array;
  /** maxStagesAfter where it can bind, else UNBOUNDED. */
  readonly boundAfter: Int32Array;
  /** Where entry e was read, source[e]: the index of the three arrays below, which only answers need. */
  readonly source: Int32Array;
  readonly onceSec: Float64Array;
  readonly submesh: Int32Array;
  readonly option: Int32Array;
  /** Largest finite bound on a suffix's stage count the DP must track (-1: none, drop that dimension). */
  readonly maxFiniteBound: number;
  /** maxStages where it can bind, else UNBOUNDED. */
  readonly topBound: number;
  /** The distinct entry latencies, ascending: the t_max candidates. */
  readonly distinctLatencies: Float64Array;
}

function checkCount(value: unknown, path: string, least: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < least) {
    throw new InvalidProblemError(path, `not an integer ≥ ${least}`);
  }
  return value;
}

function checkArray(value: unknown, path: string, length: number): void {
  if (!Array.isArray(value)) throw new InvalidProblemError(path, 'not an array');
  if (value.length !== length)
    throw new InvalidProblemError(path, `has ${value.length} entries, expected ${length}`);
}

/** The first bad field of an option, or null; kept free of allocation (it runs ~10^5 times per call). */
function badOptionField(option: StageOption): readonly [field: string, detail: string] | null {
  const { latencySec, onceSec, maxStagesAfter, tag } = option;
  // +Infinity latency means "cannot run" (like a forbidden ILP cost); onceSec must be a real cost.
  if (typeof latencySec !== 'number' || !(latencySec >= 0)) return ['latencySec', 'not a number ≥ 0'];
  if (typeof onceSec !== 'number' || !(onceSec >= 0 && onceSec < Number.POSITIVE_INFINITY)) {
    return ['onceSec', 'not a finite number ≥ 0'];
  }
  if (
    typeof maxStagesAfter !== 'number' ||
    !(Number.isInteger(maxStagesAfter) || maxStagesAfter === Number.POSITIVE_INFINITY) ||
    maxStagesAfter < -1
  ) {
    return ['maxStagesAfter', 'not an integer ≥ -1 or Infinity'];
  }
  if (typeof tag !== 'number' || Number.isNaN(tag)) return ['tag', 'not a number'];
  return null;
}

/** Validates the nesting of `options`; returns how many options it holds and the most in one cell. */
function countOptions(
  options: StageDpProblem['options'],
  layers: number,
  submeshes: number,
): { total: number; widest: number } {
  let total = 0;
  let widest = 0;
  for (let first = 0; first < layers; first++) {
    const byLength = options[first];
    if (!Array.isArray(byLength) || byLength.length !== layers - first) {
      checkArray(byLength, `options[${first}]`, layers - first);
    }
    for (let j = 0; j < layers - first; j++) {
      const bySubmesh = byLength![j];
      if (!Array.isArray(bySubmesh) || bySubmesh.length !== submeshes) {
        checkArray(bySubmesh, `options[${first}][${j}]`, submeshes);
      }
      for (let m = 0; m < submeshes; m++) {
        const cell = bySubmesh![m];
        if (!Array.isArray(cell))
          throw new InvalidProblemError(`options[${first}][${j}][${m}]`, 'not an array');
        total += cell.length;
        if (cell.length > widest) widest = cell.length;
      }
    }
  }
  return { total, widest };
}

/** True if `b` is at least as good as `a` in every solution that could use either (same cell). */
function dominates(b: StageOption, a: StageOption, firstStage: boolean): boolean {
  return (
    b.latencySec <= a.latencySec &&
    b.maxStagesAfter >= a.maxStagesAfter &&
    (!firstStage || b.onceSec <= a.onceSec)
  );
}

/** True if another option of `cell` makes option `o` redundant (on exact ties the lowest index survives). */
function isDominated(cell: readonly StageOption[], o: number, firstStage: boolean): boolean {
  const a = cell[o]!;
  for (let p = 0; p < cell.length; p++) {
    if (p === o) continue;
    const b = cell[p]!;
    if (dominates(b, a, firstStage) && (p < o || !dominates(a, b, firstStage))) return true;
  }
  return false;
}

export function buildStageTable(problem: StageDpProblem, pruneDominated: boolean): StageTable {
  const layers = checkCount(problem.layers, 'layers', 1);
  const totalDevices = checkCount(problem.totalDevices, 'totalDevices', 1);
  checkCount(problem.microbatches, 'microbatches', 1);
  const maxStages =
    problem.maxStages === undefined
      ? Number.POSITIVE_INFINITY
      : checkCount(problem.maxStages, 'maxStages', 1);
  const { submeshDevices, options } = problem;
  if (!Array.isArray(submeshDevices)) throw new InvalidProblemError('submeshDevices', 'not an array');
  for (const [m, d] of submeshDevices.entries()) checkCount(d, `submeshDevices[${m}]`, 1);
  const fitting = submeshDevices.filter((d) => d <= totalDevices);
  const minDevices = fitting.length === 0 ? totalDevices + 1 : Math.min(...fitting);
  const maxDevices = fitting.length === 0 ? 0 : Math.max(...fitting);
  checkArray(options, 'options', layers);
  const { total: capacity, widest } = countOptions(options, layers, submeshDevices.length);
  // Repeated layers repeat latencies: an entry whose latency equals that of the previous entry with the same
  // (length, sub-mesh, option) is not listed again and takes its rank, which keeps the sorting cheap.
  const candidates = new Float64Array(capacity);
  const sameAs = new Int32Array(capacity);
  const lastEntry = new Int32Array(layers * submeshDevices.length * widest).fill(-1);
  let candidateCount = 0;

  const latencySec = new Float64Array(capacity);
  const onceSec = new Float64Array(capacity);
  const next = new Int32Array(capacity);
  const devices = new Int32Array(capacity);
  const boundAfter = new Int32Array(capacity);
  const submesh = new Int32Array(capacity);
  const option = new Int32Array(capacity);
  const entryStart = new Int32Array(layers + 1);
  let count = 0;
  let maxFiniteBound = -1;
  for (let first = 0; first < layers; first++) {
    entryStart[first] = count;
    const byLength = options[first]!;
    for (let last = first; last < layers; last++) {
      const bySubmesh = byLength[last - first]!;
      const isLast = last === layers - 1;
      const leastAfter = isLast ? 0 : 1;
      // Upper bound on the stages after this one in any complete solution: they need layers, devices
      // (besides this stage's and, unless it is first, at least one stage's before it) and stage slots.
      const before = first === 0 ? 0 : 1;
      for (let m = 0; m < submeshDevices.length; m++) {
        const cell = bySubmesh[m]!;
        const dev = submeshDevices[m]!;
        const devicesAfter = totalDevices - dev - before * minDevices;
        const maxAfter = Math.min(
          layers - 1 - last,
          Math.floor(devicesAfter / minDevices),
          maxStages - 1 - before,
        );
        const placeable = devicesAfter >= 0 && maxAfter >= leastAfter;
        for (let o = 0; o < cell.length; o++) {
          const opt = cell[o]!;
          const bad = badOptionField(opt);
          if (bad !== null)
            throw new InvalidProblemError(`options[${first}][${last - first}][${m}][${o}].${bad[0]}`, bad[1]);
          if (!placeable || opt.latencySec === Number.POSITIVE_INFINITY || opt.maxStagesAfter < leastAfter) {
            continue;
          }
          if (pruneDominated && cell.length > 1 && isDominated(cell, o, first === 0)) continue;
          const bound = opt.maxStagesAfter >= maxAfter ? UNBOUNDED : opt.maxStagesAfter;
          if (bound > maxFiniteBound) maxFiniteBound = bound;
          const position = ((last - first) * submeshDevices.length + m) * widest + o;
          const previous = lastEntry[position]!;
          const same = previous >= 0 && latencySec[previous] === opt.latencySec ? previous : -1;
          sameAs[count] = same;
          if (same < 0) candidates[candidateCount++] = opt.latencySec;
          lastEntry[position] = count;
          latencySec[count] = opt.latencySec;
          onceSec[count] = opt.onceSec;
          next[count] = last + 1;
          devices[count] = dev;
          boundAfter[count] = bound;
          submesh[count] = m;
          option[count] = o;
          count++;
        }
      }
    }
  }
  entryStart[layers] = count;
  const { distinct, byLatency } = orderByLatency(
    latencySec.subarray(0, count),
    entryStart,
    candidates.subarray(0, candidateCount),
    sameAs,
  );
  const topBound =
    maxStages < Math.min(layers, Math.floor(totalDevices / minDevices)) ? maxStages : UNBOUNDED;
  if (topBound !== UNBOUNDED && topBound - 1 > maxFiniteBound) maxFiniteBound = topBound - 1;
  return {
    layers,
    totalDevices,
    minDevices,
    maxDevices,
    entryStart,
    ...permuteFields(byLatency, latencySec, next, devices, boundAfter),
    source: byLatency,
    onceSec: onceSec.subarray(0, count),
    submesh: submesh.subarray(0, count),
    option: option.subarray(0, count),
    maxFiniteBound,
    topBound,
    distinctLatencies: distinct,
  };
}
