/**
 * Both reference sets (../shared/reference/published-runs.json and published-runs-modern.json) as
 * estimate requests with their measured step times and source families: what calibration fits and
 * leave-one-source-out holds out (DESIGN.md §10).
 *
 * Measured step time, in order of what the source gives: its seconds per iteration; else global
 * tokens over its tokens/s; else model FLOPs per step over its TFLOP/s per GPU × GPUs, with the
 * FLOPs counted as meshplan counts them (full, unmasked attention: SC'21 eq. 3, Megatron's and NeMo's
 * MFU formulas count the same), hardware FLOPs (recompute included) where the source reports those.
 *
 * What sources leave unsaid follows the framework's defaults at the time, per field below.
 */
import { fileURLToPath } from 'node:url';
import { findGpu, generationOf } from '../src/cluster/catalog.ts';
import { precisionPeakTflops } from '../src/cost/kernel-rates.ts';
import { type CalibrationRun, gpuName } from '../src/planner/calibration/fit.ts';
import { estimate } from '../src/planner/estimate.ts';
import { InvalidInputError } from '../src/schema/errors.ts';
import {
  type Bf16Layers,
  type GpuGeneration,
  type GpuSpec,
  type PlanRequestInput,
  type Precision,
  quantizedGemmDtype,
} from '../src/schema/index.ts';
import { countsRecompute, publishedRequest } from './published-runs.ts';
import { deepseekArchitectureOf, gptOssTraitsOf, linearBiasesOf, qkNormOf } from './record-architecture.ts';
import {
  asyncTensorParallelOf,
  bf16LayersOf,
  capacityFactorOf,
  catalogGpu,
  eagerModeOf,
  expertCommOverlapOf,
  expertTensorParallelDefaultsToTp,
  flexDispatcherNamed,
  fp4ParamGatherOf,
  fp8ParamGatherOf,
  gradReduceOverlapped,
  h100With96GiB,
  interNodeGBpsOf,
  localBatchOf,
  megatronOfYear,
  networkText,
  nodesOf,
  peakMemoryOf,
  precisionOf,
  publicationYear,
  RecordError,
  recomputeModulesOf,
  recomputeOf,
  recomputeStated,
  refuseActivationOffload,
  refuseUnpricedPrecision,
  slidingWindowOf,
  stageSplitOf,
  statedOrImpliedActivation,
  tpCommOverlapOf,
  withStatedMemoryBandwidth,
  zero3CollectivesOfYear,
  zeroStageOf,
} from './record-facts.ts';
import {
  type MeasuredFields,
  type ModernRecord,
  type PublishedRun,
  readRecord,
  recordLabel,
  recordsOfFile,
} from './record-schema.ts';

/** Where the public reference runs were published: the units leave-one-source-out holds out. */
export const SOURCE_FAMILIES = [
  'sc21',
  'megatron-readme',
  'dgxc',
  'nemo',
  'megatron-bridge',
  'torchtitan',
  'nemotron-paper',
] as const;
export type SourceFamily = (typeof SOURCE_FAMILIES)[number];

/**
 * A record's source family: one of the public sets' by its citation or group, else a name built
 * from its citation (another paper's table is a family of its own).
 */
