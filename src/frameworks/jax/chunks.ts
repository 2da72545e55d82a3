/**
 * Which layers each stage's devices run. Without interleaving, the stage's own range. With an
 * interleaved schedule of v model chunks per stage, the plan gives each stage its block count;
 * the stage runs them as v chunks, chunk k being virtual stage k·pp + stage in layer order
 * (Megatron's interleaving, which the schedule's bubble was priced for), the embedding in virtual
 * stage 0 and the head in the last.
 */
import type { ExportContext } from '../context.ts';
import { virtualStageBlocks } from '../pipeline-split.ts';

export type LayerSpan = [number, number];

export function stageChunks(ctx: ExportContext): LayerSpan[][] {
  const v = ctx.summary.virtualStages;
  const pp = ctx.stages.length;
  // A general graph has no blocks: its stages run their own ranges.
  if (v <= 1 || ctx.dims === null) return ctx.stages.map((s) => [[s.layers[0], s.layers[1]]]);
  // Virtual stage k·pp + i is chunk k of stage i, cut as the other exports cut it.
  const sizes = virtualStageBlocks(ctx.blocks, v);
  const head = ctx.model.layers.length - 1;
  const chunks: LayerSpan[][] = ctx.stages.map(() => []);
  let next = 1;
  for (let k = 0; k < v; k++) {
    for (let i = 0; i < pp; i++) {
      const first = k === 0 && i === 0 ? 0 : next;
      next += sizes[k * pp + i]!;
      const last = k === v - 1 && i === pp - 1 ? head : next - 1;
      // A chunk without a block (fewer blocks than chunks) passes activations through: nothing to run.
      if (last >= first) chunks[i]!.push([first, last]);
    }
  }
  return chunks;
}
