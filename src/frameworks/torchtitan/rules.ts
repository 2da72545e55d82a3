/**
 * What torchtitan v0.2.2 runs and how its runtime prices it, read from its source at that tag
 * (and from the PyTorch nightly it pins, for `torch.distributed.pipelining`).
 */
import { GRADIENT_BYTES } from '../../cost/memory.ts';
import { precisionFormat } from '../../cost/quantized-gemm.ts';
import type { TransformerDims } from '../../model/dims.ts';
import type { CpCommType, ZeroStage } from '../../schema/index.ts';
import {
  type Framework,
  firstProblem,
  flexDispatcherProblem,
  gptOssTraitsProblem,
  megatronOnlyModelProblems,
  quantizedParamGatherProblem,
  type RunShape,
  recomputeModulesProblem,
  unprefetchedZero3Problem,
} from '../framework.ts';
import { torchtitanModel } from './model.ts';
import { partBlocks } from './stages.ts';

export const TORCHTITAN_RELEASE = 'torchtitan v0.2.2';

/*
 * Models: torchtitan builds the models its train specs define. meshplan registers a flavor of
 * llama3, qwen3 or deepseek_v3, or its own GPT model, for the priced transformer (./model.ts).
 */
function modelProblem(m: TransformerDims | null): string | null {
  if (m === null)
    return 'it trains the models its train specs define, and a general operator graph is none of them';
  const model = torchtitanModel(m);
  return model.kind === 'none' ? model.reason : null;
}

/**
 * The ZeRO stages torchtitan's FSDP2 runs as. Alone, it shards parameters, gradients and optimizer
 * state (ZeRO 2 or 3, as fsdp_reshard_after_forward keeps parameters from forward to backward or
 * not). Under pipeline parallelism PyTorch's pipeline stage turns resharding after backward and
 * gradient sync off for every microbatch's backward (pipelining/stage.py
 * `backward_maybe_with_nosync`) and reshards and reduce-scatters once, after the last
 * (`_post_backward`): parameters stay gathered and gradients accumulate whole, in float32
 * (`FSDPParam.to_accumulated_grad_if_needed` upcasts to reduce_dtype), through the step. Only the
 * optimizer state stays sharded: ZeRO-1.
 */
const fsdpStages = (s: RunShape): readonly ZeroStage[] => (s.pp > 1 ? [1] : [2, 3]);

/**
 * Whether parameters are sharded by FSDP2: over data_parallel_shard_degree · context_parallel_degree
 * ranks when that is > 1 (parallel_dims.py `fsdp_enabled`: context-parallel ranks always join the
 * FSDP mesh).
 */
const fsdp = (s: RunShape) => fsdpStages(s).includes(s.zero) && s.dp * s.cp > 1;

/**
 * PyTorch's ring attention (torch.distributed.tensor.experimental._attention) under torchtitan's
 * `context_parallel_rotate_method`: "alltoall" passes each key/value shard to the next rank, cp − 1
 * times (a ring: Megatron's p2p); "allgather" gathers all shards once. It has no Ulysses exchange.
 */
export const ROTATE_METHODS: Readonly<Record<CpCommType, 'alltoall' | 'allgather' | null>> = {
  p2p: 'alltoall',
  allgather: 'allgather',
  a2a: null,
};

function contextParallelProblems(s: RunShape): (string | null)[] {
  if (s.cp === 1) return [];
  const model = s.model === null ? null : torchtitanModel(s.model);
  return [
    ROTATE_METHODS[s.cpCommType] === null
      ? 'its context parallelism passes key/value shards around a ring or all-gathers them (context_parallel_rotate_method alltoall or allgather); it has no all-to-all over heads (cpCommType a2a, Ulysses)'
      : null,
    // The GPT model reads no `positions`: its RoPE and position table would see the load-balanced shards as tokens 0…s/cp.
    model?.kind === 'gpt'
      ? "meshplan's GPT model (for LayerNorm, GELU, biases, learned positions, tied embeddings or dropout) takes no context-parallel positions; only torchtitan's llama3, qwen3 and deepseek_v3 run context parallelism"
      : null,
    // parallel_dims.py fsdp_enabled: cp > 1 always shards parameters with FSDP2 over the cp ranks.
    s.zero === 0
      ? `with context parallelism it shards parameters with FSDP2 over the ${s.cp} context-parallel ranks, which ZeRO-0 does not`
      : null,
  ];
}

