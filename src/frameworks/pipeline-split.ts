import type { StageOut } from '../schema/index.ts';

/** Transformer blocks in layers first..last: every layer but the embedding (first) and the head (last). */
export function blocksInRange(first: number, last: number, layerCount: number): number {
  return Math.max(0, Math.min(last, layerCount - 2) - Math.max(first, 1) + 1);
}

/** Transformer blocks each stage holds; the embedding sits in the first stage, the head in the last. */
export function blocksPerStage(stages: readonly StageOut[], layerCount: number): number[] {
  return stages.map((s) => blocksInRange(s.layers[0], s.layers[1], layerCount));
}

/**
 * Block counts of the pipeline's virtual stages in layer order, for schedules that loop model
 * chunks over the ranks (Megatron's interleaving, torchtitan's Interleaved1F1B): virtual stage
 * k·pp + i is chunk k of rank i, and each rank's blocks are cut into `virtualStages` equal chunks.
 * Null when a rank's blocks do not divide evenly.
 */
export function virtualStageBlocks(blocks: readonly number[], virtualStages: number): number[] | null {
  if (blocks.some((n) => n % virtualStages !== 0)) return null;
  const out: number[] = [];
  for (let k = 0; k < virtualStages; k++) for (const n of blocks) out.push(n / virtualStages);
  return out;
}
