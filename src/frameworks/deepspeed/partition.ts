/**
 * DeepSpeed's own pipeline partitioning at v0.16.4 (`deepspeed/runtime/utils.py` partition_uniform
 * and partition_balanced, called by `PipelineModule._partition_layers`): the stage split is not a
 * setting but what these functions compute over the module's layer list, so a plan can use only
 * the cuts they produce. Ported exactly, tie-breaking included; both return DeepSpeed's `parts`,
 * the num_parts + 1 boundaries of the stages over the layer list.
 */

/** `partition_uniform`: `items` over `parts`, the first `items mod parts` parts one item larger. */
export function partitionUniform(items: number, parts: number): number[] {
  if (items <= parts) return Array.from({ length: parts + 1 }, (_, p) => Math.min(p, items));
  const chunk = Math.floor(items / parts);
  const residual = items - chunk * parts;
  // Boundary p moves right by one for each of the first `residual` parts before it.
  return Array.from({ length: parts + 1 }, (_, p) => p * chunk + Math.min(p, residual));
}

/**
 * `partition_balanced`: the linear-partition DP DeepSpeed runs. For each prefix and part count it
 * keeps one split, the one of least spread (largest minus smallest part weight), the last start
 * winning ties; it is a heuristic, not always the split of least spread overall, which is why it
 * is ported rather than replaced by an exact search.
 */
export function partitionBalanced(weights: readonly number[], parts: number): number[] {
  const n = weights.length;
  const m = parts;
  if (n <= m) return partitionUniform(n, m);
  const at = (i: number, j: number) => i * (m + 1) + j;
  // DeepSpeed's tables start at +∞ (dp_min[0][0] included) with dp_max and the cost 0 at [0][0].
  const dpMax = new Float64Array((n + 1) * (m + 1)).fill(Number.POSITIVE_INFINITY);
  const dpMin = new Float64Array((n + 1) * (m + 1)).fill(Number.POSITIVE_INFINITY);
  const dpCost = new Float64Array((n + 1) * (m + 1)).fill(Number.POSITIVE_INFINITY);
  const position = new Int32Array((n + 1) * (m + 1));
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + weights[i]!;
  dpMax[at(0, 0)] = 0;
  dpCost[at(0, 0)] = 0;
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= Math.min(i, m); j++) {
      for (let k = 0; k < i; k++) {
        const sum = prefix[i]! - prefix[k]!;
        const maxSum = Math.max(dpMax[at(k, j - 1)]!, sum);
        const minSum = Math.min(dpMin[at(k, j - 1)]!, sum);
        const cost = maxSum - minSum;
        // `>=` as DeepSpeed writes it: among equal costs the last k wins (∞ ≥ ∞ included).
        if (dpCost[at(i, j)]! >= cost) {
          dpCost[at(i, j)] = cost;
          dpMax[at(i, j)] = maxSum;
          dpMin[at(i, j)] = minSum;
          position[at(i, j)] = k;
        }
      }
    }
  }
  const out = [n];
  for (let j = m; j >= 1; j--) out.push(position[at(out.at(-1)!, j)]!);
  return out.reverse();
}
