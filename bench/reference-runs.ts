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
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findGpu, generationOf } from '../src/cluster/catalog.ts';
import { type CalibrationRun, gpuName } from '../src/planner/calibration/fit.ts';
import { estimate } from '../src/planner/estimate.ts';
import type { GpuGeneration, GpuSpec, PlanRequestInput } from '../src/schema/index.ts';
import {
  countsRecompute,
  loadPublishedRuns,
  type PublishedRun,
  publishedRequest,
  type ReferenceModelShape,
} from './published-runs.ts';

/** Where a run was published: the unit leave-one-source-out holds out. */
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

export interface ReferenceRun extends CalibrationRun {
  readonly family: SourceFamily;
  readonly generation: GpuGeneration;
  /** What the source published, as it printed it, for the report. */
  readonly published: string;
  /** Whether the source's TFLOP/s count the recompute forward pass (SC'21). */
  readonly hardwareFlops: boolean;
  /** The measured peak memory per GPU, GiB, where the source gives it. */
  readonly peakMemoryGiB: number | null;
}

/** The fields of a published-runs-modern.json record meshplan reads. */
interface ModernRecord {
  readonly id: string;
  readonly model: ReferenceModelShape & {
    activation: string;
    head_dim?: number;
    moe: { experts: number; top_k: number; ffn_per_expert: number; shared_experts: number } | null;
  };
  readonly cluster: { gpu_type: string; num_gpus: number; gpus_per_node: number };
  readonly training: {
    global_batch_size_sequences: number;
    micro_batch_size: number | null;
    precision_class: string;
  };
  readonly parallelism: {
    tp: number;
    pp: number;
    dp: number;
    cp: number | null;
    ep: number | null;
    etp: number | null;
    virtual_pp: number | null;
  };
  readonly measured: {
    tflops_per_gpu: number | null;
    seconds_per_iteration: number | null;
    given: readonly string[];
  };
  readonly derived: { seconds_per_iteration?: number };
}

const REFERENCE = '../../shared/reference/';
const MODERN = fileURLToPath(new URL(`${REFERENCE}published-runs-modern.json`, import.meta.url));

/** Run-specific facts the records carry in prose (notes), read once and pinned here. */
interface RunFacts {
  readonly family: SourceFamily;
  /** The GPU as the catalog names it, or a description where the catalog lacks the model. */
  readonly gpu: string | GpuSpec;
  readonly parallel: NonNullable<PlanRequestInput['parallel']>;
  readonly dropless?: boolean;
  readonly capacityFactor?: number;
  /** Megatron's token dispatcher where the recipe names one other than alltoall. */
  readonly dispatcher?: 'flex';
  /** The attention kernels, where they are not the GPU's own fused ones ('flash'). */
  readonly attention?: 'flash2';
  readonly peakMemoryGiB?: number;
}

/*
 * Megatron-Core through NeMo / Megatron-Bridge, where the source is silent: the distributed
 * optimizer (ZeRO-1), sequence parallelism with tp > 1, overlapped gradient reduction, no recompute
 * (the perf recipes' activations_checkpoint_* are null), Transformer Engine's TP overlap only where
 * the recipe's ub_tp_comm_overlap says so.
 */
const MCORE = { zero: 1, recompute: 'none', overlapGradReduce: true } as const;

/**
 * Grand Teton's H100 SXM with 96 GB (torchtitan's 2024 report): H100-80GB's figures with 96 GiB;
 * the catalog has no such part. Its 500 W power cap is not modelled.
 */
function h100With96GiB(): GpuSpec {
  const spec = findGpu('H100-80GB')!.spec;
  return { ...spec, name: 'H100-96GB', memoryBytes: 96 * 2 ** 30 };
}