/**
 * Expert parallelism (parallel_dims.py): etp is tp or 1, the expert mesh [dp_replicate, efsdp, ep,
 * etp] tiles the world, so ep · etp divides dp_shard · cp · tp; and with ep > 1 its models apply
 * FSDP to the experts (deepseek_v3 and qwen3 parallelize.py), which ZeRO-0's DDP is not.
 */
function expertParallelProblems(s: RunShape): (string | null)[] {
  if (s.ep === 1) return [];
  const experts = s.model?.moe?.experts;
  const sharded = fsdpStages(s).includes(s.zero);
  const shards = sharded ? s.dp : 1;
  return [
    experts === undefined ? 'expert parallelism needs a mixture of experts' : null,
    sharded
      ? null
      : `with expert parallelism it shards parameters with FSDP2 (${s.pp > 1 ? 'ZeRO-1 under pipeline parallelism' : 'ZeRO-2 or 3'})`,
    experts !== undefined && experts % s.ep !== 0
      ? `its ${experts} experts do not split over ep = ${s.ep}`
      : null,
    s.etp !== s.tp && s.etp !== 1 ? `its expert tensor parallelism is tp (${s.tp}) or 1, not ${s.etp}` : null,
    (shards * s.cp * s.tp) % (s.ep * s.etp) !== 0
      ? `ep ${s.ep} × etp ${s.etp} does not divide dp_shard ${shards} × cp ${s.cp} × tp ${s.tp}, which its expert mesh carves them from`
      : null,
  ];
}

/**
 * FP8 (components/quantization/float8.py): Float8Linear for the linear layers, and for the experts'
 * grouped GEMMs a prototype converter that asserts pipeline_parallel_degree and
 * context_parallel_degree are 1.
 */
function fp8Problems(s: RunShape): (string | null)[] {
  if (s.precision !== 'fp8' || s.model === null || s.model.moe === null) return [];
  const { first, last } = s.model.bf16Layers;
  return [
    s.pp > 1 || s.cp > 1
      ? `its FP8 grouped GEMMs for the experts (quantize.grouped_mm.float8) run without pipeline or context parallelism, and this plan has pp ${s.pp}, cp ${s.cp}`
      : null,
    // Float8Linear's filter skips a block's linear layers by name; the experts' converter takes only
    // the modules to convert (its fqns), which the export writes as every expert module.
    first + last > 0
      ? "its export converts every block's experts to FP8 grouped GEMMs (quantize.grouped_mm.float8), so it keeps no MoE block in bf16: plan without training.bf16Layers, or for Megatron-LM"
      : null,
  ];
}

function dataParallelProblems(s: RunShape): (string | null)[] {
  return [
    // FSDP2 shards gradients with the optimizer state: there is no ZeRO-1 (job_config.py Parallelism)
    // but under a pipeline, whose stage keeps FSDP2's parameters and gradients whole (fsdpStages).
    s.zero === 1 && s.pp === 1
      ? 'without pipeline parallelism it has no ZeRO-1: FSDP2 shards gradients and optimizer state together (ZeRO-2 or 3)'
      : null,
    s.zero >= 2 && s.pp > 1 && s.dp * s.cp > 1
      ? `under pipeline parallelism FSDP2 runs as ZeRO-1, not ${s.zero}: the pipeline stage keeps parameters gathered and gradients whole, in float32, from the first microbatch to the last and only then reshards and reduce-scatters them (PyTorch pipelining/stage.py)`
      : null,
    // models/llama3/infra/parallelize.py: "DDP has not supported > 1D parallelism".
    s.zero === 0 && s.dp > 1 && (s.tp > 1 || s.pp > 1)
      ? 'it runs pure data parallelism (DDP, ZeRO-0) only without tensor or pipeline parallelism'
      : null,
    // distributed/utils.py maybe_enable_amp: with TP or PP and no FSDP, mixed precision is off.
    !fsdp(s) && !(s.zero === 0 && s.dp > 1) && (s.tp > 1 || s.pp > 1)
      ? 'with tensor or pipeline parallelism it trains in mixed precision only under FSDP (data_parallel_shard_degree > 1); here it would train in float32'
      : null,
    // FSDP2 reshards after every backward, so "never" regathers parameters at each accumulation
    // microbatch; the pipeline keeps them gathered across its microbatches (pipelining/stage.py).
    s.zero === 2 && s.dp * s.cp > 1 && s.pp === 1 && s.microbatches > 1
      ? `with ${s.microbatches} accumulation microbatches FSDP2 gathers the parameters again at every one (it reshards after each backward); ZeRO-2 gathers them once per step`
      : null,
  ];
}