export function familyOf(text: string): string {
  const rules: [RegExp, SourceFamily][] = [
    [/Narayanan|SC'21|2104\.04473/i, 'sc21'],
    [/Megatron-LM README/i, 'megatron-readme'],
    [/DGX Cloud/i, 'dgxc'],
    [/Megatron-Bridge/i, 'megatron-bridge'],
    [/Nemotron/i, 'nemotron-paper'],
    [/\bNeMo\b/i, 'nemo'],
    [/torchtitan/i, 'torchtitan'],
  ];
  const known = rules.find(([pattern]) => pattern.test(text));
  if (known) return known[1];
  const words = text.toLowerCase().match(/[a-z0-9]+/g) ?? ['unknown'];
  return words.slice(0, 3).join('-');
}

export interface ReferenceRun extends CalibrationRun {
  /** A SourceFamily for the public sets' runs; for other records, one named from their source. */
  readonly family: string;
  readonly generation: GpuGeneration;
  /** What the source published, as it printed it, for the report. */
  readonly published: string;
  /** Whether the source's TFLOP/s count the recompute forward pass (SC'21). */
  readonly hardwareFlops: boolean;
  /** The measured peak memory per GPU, GiB, where the source gives it. */
  readonly peakMemoryGiB: number | null;
  /** The year its source was published (record-facts.ts publicationYear), null where none says. */
  readonly year: number | null;
}

const REFERENCE = '../../shared/reference/';
const MODERN = fileURLToPath(new URL(`${REFERENCE}published-runs-modern.json`, import.meta.url));
const CLASSIC = fileURLToPath(new URL(`${REFERENCE}published-runs.json`, import.meta.url));

/** Run-specific facts the records carry in prose (notes), read once and pinned here. */
export interface RunFacts {
  readonly family: string;
  /** The GPU as the catalog names it, or a description where the catalog lacks the model. */
  readonly gpu: string | GpuSpec;
  readonly parallel: NonNullable<PlanRequestInput['parallel']>;
  readonly dropless?: boolean;
  readonly capacityFactor?: number;
  /** Megatron's token dispatcher where the recipe names one other than alltoall. */
  readonly dispatcher?: 'flex';
  /** The attention kernels, where they are not the GPU's own fused ones ('flash'). */
  readonly attention?: 'flash2' | 'eager';
  /** The gated activation as eager PyTorch runs it, separate kernels (TransformerSpec.activationFusion). */
  readonly activationFusion?: false;
  /** The RMSNorm as eager PyTorch composes it, separate kernels (TransformerSpec.normFusion). */
  readonly normFusion?: false;
  /** Where an MoE scales routed tokens, where not Megatron-Core's activation (torchtitan's experts). */
  readonly routerWeights?: 'combine';
  readonly peakMemoryGiB?: number;
  /** Blocks the recipe keeps in bf16 under its quantized precision (training.bf16Layers). */
  readonly bf16Layers?: Bf16Layers;
}

/*
 * Megatron-Core through NeMo / Megatron-Bridge, where the source is silent: the distributed
 * optimizer (ZeRO-1), sequence parallelism with tp > 1, overlapped gradient reduction, no recompute
 * (the perf recipes' activations_checkpoint_* are null), Transformer Engine's TP overlap only where
 * the recipe's ub_tp_comm_overlap says so.
 */
const MCORE = { zero: 1, recompute: 'none', overlapGradReduce: true } as const;

/**
 * NVIDIA's performance recipes turn Transformer Engine's TP overlap on wherever tp > 1 unless they say
 * otherwise (Megatron-Bridge 21d102f5 scripts/performance/configs: `CommOverlapConfig(tp_comm_overlap=
 * tp > 1)` or `=True` in the Llama, Qwen and gpt-oss configs; the DGX Cloud yamls' ub_tp_comm_overlap
 * true); a record of one that is silent ran with it.
 */
const PERFORMANCE_RECIPES: ReadonlySet<string> = new Set(['nemo', 'megatron-bridge', 'dgxc']);

export const PINNED_FACTS: Readonly<Record<string, RunFacts>> = {
  'dgxc2411-llama31-70b-h100-bf16-64gpu-cp2': {
    family: 'dgxc',
    gpu: 'H100-80GB',
    parallel: { ...MCORE, sequenceParallel: true, overlapTensorParallelComm: true },
  },
  'dgxc2411-gpt3-175b-h100-bf16-128gpu': {
    family: 'dgxc',
    gpu: 'H100-80GB',
    parallel: { ...MCORE, sequenceParallel: true, overlapTensorParallelComm: true },
  },
  'dgxc2411-grok1-314b-h100-bf16-512gpu-cp2-ep8': {
    family: 'dgxc',
    gpu: 'H100-80GB',
    // ETP unset defaulted to TP in that NeMo (the record's inference); ub_tp_comm_overlap false.
    parallel: { ...MCORE, sequenceParallel: true, overlapTensorParallelComm: false, etp: 4 },
    dropless: false,
    capacityFactor: 1,
  },
  'nemo2407-llama2-70b-h100-fp8-64gpu': {
    family: 'nemo',
    gpu: 'H100-80GB',
    // NeMo 24.07's Llama 2 70B recipe: SP and TP overlap on (not in the table).
    parallel: { ...MCORE, sequenceParallel: true, overlapTensorParallelComm: true },
  },
  'nemo-longseq-llama2-7b-h100-fp8-128k-cp4': {
    family: 'nemo',
    gpu: 'H100-80GB',
    parallel: { ...MCORE, sequenceParallel: true, overlapTensorParallelComm: true },
  },
  'nemo-longseq-llama3-8b-b200-fp8-256k-cp4': {
    family: 'nemo',
    gpu: 'B200-180GB',
    parallel: { ...MCORE, sequenceParallel: true, overlapTensorParallelComm: true },
  },
  'mbridge260401-qwen3-30b-a3b-h100-fp8-16gpu-ep16': {
    family: 'megatron-bridge',
    gpu: 'H100-80GB',
    parallel: { ...MCORE, etp: 1 },
    dropless: true,
    // Its recipe (Megatron-Bridge 21d102f5, qwen3_llm_pretrain.py qwen3_30b_a3b_pretrain_config_h100,
    // QWEN3_30B_A3B_PRETRAIN_CONFIG_H100_FP8_CS_V1) dispatches with the flex dispatcher on HybridEP:
    // no sort by local expert, and each token sent once to the other node (cost/exchange.ts).
    dispatcher: 'flex',
  },
  'mbridge2511-llama3-8b-h100-fp8-8gpu-fsdp': {
    family: 'megatron-bridge',
    gpu: 'H100-80GB',
    parallel: { ...MCORE, zero: 3 },
  },
  'mbridge260401-gptoss-120b-b200-bf16-64gpu-ep8': {
    family: 'megatron-bridge',
    gpu: 'B200-180GB',
    // The record leaves recompute unlisted; the recipe it ran (Megatron-Bridge 21d102f5,
    // scripts/performance/configs/gpt_oss/gpt_oss_workload_base_configs.py,
    // GPT_OSS_120B_PRETRAIN_CONFIG_B200_BF16_V2 from _V1) sets recompute_modules
    // ["layernorm", "moe_act"], i.e. selective recomputation of those two modules.
    parallel: { ...MCORE, etp: 1, recompute: 'selective', recomputeModules: ['layernorm', 'moe_act'] },
    dropless: true,
  },
  'torchtitan202412-llama31-8b-h100-fp8-8gpu-fsdp4-cp2-64k': {
    family: 'torchtitan',
    gpu: h100With96GiB(),
    // FSDP2 (ZeRO-3) with full activation checkpointing; FSDP reduces during the backward.
    parallel: { zero: 3, recompute: 'full', overlapGradReduce: true },
    // torchtitan 9dec370 (torchtitan/utils.py get_train_context): under context parallelism SDPA may
    // use only its FLASH_ATTENTION (FlashAttention-2) and EFFICIENT_ATTENTION backends.
    attention: 'flash2',
    peakMemoryGiB: 84.2,
  },
  'torchtitan202506-llama31-8b-h200-fp8-32gpu-fsdp': {
    family: 'torchtitan',
    gpu: 'H200-141GB',
    // local_batch_size 2, selective per-op checkpointing (llama3_8b.toml defaults).
    parallel: { zero: 3, recompute: 'per-op', overlapGradReduce: true, microBatch: 2 },
    // torchtitan e7c0cae (torchtitan/models/attention.py ScaledDotProductAttention): SDPA's backends
    // in the order FLASH_ATTENTION (FlashAttention-2), EFFICIENT, MATH; cuDNN first only on sm100.
    attention: 'flash2',
    peakMemoryGiB: 47.96,
  },
  'nemotron4-15b-paper-768gpu-dp96': {
    family: 'nemotron-paper',
    gpu: 'H100-80GB',
    // Megatron-LM of early 2024: SP and the distributed optimizer with tp 8; microbatch not stated: 1.
    parallel: { ...MCORE, sequenceParallel: true, overlapTensorParallelComm: false },
  },
};

/**
 * Megatron-LM pads the vocabulary to a multiple of 128 × tp (--make-vocab-size-divisible-by 128,
 * NeMo's default too): GPT-3's 50,257 trains as 50,688 at tp 4. torchtitan keeps it as it is.
 */
function trainedVocab(vocab: number, tp: number, family: string): number {
  if (family === 'torchtitan') return vocab;
  const multiple = 128 * tp;
  return Math.ceil(vocab / multiple) * multiple;
}

/**
 * A modern record's precision: its class, refined by its prose where that names a block-scaled format
 * the class does not ("MXFP8" under class fp8).
 */
function modernPrecision(r: ModernRecord, gpu: string | GpuSpec): Precision {
  return precisionOf(`${r.training.precision_class} ${r.training.precision ?? ''}`, gpu);
}

function modernRequest(r: ModernRecord, facts: RunFacts): PlanRequestInput {
  const m = r.model;
  const p = r.parallelism;
  const activation = statedOrImpliedActivation(r.id, m);
  const window = slidingWindowOf(m.arch_notes ?? '');
  const modelText = JSON.stringify(m);
  const deepseek = deepseekArchitectureOf(modelText);
  const bias = linearBiasesOf(modelText);
  const gptOss = gptOssTraitsOf(modelText);
  // A shared expert's own width: its field (Nemotron 3), else DeepSeek-style prose.
  const sharedFfnHidden = m.moe?.shared_ffn_hidden ?? deepseek.sharedFfnHidden;
  // Multi-token prediction: the record's own block, else what its prose says.
  const mtpLayers = m.mtp?.num_layers ?? deepseek.mtpLayers;
  refuseUnpricedPrecision(r.id, 'training.precision_class', r.training.precision_class);
  refuseActivationOffload(r.id, 'training.notes', `${r.training.recompute ?? ''} ${r.training.notes ?? ''}`);
  const nodes = nodesOf(facts.gpu, r.cluster.num_gpus, r.cluster.gpus_per_node);
  return {
    model: {
      kind: 'transformer',
      name: r.id,
      layers: m.layers,
      hidden: m.hidden,
      heads: m.heads,
      ...(m.kv_heads !== null ? { kvHeads: m.kv_heads } : {}),
      // Latent attention sizes its heads itself.
      ...(m.head_dim !== undefined && deepseek.mla === undefined ? { headDim: m.head_dim } : {}),
      ...(deepseek.mla !== undefined ? { mla: deepseek.mla } : {}),
      ...(mtpLayers !== undefined ? { mtpLayers } : {}),
      ...(m.mtp?.repeated_layer === true ? { mtpRepeatedLayer: true } : {}),
      ...(m.ffn_hidden !== null ? { ffnHidden: m.ffn_hidden } : {}),
      vocab: trainedVocab(m.vocab, p.tp, facts.family),
      seqLen: m.seq_len,
      activation,
      ...(bias === undefined ? {} : { bias }),
      ...(gptOss ?? {}),
      ...(qkNormOf(modelText) ? { qkNorm: true } : {}),
      attention: facts.attention ?? 'flash',
      ...(facts.activationFusion === false ? { activationFusion: false } : {}),
      ...(facts.normFusion === false ? { normFusion: false } : {}),
      ...(window === null ? {} : { slidingWindow: window }),
      ...(m.hybrid_pattern === undefined ? {} : { hybridPattern: m.hybrid_pattern }),
      ...(m.mamba === undefined
        ? {}
        : {
            mamba: {
              heads: m.mamba.heads,
              headDim: m.mamba.head_dim,
              stateDim: m.mamba.state_dim,
              groups: m.mamba.groups,
            },
          }),
      ...(m.moe === null
        ? {}
        : {
            moe: {
              experts: m.moe.experts,
              topK: m.moe.top_k,
              ffnHidden: m.moe.ffn_per_expert,
              sharedExperts: m.moe.shared_experts,
              ...(sharedFfnHidden !== undefined ? { sharedFfnHidden } : {}),
              ...(deepseek.denseLayers !== undefined ? { denseLayers: deepseek.denseLayers } : {}),
              ...(m.moe.latent_size !== undefined ? { latentSize: m.moe.latent_size } : {}),
              dropless: facts.dropless ?? false,
              ...(facts.dispatcher !== undefined ? { dispatcher: facts.dispatcher } : {}),
              ...(facts.routerWeights !== undefined ? { routerWeights: facts.routerWeights } : {}),
              ...(facts.capacityFactor !== undefined ? { capacityFactor: facts.capacityFactor } : {}),
            },
          }),
    },
    cluster: {
      gpu: withStatedMemoryBandwidth(facts.gpu, `${r.cluster.gpu_type} ${r.cluster.notes ?? ''}`),
      ...nodes,
      interNodeGBps: interNodeGBpsOf(facts.gpu, networkText(r.cluster), nodes.gpusPerNode),
    },
    training: {
      globalBatch: r.training.global_batch_size_sequences,
      precision: modernPrecision(r, facts.gpu),
      ...(facts.bf16Layers === undefined ? {} : { bf16Layers: facts.bf16Layers }),
      optimizer: 'adam',
    },
    parallel: {
      tp: p.tp,
      pp: p.pp,
      dp: p.dp,
      cp: p.cp ?? 1,
      ...(p.ep !== null ? { ep: p.ep } : {}),
      ...(p.etp !== null ? { etp: p.etp } : {}),
      // Microbatch 1 where unstated: every recipe here at these sequence lengths uses it.
      microBatch: r.training.micro_batch_size ?? 1,
      virtualStages: p.virtual_pp ?? 1,
      ...stageSplitOf(m.layers, p.pp, p.virtual_pp ?? 1, facts.family),
      ...facts.parallel,
    },
  };
}

/** Model (or hardware) FLOPs per step as meshplan counts them, from one estimate. */
async function flopsPerStep(request: PlanRequestInput, hardware: boolean): Promise<number> {
  const s = (await estimate(request)).summary!;
  return (hardware ? s.hardwareTflopsPerDevice : s.tflopsPerDevice) * 1e12 * s.stepTimeSec * s.gpus;
}

async function secFromTflops(request: PlanRequestInput, tflops: number, gpus: number, hardware: boolean) {
  return (await flopsPerStep(request, hardware)) / (tflops * 1e12 * gpus);
}

/** The generation of the run's GPU, as its catalog spec (or the description built from one) names it. */
function generationOfRequest(request: PlanRequestInput): GpuGeneration {
  const gpu = request.cluster.gpu;
  const generation = typeof gpu === 'string' ? generationOf(gpu) : gpu.generation;
  if (generation === undefined) throw new Error(`${gpuName(request)}: no GPU generation to calibrate under`);
  return generation;
}

/** The dense peak a record's MFU is a share of: the one it names, else the catalog's for its precision. */
function peakTflopsOf(request: PlanRequestInput, measured: MeasuredFields): number {
  if (measured.peak_tflops_per_gpu_used != null) return measured.peak_tflops_per_gpu_used;
  const gpu = request.cluster.gpu;
  const spec = typeof gpu === 'string' ? findGpu(gpu)!.spec : gpu;
  return precisionPeakTflops(spec.peakTflops, request.training.precision ?? 'bf16');
}

/**
 * The measured step time, in order of what the record gives: seconds per iteration (its own, then
 * one derived in the record), tokens/s (global, then per GPU), TFLOP/s per GPU with the FLOPs
 * counted as meshplan counts them.
 */
async function measuredStep(
  id: string,
  request: PlanRequestInput,
  measured: MeasuredFields,
  /** A step time the record derived itself, with the fields it derived it from. */
  derived: { readonly sec: number; readonly from: readonly string[] } | null,
  hardwareFlops: boolean,
): Promise<{ sec: number; published: string }> {
  const gpus = request.cluster.nodes * request.cluster.gpusPerNode;
  const model = request.model;
  const tokens = request.training.globalBatch * (model.kind === 'transformer' ? model.seqLen : 0);
  const m = measured;
  if (m.seconds_per_iteration != null)
    return { sec: m.seconds_per_iteration, published: `${m.seconds_per_iteration} s/step` };
  if (derived !== null)
    return { sec: derived.sec, published: `${derived.from.join(', ')} → ${derived.sec} s/step` };
  if (m.tokens_per_sec != null && tokens > 0)
    return { sec: tokens / m.tokens_per_sec, published: `${m.tokens_per_sec} tokens/s` };
  if (m.tokens_per_sec_per_gpu != null && tokens > 0)
    return {
      sec: tokens / (m.tokens_per_sec_per_gpu * gpus),
      published: `${m.tokens_per_sec_per_gpu} tokens/s/GPU`,
    };
  if (m.tflops_per_gpu != null)
    return {
      sec: await secFromTflops(request, m.tflops_per_gpu, gpus, hardwareFlops),
      published: `${m.tflops_per_gpu} TFLOP/s/GPU`,
    };
  if (m.mfu != null)
    return {
      sec: await secFromTflops(request, m.mfu * peakTflopsOf(request, m), gpus, false),
      published: `MFU ${m.mfu}`,
    };
  throw new RecordError(id, 'measured', 'no step time, tokens/s, TFLOP/s or MFU to compare with');
}

async function classicRun(run: PublishedRun): Promise<ReferenceRun> {
  const stated = publishedRequest(run);
  const request = recomputeStated(run.training.recompute) ? stated : await leastRecomputeThatFits(stated);
  const hardwareFlops = countsRecompute(run);
  const step = await measuredStep(run.id, request, run.measured, null, hardwareFlops);
  return {
    id: run.id,
    family: familyOf(run.source.citation ?? run.id),
    generation: generationOfRequest(request),
    request,
    measuredStepSec: step.sec,
    published: step.published,
    hardwareFlops,
    peakMemoryGiB: null,
    year: publicationYear(run.source),
  };
}

/**
 * Facts for a record nobody pinned them for, read from its own fields: the family from its group or
 * source, the GPU from its type, ZeRO from its FSDP / distributed-optimizer / stage fields; from its
 * prose (training, parallelism and MoE notes) recomputation, dropless routing or a capacity factor,
 * the flex dispatcher, Transformer Engine's TP overlap (where the record is silent, on for NVIDIA's
 * performance recipes, off otherwise), the all-to-all overlap where it says so, and an expert TP that
 * defaulted to TP. torchtitan runs FSDP2 with its FlashAttention-2 kernels (cuDNN's on
 * Blackwell); the others run Megatron-Core of the record's year.
 */
export function derivedFacts(r: ModernRecord): RunFacts {
  const family = familyOf(`${r.group ?? ''} ${r.source?.title ?? ''} ${r.source?.primary ?? ''} ${r.id}`);
  const gpu = catalogGpu(r.id, r.cluster.gpu_type, r.cluster.gpu_memory_gb ?? null);
  const p = r.parallelism;
  const t = r.training;
  const prose = `${t.notes ?? ''} ${p.notes ?? ''} ${r.model.moe?.notes ?? ''}`;
  const recompute = recomputeOf(t.recompute);
  const modules = recompute === 'selective' ? recomputeModulesOf(r.id, t.recompute) : null;
  const zero =
    p.fsdp === true ? 3 : zeroStageOf(r.id, t.zero_stage, p.distributed_optimizer === false ? 0 : 1);
  const measuredPeak = peakMemoryOf(`${t.notes ?? ''} ${r.measured.notes ?? ''}`);
  const measured = measuredPeak !== null ? { peakMemoryGiB: measuredPeak } : {};
  const capacityFactor = capacityFactorOf(prose);
  // A capacity factor drops what overflows it; "dropless" says the opposite.
  const dropless = capacityFactor === null && /dropless/i.test(prose);
  const routing = {
    dropless,
    ...(capacityFactor !== null ? { capacityFactor } : {}),
    ...(flexDispatcherNamed(prose) ? { dispatcher: 'flex' as const } : {}),
  };
  if (family === 'torchtitan') {
    const blackwell = typeof gpu === 'string' && generationOf(gpu) === 'blackwell';
    // Without pipelining torchtitan runs each rank's local batch as one microbatch.
    const localBatch = t.micro_batch_size === null && p.pp === 1 ? localBatchOf(prose) : null;
    return {
      family,
      gpu,
      parallel: {
        // With pipelining FSDP2 keeps each stage's parameters gathered from forward to backward
        // (9dec370 parallelisms/parallelize_llama.py: reshard_after_forward = not pp_enabled), and
        // PyTorch's pipeline stage turns resharding after backward and gradient sync off for every
        // microbatch (pipelining/stage.py backward_maybe_with_nosync), so gradients accumulate whole
        // and are reduce-scattered once, after the last backward: ZeRO-1's traffic and memory, as
        // torchtitan's own rules run it (frameworks/torchtitan/rules.ts fsdpStages). Priced with the
        // default runtime like every record, its gradients count 2 bytes, not torchtitan's float32 4.
        zero: zero === 3 && p.pp > 1 ? 1 : zero,
        // torchtitan's selective checkpointing is per-op in its Llama 3 configs (llama3_*.toml
        // selective_ac_option = 'op' at 9dec370 and v0.2.2), not Megatron's attention core.
        recompute: recompute === 'selective' ? 'per-op' : recompute,
        // That one reduction waits for the last backward; without pipelining FSDP2 reduces each
        // block's gradients during the backward.
        overlapGradReduce: p.pp === 1,
        // torchtitan's TP plan shards the norms' sequence (SequenceParallel on attention_norm, ffn_norm
        // and the final norm, 9dec370 apply_tp) and, named so, micro-pipelines the TP collectives
        // with the matmuls (enable_async_tensor_parallel).
        ...(p.tp > 1
          ? { sequenceParallel: true, overlapTensorParallelComm: asyncTensorParallelOf(prose) }
          : {}),
        ...(localBatch !== null ? { microBatch: localBatch } : {}),
      },
      ...(blackwell ? {} : { attention: 'flash2' as const }),
      // Eager, torchtitan's SwiGLU is SiLU and a product (models/llama3/model.py FeedForward) and its
      // RMSNorm torch.nn.RMSNorm, aten's composite (build_norm "rmsnorm", the default); its MoE scales
      // the experts' outputs (DeepSeek-V3's score_before_experts false, v0.2.2).
      ...(eagerModeOf(`${t.precision ?? ''} ${prose}`)
        ? { activationFusion: false as const, normFusion: false as const }
        : {}),
      routerWeights: 'combine' as const,
      ...routing,
      ...measured,
    };
  }
  const year = publicationYear(r.source ?? {});
  const era = megatronOfYear(year);
  // Kept out of a quantized format only: a bf16 run has nothing to keep.
  const bf16Layers = quantizedGemmDtype(modernPrecision(r, gpu)) === null ? null : bf16LayersOf(prose);
  const etpFromTp = p.etp === null && p.ep !== null && expertTensorParallelDefaultsToTp(prose);
  return {
    family,
    gpu,
    parallel: {
      ...MCORE,
      zero,
      ...(zero === 3 ? { zero3Collectives: zero3CollectivesOfYear(year) } : {}),
      recompute,
      ...(modules !== null ? { recomputeModules: modules } : {}),
      overlapGradReduce: gradReduceOverlapped(year, p.pp > 1, zero),
      overlapInputGradientReduce: era.overlapInputGradientReduce,
      sequenceParallel: (p.sp ?? era.sequenceParallel) && p.tp > 1,
      overlapTensorParallelComm: (tpCommOverlapOf(prose) ?? PERFORMANCE_RECIPES.has(family)) && p.tp > 1,
      ...(etpFromTp ? { etp: p.tp } : {}),
      ...((p.ep ?? 1) > 1 && expertCommOverlapOf(prose) === true ? { overlapExpertParallelComm: true } : {}),
      // As the record states it; where silent, Megatron-Bridge's FP8 precision configs
      // (bf16_with_fp8_current_scaling_mixed, _delayed_, bf16_with_mxfp8_mixed; training/
      // mixed_precision.py at 21d102f5 and 4ab94dfa) set fp8_param_gather, which its perf recipes for
      // these models keep. Priced with ZeRO 1–2 only (Megatron-FSDP's own FP8 gathers are not priced).
      ...((fp8ParamGatherOf(prose) ?? family === 'megatron-bridge') &&
      ['fp8', 'mxfp8'].includes(modernPrecision(r, gpu)) &&
      (zero === 1 || zero === 2)
        ? { fp8ParamGather: true }
        : {}),
      // Its NVFP4 config (bf16_with_nvfp4_mixed) sets fp4_param_gather the same way, which only the
      // distributed optimizer runs (Megatron-FSDP has no NVFP4 gather).
      ...((fp4ParamGatherOf(prose) ?? family === 'megatron-bridge') &&
      modernPrecision(r, gpu) === 'nvfp4' &&
      zero === 1
        ? { fp4ParamGather: true }
        : {}),
    },
    ...(era.attention === 'eager' ? { attention: 'eager' as const } : {}),
    ...(bf16Layers === null ? {} : { bf16Layers }),
    ...routing,
    ...measured,
  };
}

/**
 * A run that ran fit in its GPUs' memory: where its record does not say what it recomputed, the least
 * recomputation with which meshplan prices it fitting — none, then selective, then full (none again
 * where nothing fits, so the report shows the miss).
 */
async function leastRecomputeThatFits(request: PlanRequestInput): Promise<PlanRequestInput> {
  for (const recompute of ['none', 'selective', 'full'] as const) {
    const candidate = { ...request, parallel: { ...request.parallel, recompute } };
    if ((await estimate(candidate)).status === 'optimal') return candidate;
  }
  return request;
}

async function modernRun(r: ModernRecord): Promise<ReferenceRun> {
  const pinned = PINNED_FACTS[r.id];
  const facts = pinned ?? derivedFacts(r);
  const stated = modernRequest(r, facts);
  const request =
    pinned === undefined && !recomputeStated(r.training.recompute)
      ? await leastRecomputeThatFits(stated)
      : stated;
  const derivedSec = r.derived?.seconds_per_iteration ?? null;
  const derived = derivedSec === null ? null : { sec: derivedSec, from: r.measured.given ?? [] };
  const step = await measuredStep(r.id, request, r.measured, derived, false);
  return {
    id: r.id,
    family: facts.family,
    generation: generationOfRequest(request),
    request,
    measuredStepSec: step.sec,
    published: step.published,
    hardwareFlops: false,
    peakMemoryGiB: facts.peakMemoryGiB ?? null,
    year: publicationYear(r.source ?? {}),
  };
}

/** Every run of both reference sets, classic first. */
export async function loadReferenceRuns(): Promise<ReferenceRun[]> {
  return [...(await loadRunsFile(CLASSIC)), ...(await loadRunsFile(MODERN))];
}

/** A record `readRunsFile` could not make a run of, and why (the record and field it names). */
export interface RefusedRecord {
  readonly id: string;
  readonly reason: string;
}

/** Why a record could not be read or priced: the field a RecordError names, or a 4xx's issues. */
export function refusalOf(error: unknown): string {
  if (error instanceof RecordError) return `${error.field}: ${error.problem}`;
  if (error instanceof InvalidInputError)
    return error.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
  throw error;
}

/**
 * The runs of one file of published-run records, in either reference format (a record with
 * `training.precision_class` is the modern one's), and the records it could not read, each with its
 * reason: what `npm run bench -- check FILE` prices and reports. Records nobody pinned facts for are read from their own fields (derivedFacts,
 * publishedRequest).
 */
export async function readRunsFile(
  path: string,
): Promise<{ runs: ReferenceRun[]; refused: RefusedRecord[] }> {
  const records = recordsOfFile(path);
  const runs: ReferenceRun[] = [];
  const refused: RefusedRecord[] = [];
  for (const [index, raw] of records.entries()) {
    try {
      const read = readRecord(raw, index);
      runs.push(await (read.format === 'modern' ? modernRun(read.record) : classicRun(read.record)));
    } catch (error) {
      refused.push({ id: recordLabel(raw, index), reason: refusalOf(error) });
    }
  }
  return { runs, refused };
}

/** Every run of one file of records; the first record it cannot read or price is an error. */
export async function loadRunsFile(path: string): Promise<ReferenceRun[]> {
  const { runs, refused } = await readRunsFile(path);
  const first = refused[0];
  if (first !== undefined) throw new Error(`${first.id}: ${first.reason}`);
  return runs;
}
