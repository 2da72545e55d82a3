/**
 * What DeepSpeed v0.16.4 runs and how its runtime prices it, from its source at that tag:
 * `deepspeed/runtime/engine.py`, `zero/stage_1_and_2.py`, `pipe/engine.py`, `pipe/schedule.py`,
 * `pipe/module.py`.
 */
import { GRADIENT_BYTES } from '../../cost/memory.ts';
import { precisionFormat } from '../../cost/quantized-gemm.ts';
import { quantizedGemmDtype } from '../../schema/index.ts';
import type { RequestedOverlaps, RuntimePolicy } from '../framework.ts';
import {
  type Framework,
  firstProblem,
  gptOssTraitsProblem,
  megatronOnlyModelProblems,
  perOpRecomputeProblem,
  qkNormProblem,
  type RunShape,
  recomputeModulesProblem,
} from '../framework.ts';
import { deepspeedStageCuts, layersOfBlocks } from './layer-list.ts';

export const DEEPSPEED_RELEASE = 'DeepSpeed v0.16.4';

function cutProblem(shape: RunShape): string | null {
  const blocks = shape.blocksPerStage;
  if (blocks === null || shape.model === null || shape.pp <= 1) return null;
  const wanted = layersOfBlocks(blocks).join(',');
  if (deepspeedStageCuts(shape.model, shape.pp).some((cut) => cut.join(',') === wanted)) return null;
  return `PipelineModule computes the stage split itself, and none of its partition methods (uniform, parameters, type:TransformerBlock) gives ${blocks.join(', ')} transformer blocks per stage`;
}

export const deepspeed: Framework = {
  name: 'deepspeed',
  anyLayout: false,
  release: DEEPSPEED_RELEASE,
  // DeepSpeed wraps the user's own nn.Module, any architecture; the export's script writes a transformer.
  builds: (model) =>
    firstProblem([
      ...megatronOnlyModelProblems(model, 'DeepSpeed'),
      gptOssTraitsProblem(model, 'DeepSpeed'),
      qkNormProblem(model, 'DeepSpeed'),
    ]),
  runs: (shape: RunShape) => {
    const verdict = firstProblem([
      // v0.16.4's only training tensor parallelism is the new AutoTP (`tensor_parallel.autotp_size`,
      // Hugging Face models through deepspeed.tp_model_init, not with ZeRO-3): not a target here.
      shape.tp > 1
        ? 'DeepSpeed v0.16.4 runs no Megatron-style tensor parallelism of its own (Megatron-DeepSpeed is another framework)'
        : null,
      shape.layouts.kind === 'other' ? shape.layouts.reason : null,
      // runtime/config.py reads fp16 and bf16 sections and no fp8 one: FP8 (and NVFP4) GEMMs come from
      // the model's own layers (Transformer Engine's), which the export's layer list does not write.
      quantizedGemmDtype(shape.precision) !== null
        ? `DeepSpeed v0.16.4's config has no ${shape.precision.toUpperCase()} setting: such GEMMs live in the model's own code (Transformer Engine layers)`
        : null,
      // Its activation checkpointing wraps whole layers (or what the model's code checkpoints).
      ...megatronOnlyModelProblems(shape.model, 'DeepSpeed'),
      gptOssTraitsProblem(shape.model, 'DeepSpeed'),
      qkNormProblem(shape.model, 'DeepSpeed'),
      recomputeModulesProblem(shape, 'DeepSpeed'),
      perOpRecomputeProblem(shape, 'DeepSpeed'),
      // Both live in the model's code, which the export's layer list does not write.
      shape.cp > 1
        ? `DeepSpeed v0.16.4's config has no context-parallel degree: Ulysses attention (deepspeed.sequence.layer.DistributedAttention) is wired into the model's own code (cp = ${shape.cp})`
        : null,
      shape.ep > 1
        ? `DeepSpeed v0.16.4's expert parallelism is the ep_size of the model's own deepspeed.moe.layer.MoE layers, not a config key (ep = ${shape.ep})`
        : null,
      shape.pp > 1 && shape.model === null
        ? "DeepSpeed's pipeline engine needs the model as a PipelineModule layer list, which a general operator graph is not (it runs with pp = 1)"
        : null,
      // pipe/engine.py: `assert self.zero_optimization_stage() < ZeroStageEnum.gradients`.
      shape.pp > 1 && shape.zero >= 2
        ? `ZeRO-${shape.zero} cannot be combined with DeepSpeed's pipeline engine (ZeRO 0 or 1 only)`
        : null,
      // engine.py _do_optimizer_sanity_check: without ZeRO, bf16 accumulates gradients in float32
      // (get_data_types) and trains through BF16_Optimizer, which keeps those float32 gradients
      // whole and shards the float32 weights and Adam state over data parallelism
      // (bf16_optimizer.py), then all-reduces float32 gradients and all-gathers the weights: not the
      // ZeRO-0 a plan prices (fp16's FP16_Optimizer is).
      shape.zero === 0 && shape.precision === 'bf16'
        ? 'without ZeRO it trains bf16 through its BF16_Optimizer, which shards the float32 weights and Adam state over data parallelism and keeps float32 gradients: not ZeRO-0; use ZeRO-1 (or fp16)'
        : null,
      // pipe/schedule.py: TrainSchedule is its one training schedule (1F1B, one chunk per stage).
      shape.virtualStages > 1 ? 'DeepSpeed has no interleaved pipeline schedule' : null,
      shape.schedule === 'gpipe' ? 'DeepSpeed pipelines run their own 1F1B schedule, not GPipe' : null,
    ]);
    // Checked last: the cuts need the layer list, built from the model.
    return verdict.ok ? firstProblem([cutProblem(shape)]) : verdict;
  },
  runtime: deepspeedRuntime,
  stageCuts: (shape) =>
    shape.pp > 1 && shape.model !== null ? deepspeedStageCuts(shape.model, shape.pp) : null,
};