function tensorParallelProblems(s: RunShape): (string | null)[] {
  const m = s.model;
  return [
    // Its tensor-parallel plans shard norms along the sequence (SequenceParallel) and the loss by vocabulary.
    s.tp > 1 && !s.sequenceParallel
      ? 'its tensor parallelism always splits norms and dropout along the sequence (sequence parallelism)'
      : null,
    // parallelize.py asserts seq_len % parallel_dims.seq_len_divisor (tp · 2 · cp) == 0.
    m !== null && m.seqLen % (2 * s.tp * s.cp) !== 0
      ? `it needs the sequence (${m.seqLen}) to be a multiple of 2 · tp · cp = ${2 * s.tp * s.cp}`
      : null,
    m !== null && s.tp > 1 && m.mla === null && m.kvHeads % s.tp !== 0
      ? `its column-parallel k and v projections give each of the tp = ${s.tp} ranks whole key/value heads, and there are ${m.kvHeads}`
      : null,
    // MLA's wkv_b and wq (or wq_b) are column-parallel over all heads (deepseek_v3 parallelize.py).
    m !== null && s.tp > 1 && m.mla !== null && m.heads % s.tp !== 0
      ? `its column-parallel latent-attention projections give each of the tp = ${s.tp} ranks whole heads, and there are ${m.heads}`
      : null,
  ];
}

/**
 * Pipeline schedules from torch.distributed.pipelining (schedules.py): Schedule1F1B raises when
 * microbatches < stages; ScheduleInterleaved1F1B needs microbatches to be a multiple of its
 * rounds, max(1, ⌊microbatches / pp⌋), and at least 2 model parts per rank.
 */
function pipelineProblems(s: RunShape): (string | null)[] {
  if (s.pp === 1) return [];
  const rounds = Math.max(1, Math.floor(s.microbatches / s.pp));
  return [
    s.model?.tiedEmbeddings === true
      ? 'its pipeline split copies the model per stage, so a tied embedding and head on different stages become two tables'
      : null,
    s.schedule === '1f1b' && s.microbatches < s.pp
      ? `its 1F1B schedule needs at least as many microbatches (${s.microbatches}) as stages (${s.pp})`
      : null,
    s.schedule === 'interleaved' && s.virtualStages < 2
      ? 'its Interleaved1F1B schedule needs at least 2 model chunks per rank'
      : null,
    s.schedule === 'interleaved' && s.microbatches % rounds !== 0
      ? `its Interleaved1F1B schedule needs the microbatches (${s.microbatches}) to be a multiple of its rounds (${rounds})`
      : null,
    s.blocksPerStage === null ? null : problemOf(partBlocks(s.blocksPerStage, s.virtualStages)),
  ];
}

/**
 * FSDP2's reduce_dtype, training.mixed_precision_reduce, whose only value in v0.2.2 is float32
 * (config/job_config.py).
 */
const REDUCE_DTYPE_BYTES = 4;

const problemOf = (parts: number[] | string) => (typeof parts === 'string' ? parts : null);

