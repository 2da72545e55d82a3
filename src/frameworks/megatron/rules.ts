/**
 * What Megatron-LM core_v0.19.0 runs (`megatron/training/arguments.py` validate_args and the
 * reference table in ../shared/reference/frameworks/) and how its runtime prices it.
 */
import type { TransformerDims } from '../../model/dims.ts';
import { type Framework, firstProblem, type RunShape } from '../framework.ts';

export const MEGATRON_RELEASE = 'Megatron-LM core_v0.19.0';

function modelProblem(model: TransformerDims | null): string | null {
  return model === null
    ? 'Megatron-LM trains its own GPT/Llama-style models; a general operator graph has no equivalent'
    : null;
}

function cutProblem(shape: RunShape): string | null {
  const blocks = shape.blocksPerStage;
  if (blocks === null || shape.virtualStages <= 1) return null;
  // The layout string lists each rank's model chunks: a rank's blocks split into v equal chunks.
  const uneven = blocks.find((n) => n % shape.virtualStages !== 0);
  return uneven === undefined
    ? null
    : `the interleaved schedule splits each stage into ${shape.virtualStages} model chunks, but a stage holds ${uneven} blocks`;
}

export const megatron: Framework = {
  name: 'megatron',
  anyLayout: false,
  release: MEGATRON_RELEASE,
  builds: (model) => firstProblem([modelProblem(model)]),
  runs: (shape) =>
    firstProblem([
      modelProblem(shape.model),
      shape.layouts.kind === 'other' ? shape.layouts.reason : null,
      shape.schedule === 'gpipe' ? 'Megatron-LM has no GPipe schedule (it runs 1F1B)' : null,
      shape.virtualStages > 1 && shape.pp < 2 ? 'the interleaved schedule needs pipeline parallelism' : null,
      shape.virtualStages > 1 && shape.microbatches % shape.pp !== 0
        ? `the interleaved schedule needs the microbatches per step (${shape.microbatches}) to be a multiple of pp = ${shape.pp}`
        : null,
      cutProblem(shape),
    ]),
  // --overlap-grad-reduce (exported when priced) reduces bucket by bucket during the last backward.
  runtime: (_shape, requested) => ({
    gradientReduction: requested.overlapGradReduce === false ? 'after-backward' : 'overlapped',
    tensorParallelOverlap: requested.overlapTensorParallelComm ?? false,
  }),
  stageCuts: () => null,
};