/** DeepSpeed's default reduce and all-gather bucket, elements (runtime/zero/config.py). */
const DEEPSPEED_BUCKET_ELEMENTS = 500_000_000;

/**
 * When DeepSpeed's data-parallel gradients travel:
 * - pipeline engine: one ReduceGrads instruction after the last microbatch's backward pass
 *   (pipe/schedule.py TrainSchedule, pipe/engine.py `_exec_reduce_grads`);
 * - ZeRO 0: `engine.backward` all-reduces after the backward pass at the accumulation boundary;
 * - ZeRO 1–3 with `overlap_comm` (which the export switches on; stage 3's default): gradient hooks
 *   reduce bucket by bucket during the backward pass (stage 1 at the boundary only, stages 2 and 3
 *   at every microbatch, which the cost model already charges to ZeRO 2 and 3).
 */
function deepspeedRuntime(shape: RunShape, requested: RequestedOverlaps): RuntimePolicy {
  const overlapped = shape.pp === 1 && shape.zero >= 1 && requested.overlapGradReduce !== false;
  return {
    gradientReduction: overlapped ? 'overlapped' : 'after-backward',
    // ZeRO 1–2 all-gather the updated fp16 parameters inside the optimizer step (stage_1_and_2.py step).
    paramGatherOverlap: false,
    // reduce_bucket_size and allgather_bucket_size, whose defaults (5e8 elements) the export keeps.
    gradientBucketElements: DEEPSPEED_BUCKET_ELEMENTS,
    tensorParallelOverlap: false,
    // No tensor parallelism runs (see `runs`): nothing to overlap.
    inputGradientOverlap: false,
    expertParallelOverlap: false,
    // communication_data_type, unset by the export, defaults to the training dtype (engine.py).
    gradientReduceBytes: 2,
    heldGradientBytes: GRADIENT_BYTES,
    // The rules refuse FP8 (see runs); the default's figure stands.
    quantizedWeightCacheBytes: precisionFormat(shape.precision)?.weightCopyBytes ?? 0,
    // v0.16.4 fetches a module's parameters as one coalesced all-gather (partition_parameters.py
    // all_gather_coalesced) and reduce-scatters its buckets coalesced: a collective per layer's share.
    zero3Collectives: 'per-layer',
    // After a module's recomputed forward, partitioned_param_coordinator.py __params_to_release keeps
    // its parameters only if they recur within stage3_max_reuse_distance (default 1e9 elements) of
    // other fetched parameters; a big layer's modules do not, and are fetched again for the backward.
    zero3RegatherAfterRecompute: true,
  };
}

/** Whether the export sets `zero_optimization.overlap_comm`: exactly when the runtime prices it. */
export function overlapComm(shape: RunShape, requested: RequestedOverlaps): boolean {
  return deepspeedRuntime(shape, requested).gradientReduction === 'overlapped';
}
