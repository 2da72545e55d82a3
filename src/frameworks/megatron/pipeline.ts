/**
 * Where Megatron-LM core_v0.19.0 puts a plan's transformer blocks: its default even split, uneven
 * first and last stages (`--decoder-first/last-pipeline-num-layers`, TransformerConfig "Uneven PP"),
 * or any contiguous split written as `--pipeline-model-parallel-layout` (PipelineParallelLayerLayout:
 * one `|`-separated entry per virtual stage in layer order, `E` the embedding, `t` a block, `L` the
 * loss, `x*n` n copies of x; the embedding opens the first entry, the loss closes the last, and an
 * entry may be empty). A hybrid model takes none of these: its layer pattern is cut at `|` instead.
 */
import { cutsEvenly, virtualStageBlocks } from '../pipeline-split.ts';
import type { Arg } from './args.ts';

const allEqual = (xs: readonly number[]) => xs.every((x) => x === xs[0]);

const repeated = (letter: string, n: number) => (n === 0 ? '' : n === 1 ? letter : `${letter}*${n}`);

/**
 * The layout string for virtual stages holding these block counts, in layer order. Multi-token
 * prediction modules (`m`) sit with the head, after the last block (validate_layer_layout: MTP
 * after every decoder layer, all in the last virtual stage of one rank).
 */
function layoutString(chunks: readonly number[], mtpLayers: number): string {
  const last = chunks.length - 1;
  return chunks
    .map(
      (n, i) => `${i === 0 ? 'E' : ''}${repeated('t', n)}${i === last ? `${repeated('m', mtpLayers)}L` : ''}`,
    )
    .join('|');
}

/**
 * Uneven first/last stages: Megatron gives the stages between equal shares, and each stage it is
 * told about at least one block (with no stage between, the last takes the rest, at least one).
 */
function firstLastArgs(blocks: readonly number[]): Arg[] | null {
  if (blocks.some((n) => n === 0)) return null;
  const pp = blocks.length;
  const first = blocks[0]!;
  if (pp === 2) return [['--decoder-first-pipeline-num-layers', first]];
  const middle = blocks.slice(1, -1);
  if (!allEqual(middle)) return null;
  const last = blocks[pp - 1]!;
  const args: Arg[] = [];
  if (first !== middle[0]) args.push(['--decoder-first-pipeline-num-layers', first]);
  if (last !== middle[0]) args.push(['--decoder-last-pipeline-num-layers', last]);
  return args;
}

/**
 * The pipeline arguments for stages holding `blocks` transformer blocks, each rank's blocks cut into
 * `virtualStages` model chunks as `virtualStageBlocks` cuts them (virtual stage k·pp + i is chunk k of
 * rank i); `mtpLayers` multi-token prediction modules ride with the head. Equal chunks take Megatron's
 * own split flags; any other cut is written out as a layout.
 */
export function pipelineArgs(blocks: readonly number[], virtualStages: number, mtpLayers: number): Arg[] {
  if (blocks.length === 1) return [];
  const v = virtualStages;
  const chunks = virtualStageBlocks(blocks, v);
  const layout: Arg[] = [['--pipeline-model-parallel-layout', layoutString(chunks, mtpLayers)]];
  if (!cutsEvenly(blocks, v)) return layout;
  if (allEqual(blocks)) return v > 1 ? [['--num-layers-per-virtual-pipeline-stage', blocks[0]! / v]] : [];
  const firstLast = firstLastArgs(blocks);
  if (firstLast === null) return layout;
  // With uneven stages Megatron takes the chunk count, not the chunk size.
  return v > 1 ? [...firstLast, ['--num-virtual-stages-per-pipeline-rank', v]] : firstLast;
}

/**
 * A hybrid model's layer pattern cut into its pipeline segments, in layer order: with pp > 1 one
 * segment per virtual stage, holding the blocks `virtualStageBlocks` gives it (select_pipeline_segment
 * in hybrid_layer_allocation.py hands segment k·pp + i to chunk k of rank i, as that cut counts);
 * on one stage the pattern whole, which needs no `|`.
 */
export function hybridSegments(pattern: string, blocks: readonly number[], virtualStages: number): string[] {
  const total = blocks.reduce((sum, n) => sum + n, 0);
  if (total !== pattern.length)
    throw new Error(`${total} blocks in the stages for a ${pattern.length}-layer pattern`);
  if (blocks.length === 1) return [pattern];
  let at = 0;
  return virtualStageBlocks(blocks, virtualStages).map((n) => {
    at += n;
    return pattern.slice(at - n, at);
  });
}

/** The layers pipeline rank `rank` of `pp` holds: its segments rank, rank + pp, … joined. */
export function rankLayers(segments: readonly string[], pp: number, rank: number): string {
  return segments.filter((_, s) => s % pp === rank).join('');
}
