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
 * How Megatron-LM can place the plan's blocks: its default even split; the newer
 * `--decoder-first/last-pipeline-num-layers`, where the stages between get equal shares; or not at all.
 */
export type MegatronSplit =
  | { readonly kind: 'even' }
  | { readonly kind: 'first-last'; readonly first: number | null; readonly last: number | null }
  | { readonly kind: 'inexpressible'; readonly reason: string };

const allEqual = (xs: readonly number[]) => xs.every((x) => x === xs[0]);

export function megatronSplit(blocks: readonly number[], virtualStages: number): MegatronSplit {
  const pp = blocks.length;
  const counts = blocks.join(', ');
  if (virtualStages > 1 && blocks.some((n) => n % virtualStages !== 0)) {
    return {
      kind: 'inexpressible',
      reason: `the interleaved schedule needs every stage's block count (${counts}) to be a multiple of ${virtualStages} model chunks`,
    };
  }
  if (pp === 1 || allEqual(blocks)) return { kind: 'even' };
  // Megatron asks for at least one block on each of the uneven stages it is told about.
  const zero = blocks.indexOf(0);
  if (zero >= 0) {
    return {
      kind: 'inexpressible',
      reason: `stage ${zero} holds no transformer block (blocks per stage: ${counts})`,
    };
  }
  if (pp === 2) return { kind: 'first-last', first: blocks[0]!, last: null };
  const middle = blocks.slice(1, -1);
  if (!allEqual(middle)) {
    return {
      kind: 'inexpressible',
      reason: `the stages between the first and the last hold different block counts (${counts}); Megatron-LM splits them evenly`,
    };
  }
  const m = middle[0]!;
  const first = blocks[0]!;
  const last = blocks[pp - 1]!;
  return { kind: 'first-last', first: first === m ? null : first, last: last === m ? null : last };
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
