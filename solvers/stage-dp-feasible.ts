/**
 * Whether any cut exists, from memory alone: the planner asks this before it prices a configuration's
 * stages, because most configurations a search visits cannot fit and pricing every layer range of
 * them only to have the DP prove so is most of a search's work.
 *
 * A stage fits only if the stages after it number at most its maxStagesAfter (1F1B keeps that many
 * extra microbatches in flight), so a suffix of layers is best cut into as few stages as possible:
 * fewer stages after a stage never make it fit worse. Write g(k, d) for the fewest stages that cut
 * layers k..L−1 onto exactly d devices with every stage fitting; then
 *   g(L, 0) = 0,   g(k, d) = 1 + min { g(l + 1, d − m) : the cell (k, l, m) admits g(l + 1, d − m) after it }
 * and a cut exists iff g(0, totalDevices) is finite (and, with a stage bound, at most that bound). This
 * is exact for the DP of stage-dp.ts: it asks for the same cover, device total and memory rule.
 */

export interface FeasibilityProblem {
  readonly layers: number;
  readonly submeshDevices: readonly number[];
  readonly totalDevices: number;
  readonly maxStages?: number;
  /** No stage holds more layers than this (cells of longer ranges are empty). */
  readonly maxStageLayers: number;
  /**
   * maxStagesAfter of the most accommodating option of each cell, -1 when none fits: the cell of
   * layers first..last on sub-mesh s at ((first · layers) + last) · submeshDevices.length + s.
   */
  readonly cellAfter: Float64Array;
}

/** The fewest stages of any cut that fits, or Infinity when none does. */
export function fewestStages(problem: FeasibilityProblem): number {
  const { layers: L, submeshDevices, totalDevices: D, cellAfter } = problem;
  const S = submeshDevices.length;
  const width = D + 1;
  // g[k · width + d], k = L the empty suffix.
  const g = new Float64Array((L + 1) * width).fill(Number.POSITIVE_INFINITY);
  g[L * width] = 0;
  for (let k = L - 1; k >= 0; k--) {
    const longest = Math.min(L, k + problem.maxStageLayers);
    const row = k * width;
    // Cells that fit nothing are skipped before the device loop: with real memory most long ranges are.
    for (let last = k; last < longest; last++) {
      const cell = (k * L + last) * S;
      const next = (last + 1) * width;
      for (let s = 0; s < S; s++) {
        const after = cellAfter[cell + s]!;
        if (after < 0) continue;
        const m = submeshDevices[s]!;
        for (let d = m; d <= D; d++) {
          const rest = g[next + d - m]!;
          if (rest <= after && rest + 1 < g[row + d]!) g[row + d] = rest + 1;
        }
      }
    }
  }
  const total = g[D]!;
  return problem.maxStages !== undefined && total > problem.maxStages ? Number.POSITIVE_INFINITY : total;
}
