/**
 * What DeepSpeed v0.16.4 runs (`deepspeed/runtime/config.py`, `zero/config.py`, `pipe/`) and how its
 * runtime prices it.
 */
import { type Framework, firstProblem, RUNS, type RunShape } from '../framework.ts';
import { deepspeedStageCuts } from './partition.ts';

export const DEEPSPEED_RELEASE = 'DeepSpeed v0.16.4';

export const deepspeed: Framework = {
  name: 'deepspeed',
  anyLayout: false,
  release: DEEPSPEED_RELEASE,
  // DeepSpeed wraps the user's own model: any architecture, any graph.
  builds: () => RUNS,
  runs: (shape: RunShape) =>
    firstProblem([
      shape.tp > 1
        ? 'DeepSpeed v0.16.4 has no tensor parallelism for training (Megatron-DeepSpeed is another framework)'
        : null,
      shape.layouts.kind === 'other' ? shape.layouts.reason : null,
      shape.cp > 1 ? `meshplan does not export DeepSpeed sequence parallelism (cp = ${shape.cp})` : null,
      shape.ep > 1 ? `meshplan does not export DeepSpeed expert parallelism (ep = ${shape.ep})` : null,
      shape.pp > 1 && shape.model === null
        ? "a general graph must be rewritten as a PipelineModule layer list for DeepSpeed's pipeline engine"
        : null,
      shape.pp > 1 && shape.zero >= 2
        ? `ZeRO-${shape.zero} cannot be combined with DeepSpeed's pipeline engine (stages 0 and 1 only)`
        : null,
      shape.virtualStages > 1 ? 'DeepSpeed has no interleaved pipeline schedule' : null,
      shape.schedule === 'gpipe' ? 'DeepSpeed pipelines run their own 1F1B schedule, not GPipe' : null,
    ]),
  // The pipeline engine reduces gradients after the last microbatch; ZeRO alone overlaps them
  // with the backward pass (`overlap_comm`, which the export switches on).
  runtime: (shape, requested) => ({
    gradientReduction:
      shape.pp > 1 || requested.overlapGradReduce === false ? 'after-backward' : 'overlapped',
    tensorParallelOverlap: false,
  }),
  stageCuts: (shape) =>
    shape.pp > 1 && shape.model !== null ? deepspeedStageCuts(shape.model.layers, shape.pp) : null,
};
