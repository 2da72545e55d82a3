import { describe, expect, it } from 'vitest';
import { pipelineArgs } from '../../src/frameworks/megatron/pipeline.ts';
import { virtualStageBlocks } from '../../src/frameworks/pipeline-split.ts';
import { embeddingAndLossSplit } from '../../src/planner/estimate-config.ts';

const sum = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0);

describe('model chunks of an interleaved pipeline', () => {
  it('cuts equal stages into equal chunks, rank by rank in pipeline order', () => {
    expect(virtualStageBlocks([4, 4], 2)).toEqual([2, 2, 2, 2]);
    expect(virtualStageBlocks([2, 6, 4, 4], 2)).toEqual([1, 3, 2, 2, 1, 3, 2, 2]);
  });

  it('Llama 3.1 405B as NVIDIA runs it: 126 blocks, pp 8 × v 8, the embedding and loss counted as blocks', () => {
    const stages = embeddingAndLossSplit(126, 8, 8)!;
    expect(stages).toEqual([15, 16, 16, 16, 16, 16, 16, 15]);
    const chunks = virtualStageBlocks(stages, 8);
    // Megatron's --account-for-embedding/loss-in-pipeline-split: (126 + 2) / 64 = 2 per chunk, the
    // embedding filling the first chunk's other place and the loss the last's.
    expect(chunks).toEqual([1, ...new Array<number>(62).fill(2), 1]);
    expect(sum(chunks)).toBe(126);
    const layout = pipelineArgs(stages, 8, 0);
    expect(layout).toEqual([
      ['--pipeline-model-parallel-layout', ['Et', ...new Array<string>(62).fill('t*2'), 'tL'].join('|')],
    ]);
  });

  it('keeps every block whatever the cut, and no chunk differs from its rank’s others by more than one', () => {
    for (const [stages, v] of [
      [[7, 9], 2],
      [[3, 5, 5, 4], 3],
      [[15, 16, 16, 15], 4],
      [[1, 8], 4],
    ] as [number[], number][]) {
      const chunks = virtualStageBlocks(stages, v);
      expect(sum(chunks)).toBe(sum(stages));
      stages.forEach((n, rank) => {
        const own = chunks.filter((_, i) => i % stages.length === rank);
        expect(sum(own)).toBe(n);
        expect(Math.max(...own) - Math.min(...own)).toBeLessThanOrEqual(1);
      });
    }
  });

  it('offers the embedding-and-loss split only where it exists', () => {
    expect(embeddingAndLossSplit(94, 8, 4)).toEqual([11, 12, 12, 12, 12, 12, 12, 11]);
    expect(embeddingAndLossSplit(96, 8, 2)).toBeNull();
    expect(embeddingAndLossSplit(30, 1, 2)).toBeNull();
  });
});
