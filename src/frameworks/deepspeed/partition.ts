/**
 * DeepSpeed's own pipeline partitioning (`deepspeed/runtime/utils.py` partition_uniform and
 * partition_balanced at v0.16.4, and `PipelineModule._partition_layers`): the stage split is not a
 * setting but what these methods compute over the module's layer list, so a plan can use only
 * the cuts they produce. Ported exactly, tie-breaking included.
 */

/** Stage boundaries (`parts`, num_parts + 1 indices) splitting `items` as evenly as counts go. */
export function partitionUniform(items: number, parts: number): number[] {
  if (items <= parts) return Array.from({ length: parts + 1 }, (_, p) => Math.min(p, items));
  const chunk = Math.floor(items / parts);
  const residual = items - chunk * parts;
  const out = Array.from({ length: parts + 1 }, (_, p) => p * chunk);
  for (let i = 0; i < residual; i++) for (let p = i + 1; p <= parts; p++) out[p]! += 1;
  return out;
}

/** The linear partition DP DeepSpeed runs: minimise the spread (max − min) of part weights. */
export function partitionBalanced(weights: readonly number[], parts: number): number[] {
  const n = weights.length;
  const m = parts;
  if (n <= m) return partitionUniform(n, m);
  const at = (i: number, j: number) => i * (m + 1) + j;
  const dpMax = new Float64Array((n + 1) * (m + 1)).fill(Infinity);
  const dpMin = new Float64Array((n + 1) * (m + 1)).fill(Infinity);
  const dpCost = new Float64Array((n + 1) * (m + 1)).fill(Infinity);
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
        // `>=` as DeepSpeed writes it: among equal costs the last k wins.
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
  for (let i = m; i >= 1; i--) out.push(position[at(out.at(-1)!, i)]!);
  return out.reverse();
}

/** The partition methods a meshplan export may name, over [embedding, blocks…, head]. */
export type PartitionMethod = 'uniform' | 'type:Block';

/** Layers per stage that `method` gives a transformer of `blocks` blocks on `stages` stages. */
export function layersPerStage(method: PartitionMethod, blocks: number, stages: number): number[] {
  const layers = blocks + 2;
  const parts =
    method === 'uniform'
      ? partitionUniform(layers, stages)
      : partitionBalanced(
          Array.from({ length: layers }, (_, i) => (i === 0 || i === layers - 1 ? 0 : 1)),
          stages,
        );
  return parts.slice(1).map((end, s) => end - parts[s]!);
}

export const PARTITION_METHODS: readonly PartitionMethod[] = ['type:Block', 'uniform'];

const known = new Map<string, readonly (readonly number[])[]>();

/** Every distinct cut DeepSpeed's methods produce, as model layers (embedding, blocks, head) per stage. */
export function deepspeedStageCuts(blocks: number, stages: number): readonly (readonly number[])[] {
  const key = `${blocks}/${stages}`;
  let cuts = known.get(key);
  if (cuts === undefined) {
    const distinct = new Map<string, number[]>();
    for (const method of PARTITION_METHODS) {
      const cut = layersPerStage(method, blocks, stages);
      if (cut.every((n) => n > 0)) distinct.set(cut.join(','), cut);
    }
    cuts = [...distinct.values()];
    known.set(key, cuts);
  }
  return cuts;
}