export const torchtitan: Framework = {
  name: 'torchtitan',
  anyLayout: false,
  release: TORCHTITAN_RELEASE,
  builds: (model) =>
    firstProblem([
      ...megatronOnlyModelProblems(model, 'torchtitan'),
      gptOssTraitsProblem(model, 'torchtitan'),
      modelProblem(model),
    ]),
  runs: (s) =>
    firstProblem([
      modelProblem(s.model),
      s.layouts.kind === 'other' ? s.layouts.reason : null,
      // parallel_dims.py _validate: dp_replicate · dp_shard · cp · tp · pp = world size.
      s.dp * s.cp * s.tp * s.pp !== s.devices
        ? `dp ${s.dp} × cp ${s.cp} × tp ${s.tp} × pp ${s.pp} is not the world size ${s.devices}`
        : null,
      // job_config.py: mixed_precision_param is "bfloat16" or "float32", and no loss scaler exists.
      s.precision === 'fp16' ? 'it trains in bfloat16 (or float32), not fp16' : null,
      // Its quantized training is torchao's converters under quantize.linear (the export's float8).
      precisionFormat(s.precision)?.blockScaled === true
        ? `meshplan's torchtitan v0.2.2 export runs no ${s.precision.toUpperCase()} GEMMs (its quantized linears are torchao's tensorwise Float8): plan with training.precision "fp8" or "bf16", or for Megatron-LM`
        : null,
      // activation_checkpoint.mode selective is per-op or per-layer, never a Megatron module list.
      recomputeModulesProblem(s, 'torchtitan'),
      ...megatronOnlyModelProblems(s.model, 'torchtitan'),
      gptOssTraitsProblem(s.model, 'torchtitan'),
      flexDispatcherProblem(s, 'torchtitan'),
      quantizedParamGatherProblem(s, 'torchtitan'),
      unprefetchedZero3Problem(s, 'FSDP2'),
      ...contextParallelProblems(s),
      ...expertParallelProblems(s),
      ...fp8Problems(s),
      ...dataParallelProblems(s),
      ...tensorParallelProblems(s),
      ...pipelineProblems(s),
    ]),
  /*
   * train.py runs forward and backward per accumulation microbatch without turning gradient sync
   * off, so FSDP2 and DDP reduce at every one (overlapped with its backward). Pipelined, FSDP2 runs
   * as ZeRO-1 (fsdpStages): the stage reduce-scatters once, after its last backward (PyTorch's
   * pipelining/stage.py `_post_backward`), and each block's parameters are gathered once, at the
   * first microbatch's forward, the next block prefetched. Async TP needs torch.compile, which the
   * export turns on for every plan (config.ts).
   */
  runtime: (s, requested) => ({
    // A request pinning overlapGradReduce: false is priced as it asks (FSDP2 would still overlap:
    // the plan is then conservative, never faster than the pin allows).
    gradientReduction:
      s.pp > 1 || requested.overlapGradReduce === false
        ? 'after-backward'
        : s.microbatches > 1
          ? 'every-microbatch'
          : 'overlapped',
    // Alone, FSDP2 gathers before every forward (priced per microbatch): no step-level gather.
    // Pipelined (ZeRO-1), the step's one gather runs block by block under the first forward.
    paramGatherOverlap: s.pp > 1,
    // FSDP2 reduces each block (a layer) as its own collective.
    gradientBucketElements: null,
    tensorParallelOverlap: s.tp > 1 && requested.overlapTensorParallelComm === true,
    // DTensor's backward reduces each gradient where autograd reaches it; only async TP reorders.
    inputGradientOverlap: false,
    // v0.2.2's MoE dispatches and combines on the compute stream: nothing overlaps them.
    expertParallelOverlap: false,
    // DDP holds float32 parameters, so their gradients are float32 too.
    gradientReduceBytes: REDUCE_DTYPE_BYTES,
    // Pipelined (ZeRO-1), FSDP2 accumulates each whole gradient in reduce_dtype until the step's
    // reduce-scatter. Otherwise the default's 2 bytes stand: sharded float32 gradients with
    // float32 parameter shards and Adam's two moments come to the 16 bytes a parameter priced
    // (2 + 2 + 12), as DDP's float32 weights, gradients and moments do.
    heldGradientBytes: s.zero === 1 ? REDUCE_DTYPE_BYTES : GRADIENT_BYTES,
    // torchao's Float8Linear casts the weight at every use (dynamic tensorwise scaling; under FSDP
    // the all-gather itself carries FP8): no FP8 copy outlives the layer's pass.
    quantizedWeightCacheBytes: 0,
    // FSDP2 wraps each transformer block as one unit: a collective each.
    zero3Collectives: 'per-layer',
    // FSDP2 unshards a block for its recomputed forward and keeps it through the block's backward.
    zero3RegatherAfterRecompute: false,
  }),
  // module_fqns_per_model_part places any contiguous cut.
  stageCuts: () => null,
};
