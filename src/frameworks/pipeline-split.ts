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
 * k·pp + i is chunk k of rank i. Each rank's blocks are cut into `virtualStages` chunks as evenly as
 * they go; where they do not divide, the first rank's short chunks come first (beside the embedding)
 * and every other rank's last (on the last rank, beside the head). 126 blocks as [15, 16 × 6, 15] on
 * pp 8 × v 8 cut into 1, 2 × 62, 1: the chunks of Megatron's --account-for-embedding-in-pipeline-split
 * --account-for-loss-in-pipeline-split, which count the embedding and the loss as a block each.
 */
export function virtualStageBlocks(blocks: readonly number[], virtualStages: number): number[] {
  const v = virtualStages;
  const perRank = blocks.map((n, rank) => {
    const base = Math.floor(n / v);
    const longer = n - base * v;
    return Array.from({ length: v }, (_, k) => base + ((rank === 0 ? k >= v - longer : k < longer) ? 1 : 0));
  });
  const out: number[] = [];
  for (let k = 0; k < v; k++) for (const chunks of perRank) out.push(chunks[k]!);
  return out;
}

/** Whether every rank's blocks cut into `virtualStages` equal chunks. */
export function cutsEvenly(blocks: readonly number[], virtualStages: number): boolean {
  return blocks.every((n) => n % virtualStages === 0);
}
