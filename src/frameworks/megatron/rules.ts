/**
 * What Megatron-LM core_v0.19.0 runs and how its runtime prices it, read from its source at that
 * tag: `megatron/training/arguments.py` (validate_args), `megatron/core/model_parallel_config.py`
 * and `megatron/core/transformer/transformer_config.py` (__post_init__), the pipeline schedules and
 * the MoE layer. The facts of its arguments are in ../shared/reference/frameworks/.
 */
import { megatronBucketElements } from '../../cost/data-parallel.ts';
import { GRADIENT_BYTES } from '../../cost/memory.ts';
import { precisionFormat } from '../../cost/quantized-gemm.ts';
import type { TransformerDims } from '../../model/dims.ts';
import {
  type Framework,
  firstProblem,
  perOpRecomputeProblem,
  type RunShape,
  unprefetchedZero3Problem,
} from '../framework.ts';
import { featureProblems, modelFeatureProblems, usesFfnSize } from './feature-rules.ts';
import { hybridModelProblems, hybridRunProblems } from './hybrid-rules.ts';
import { outerParallelProblems } from './outer-rules.ts';

export const MEGATRON_RELEASE = 'Megatron-LM core_v0.19.0';

function modelProblem(model: TransformerDims | null): string | null {
  return model === null
    ? 'Megatron-LM trains its own GPT/Llama-style models; a general operator graph has no equivalent'
    : null;
}

/** The smallest vocabulary of at least `vocab` rows that tp ranks split evenly. */
const paddedVocab = (vocab: number, tp: number) => Math.ceil(vocab / tp) * tp;

/** How tp ranks split the model: TransformerConfig and the parallel linear layers divide evenly. */
function tensorParallelProblems(shape: RunShape): (string | null)[] {
  const { model: m, tp } = shape;
  if (m === null || tp === 1) return [];
  return [
    m.heads % tp !== 0 ? `its ${m.heads} attention heads do not divide over tp = ${tp}` : null,
    m.kvHeads % tp !== 0 && tp % m.kvHeads !== 0
      ? `its ${m.kvHeads} query groups are neither a multiple nor a divisor of tp = ${tp}`
      : null,
    usesFfnSize(m) && m.ffnHidden % tp !== 0
      ? `its FFN size ${m.ffnHidden} does not divide over tp = ${tp} (column-parallel linear layers split it evenly)`
      : null,
    m.vocab % tp !== 0
      ? `its vocabulary of ${m.vocab} does not divide over tp = ${tp}: VocabParallelEmbedding splits the rows evenly, so Megatron would build ${paddedVocab(m.vocab, tp)} rows (plan with that vocabulary to price it)`
      : null,
    // Each context-parallel rank's share of the sequence is what sequence parallelism splits.
    shape.sequenceParallel && (m.seqLen / shape.cp) % tp !== 0
      ? `sequence parallelism splits the ${m.seqLen}-token sequence (${m.seqLen / shape.cp} tokens per cp rank) over tp = ${tp} evenly`
      : null,
    // MoELayer.forward raises in training when tp > 1 without sequence parallelism.
    m.moe !== null && !shape.sequenceParallel
      ? 'its MoE layers refuse tensor parallelism without sequence parallelism'
      : null,
  ];
}

function pipelineProblems(shape: RunShape): (string | null)[] {
  const { pp, virtualStages: v } = shape;
  return [
    shape.schedule === 'gpipe' ? 'Megatron-LM has no GPipe schedule (it runs 1F1B)' : null,
    // With --overlap-p2p-communication (the default) interleaving needs pp > 1 (validate_args).
    v > 1 && pp < 2 ? 'the interleaved schedule needs pipeline parallelism' : null,
    // Microbatches go through each model chunk in groups of pp (microbatch_group_size_per_vp_stage
    // defaults to pp), and a last group smaller than pp is refused.
    v > 1 && shape.microbatches % pp !== 0
      ? `the interleaved schedule needs the microbatches per step (${shape.microbatches}) to be a multiple of pp = ${pp}`
      : null,
  ];
}

/** The global batch is micro batch × microbatches × dp (validate_args and the microbatch calculator). */
function batchProblem(shape: RunShape): string | null {
  const sequences = shape.rankMicroBatch * shape.microbatches * shape.dp;
  return Number.isInteger(shape.rankMicroBatch) && sequences === shape.globalBatch
    ? null
    : `micro batch ${shape.rankMicroBatch} × ${shape.microbatches} microbatches × dp ${shape.dp} is not the global batch of ${shape.globalBatch}`;
}