const FACTS: Readonly<Record<string, RunFacts>> = {
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
    // no sort by local expert; its exchange is priced as all-to-all volumes like the alltoall one.
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
    parallel: { zero: 3, recompute: 'selective', overlapGradReduce: true, microBatch: 2 },
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

const ACTIVATIONS: Readonly<Record<string, 'gelu' | 'swiglu' | 'geglu' | 'squared-relu'>> = {
  gelu: 'gelu',
  swiglu: 'swiglu',
  geglu: 'geglu',
  'squared-relu': 'squared-relu',
  // gpt-oss: a clamped gated unit, priced as SwiGLU (same GEMMs, one elementwise op apart).
  'swiglu (clamped, quick-gelu gated variant)': 'swiglu',
};

/**
 * Megatron-LM pads the vocabulary to a multiple of 128 × tp (--make-vocab-size-divisible-by 128,
 * NeMo's default too): GPT-3's 50,257 trains as 50,688 at tp 4. torchtitan keeps it as it is.
 */
function trainedVocab(vocab: number, tp: number, family: SourceFamily): number {
  if (family === 'torchtitan') return vocab;
  const multiple = 128 * tp;
  return Math.ceil(vocab / multiple) * multiple;
}

function modernRequest(r: ModernRecord, facts: RunFacts): PlanRequestInput {
  const m = r.model;
  const p = r.parallelism;
  const activation = ACTIVATIONS[m.activation];
  if (activation === undefined) throw new Error(`${r.id}: activation ${m.activation} has no mapping`);
  return {
    model: {
      kind: 'transformer',
      name: r.id,
      layers: m.layers,
      hidden: m.hidden,
      heads: m.heads,
      ...(m.kv_heads !== null ? { kvHeads: m.kv_heads } : {}),
      ...(m.head_dim !== undefined ? { headDim: m.head_dim } : {}),
      ...(m.ffn_hidden !== null ? { ffnHidden: m.ffn_hidden } : {}),
      vocab: trainedVocab(m.vocab, p.tp, facts.family),
      seqLen: m.seq_len,
      activation,
      attention: facts.attention ?? 'flash',
      ...(m.moe === null
        ? {}
        : {
            moe: {
              experts: m.moe.experts,
              topK: m.moe.top_k,
              ffnHidden: m.moe.ffn_per_expert,
              sharedExperts: m.moe.shared_experts,
              dropless: facts.dropless ?? false,
              ...(facts.dispatcher !== undefined ? { dispatcher: facts.dispatcher } : {}),
              ...(facts.capacityFactor !== undefined ? { capacityFactor: facts.capacityFactor } : {}),
            },
          }),
    },
    cluster: {
      gpu: facts.gpu,
      nodes: r.cluster.num_gpus / r.cluster.gpus_per_node,
      gpusPerNode: r.cluster.gpus_per_node,
    },
    training: {
      globalBatch: r.training.global_batch_size_sequences,
      precision: r.training.precision_class === 'fp8' ? 'fp8' : 'bf16',
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

async function classicRun(run: PublishedRun): Promise<ReferenceRun> {
  const request = publishedRequest(run);
  const hardwareFlops = countsRecompute(run);
  const sc21 = hardwareFlops;
  const tflops = run.measured.tflops_per_gpu;
  return {
    id: run.id,
    family: sc21 ? 'sc21' : 'megatron-readme',
    generation: generationOfRequest(request),
    request,
    measuredStepSec: await secFromTflops(request, tflops, run.cluster.num_gpus, hardwareFlops),
    published: `${tflops} TFLOP/s/GPU`,
    hardwareFlops,
    peakMemoryGiB: null,
  };
}

async function modernRun(r: ModernRecord): Promise<ReferenceRun> {
  const facts = FACTS[r.id];
  if (facts === undefined) throw new Error(`${r.id}: no facts pinned for this reference run`);
  const request = modernRequest(r, facts);
  const m = r.measured;
  let measuredStepSec: number;
  let published: string;
  if (m.seconds_per_iteration !== null) {
    measuredStepSec = m.seconds_per_iteration;
    published = `${m.seconds_per_iteration} s/step`;
  } else if (r.derived.seconds_per_iteration !== undefined) {
    measuredStepSec = r.derived.seconds_per_iteration;
    published = `${m.given.join(', ')} → ${r.derived.seconds_per_iteration} s/step`;
  } else if (m.tflops_per_gpu !== null) {
    measuredStepSec = await secFromTflops(request, m.tflops_per_gpu, r.cluster.num_gpus, false);
    published = `${m.tflops_per_gpu} TFLOP/s/GPU`;
  } else {
    throw new Error(`${r.id}: no step time, tokens/s or TFLOP/s to compare with`);
  }
  return {
    id: r.id,
    family: facts.family,
    generation: generationOfRequest(request),
    request,
    measuredStepSec,
    published,
    hardwareFlops: false,
    peakMemoryGiB: facts.peakMemoryGiB ?? null,
  };
}

/** Every run of both reference sets, classic first. */
export async function loadReferenceRuns(): Promise<ReferenceRun[]> {
  const modern = JSON.parse(readFileSync(MODERN, 'utf8')) as ModernRecord[];
  const runs: ReferenceRun[] = [];
  for (const run of loadPublishedRuns()) runs.push(await classicRun(run));
  for (const record of modern) runs.push(await modernRun(record));
  return runs;
}
