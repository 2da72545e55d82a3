/**
 * What torchtitan v0.2.2 runs (`torchtitan/config/job_config.py`, `torchtitan/distributed/`) and
 * how its runtime prices it.
 */
import type { TransformerDims } from '../../model/dims.ts';
import { type Framework, firstProblem } from '../framework.ts';

export const TORCHTITAN_RELEASE = 'torchtitan v0.2.2';

function modelProblem(m: TransformerDims | null): string | null {
  if (m === null) return 'torchtitan trains its own model definitions; a general operator graph has none';
  if (m.activation !== 'swiglu' || m.norm !== 'rmsnorm' || m.tiedEmbeddings || m.dropout) {
    return 'torchtitan v0.2.2 ships Llama-family models (RMSNorm, SwiGLU, RoPE, untied embeddings, no dropout); this model is not one';
  }
  return null;
}

export const torchtitan: Framework = {
  name: 'torchtitan',
  anyLayout: false,
  release: TORCHTITAN_RELEASE,
  builds: (model) => firstProblem([modelProblem(model)]),
  runs: (shape) =>
    firstProblem([
      modelProblem(shape.model),
      shape.layouts.kind === 'other' ? shape.layouts.reason : null,
      shape.tp > 1 && !shape.sequenceParallel
        ? "torchtitan's tensor parallelism always splits norms along the sequence (sequence parallelism)"
        : null,
      shape.zero === 1 ? 'torchtitan has no ZeRO-1: FSDP2 shards gradients too (ZeRO-2 or 3)' : null,
      shape.zero === 0 && shape.dp > 1 && (shape.tp > 1 || shape.pp > 1)
        ? 'torchtitan refuses pure data parallelism (DDP) with tensor or pipeline parallelism'
        : null,
      shape.virtualStages > 1 && shape.microbatches % shape.pp !== 0
        ? `its interleaved schedule needs the microbatches per step (${shape.microbatches}) to be a multiple of pp = ${shape.pp}`
        : null,
      shape.blocksPerStage !== null && shape.virtualStages > 1
        ? shape.blocksPerStage.some((n) => n % shape.virtualStages !== 0)
          ? `each stage's blocks must split into ${shape.virtualStages} model chunks`
          : null
        : null,
    ]),
  // Without pipelining, FSDP2 and DDP reduce gradients at every accumulation microbatch.
  runtime: (shape, requested) => ({
    gradientReduction:
      shape.pp === 1 && shape.microbatches > 1
        ? 'every-microbatch'
        : requested.overlapGradReduce === false
          ? 'after-backward'
          : 'overlapped',
    tensorParallelOverlap: requested.overlapTensorParallelComm ?? false,
  }),
  stageCuts: () => null,
};