export const megatron: Framework = {
  name: 'megatron',
  anyLayout: false,
  release: MEGATRON_RELEASE,
  builds: (model) =>
    firstProblem([modelProblem(model), ...modelFeatureProblems(model), ...hybridModelProblems(model)]),
  runs: (shape) =>
    firstProblem([
      modelProblem(shape.model),
      shape.layouts.kind === 'other' ? shape.layouts.reason : null,
      perOpRecomputeProblem(shape, 'Megatron-LM'),
      // The hybrid mixer's own asserts first: they name the release's rule where TE's alignment overlaps.
      ...hybridRunProblems(shape),
      ...featureProblems(shape),
      ...outerParallelProblems(shape),
      ...tensorParallelProblems(shape),
      ...pipelineProblems(shape),
      batchProblem(shape),
      unprefetchedZero3Problem(shape, 'Megatron-FSDP'),
    ]),
  /*
   * Gradients reduce bucket by bucket during the last microbatch's backward pass with
   * --overlap-grad-reduce (DDP and the distributed optimizer; the export turns it on), otherwise
   * after it. Megatron-FSDP (ZeRO-2/3) reduce-scatters at every backward pass whatever the flag,
   * which the cost model prices for those stages itself; its once-per-step parameter all-gather
   * hides behind compute with --overlap-param-gather, which the export turns on with it.
   * Tensor-parallel collectives overlap with GEMMs only with --tp-comm-overlap, which
   * validate_args allows only with sequence parallelism (and so tp > 1). Expert all-to-alls
   * overlap another microbatch's compute with --overlap-moe-expert-parallel-comm, which
   * TransformerConfig allows with ep > 1, an interleaved schedule when pp > 1, no full
   * recomputation and at most one MTP layer; not for a hybrid model, whose HybridModel has no
   * build_schedule_plan for that combined 1F1B schedule to call (combined_1f1b.py).
   * Gradient buckets as DistributedDataParallel sizes them without --ddp-bucket-size. Its linear
   * layers (Transformer Engine's and its own) launch the backward's input-gradient reduce-scatter
   * (all-reduce without sequence parallelism) asynchronously and compute the weight gradient
   * meanwhile, no flag needed.
   */
  runtime: (shape, requested) => ({
    gradientReduction: requested.overlapGradReduce === false ? 'after-backward' : 'overlapped',
    // --overlap-param-gather, which the export turns on with --overlap-grad-reduce.
    paramGatherOverlap: requested.overlapGradReduce !== false,
    gradientBucketElements: megatronBucketElements(
      shape.dp * shape.cp,
      requested.overlapGradReduce !== false,
    ),
    // Not under NVFP4: Megatron-Bridge's recipes turn --tp-comm-overlap off for it
    // (scripts/performance/configs/llama/llama3_llm_pretrain.py at 21d102f5ec), as the userbuffers
    // overlap is not run with NVFP4 GEMMs; the export then leaves the flag out.
    tensorParallelOverlap:
      requested.overlapTensorParallelComm === true &&
      shape.sequenceParallel &&
      shape.tp > 1 &&
      shape.precision !== 'nvfp4',
    inputGradientOverlap: requested.overlapInputGradientReduce !== false,
    expertParallelOverlap:
      requested.overlapExpertParallelComm === true &&
      shape.ep > 1 &&
      (shape.pp === 1 || shape.virtualStages > 1) &&
      shape.recompute !== 'full' &&
      (shape.model?.mtpLayers ?? 0) <= 1 &&
      (shape.model?.hybridPattern ?? null) === null,
    // The export passes --grad-reduce-in-bf16 (bf16 would otherwise reduce in fp32); fp16 reduces in fp16.
    gradientReduceBytes: 2,
    // The gradient buffer takes the reduction's dtype (param_and_grad_buffer.py group_params_for_buffers).
    heldGradientBytes: GRADIENT_BYTES,
    // Transformer Engine's linear layers cache each quantized weight's copies for the step.
    quantizedWeightCacheBytes: precisionFormat(shape.precision)?.weightCopyBytes ?? 0,
    // Megatron-FSDP gathers and reduces a unit (a layer) at a time.
    zero3Collectives: 'per-layer',
    // Megatron-FSDP keeps a unit gathered from its recomputed forward through its backward.
    zero3RegatherAfterRecompute: false,
  }),
  stageCuts: () => null,
};
