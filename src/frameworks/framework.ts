/**
 * What every framework module answers (DESIGN.md §9): can it run a configuration, how its runtime
 * changes the price, and (in its export module) what exactly a user types. The rules read a
 * `RunShape`, which the search builds for a candidate and the exporters build from a finished plan,
 * so one rule decides both what the search considers and what an export calls expressible.
 */
import type { TransformerDims } from '../model/dims.ts';
import {
  type CpCommType,
  DEFAULT_RECOMPUTE_MODULES,
  type FrameworkName,
  type GradientReduction,
  type ParallelSpec,
  type Precision,
  type Recompute,
  type RecomputeModule,
  type ScheduleKind,
  type Zero3Collectives,
  type ZeroStage,
} from '../schema/index.ts';

/** How the per-op layouts relate to Megatron-LM's 1-D tensor parallelism. */
export type LayoutFamily =
  /** Column- then row-parallel on one mesh axis of `tp` devices, the batch on the other. */
  | { readonly kind: 'megatron' }
  /** Anything else (2-D tensor parallelism, other splits, different meshes per stage): why. */
  | { readonly kind: 'other'; readonly reason: string };

/** The facts of one configuration that frameworks' rules read. */
export interface RunShape {
  /** The transformer's sizes with defaults applied; null for a general operator graph. */
  readonly model: TransformerDims | null;
  readonly precision: Precision;
  readonly devices: number;
  readonly tp: number;
  readonly pp: number;
  /** Data-parallel ranks: devices / (tp · pp · cp). */
  readonly dp: number;
  /** Context-parallel ranks: each holds seqLen / cp tokens of every sequence. */
  readonly cp: number;
  /** How the context-parallel ranks exchange keys and values (meaningful when cp > 1). */
  readonly cpCommType: CpCommType;
  /** Expert-parallel ranks, carved from dp · cp: each holds experts / ep of every MoE layer. */
  readonly ep: number;
  /** Tensor-parallel ranks inside each expert. */
  readonly etp: number;
  readonly sequenceParallel: boolean;
  readonly zero: ZeroStage;
  /**
   * The quantized GEMMs' weights kept and gathered in their format alone (ParallelSpec.fp8ParamGather
   * under FP8, fp4ParamGather under NVFP4).
   */
  readonly quantizedParamGather: boolean;
  /** ZeRO-3: the next layer's parameters gathered while one runs (false: each when it is needed). */
  readonly zero3Prefetch: boolean;
  readonly recompute: Recompute;
  /** What selective recomputation redoes: Megatron-LM's --recompute-modules (default core_attn). */
  readonly recomputeModules: readonly RecomputeModule[];
  readonly schedule: ScheduleKind;
  readonly virtualStages: number;
  /** Microbatches per step on each pipeline. */
  readonly microbatches: number;
  /** Sequences per microbatch on one data-parallel rank. */
  readonly rankMicroBatch: number;
  readonly globalBatch: number;
  /** Transformer blocks per pipeline stage, first to last; null before the stage cut is known. */
  readonly blocksPerStage: readonly number[] | null;
  readonly layouts: LayoutFamily;
}

/**
 * Selective recomputation of other Megatron-LM modules than its default attention core, which only
 * Megatron-LM can be told (--recompute-modules): `framework`'s own checkpointing names none of them.
 */
export function recomputeModulesProblem(shape: RunShape, framework: string): string | null {
  if (shape.recompute !== 'selective') return null;
  const modules = shape.recomputeModules;
  if (
    modules.length === DEFAULT_RECOMPUTE_MODULES.length &&
    modules.every((m) => DEFAULT_RECOMPUTE_MODULES.includes(m))
  )
    return null;
  return `${framework} has no setting that recomputes Megatron-LM's modules ${modules.join(', ')} (its selective recomputation is the attention core's); plan with recompute "none" or "full", or for Megatron-LM`;
}

/** torchtitan's per-op selective checkpointing asked of a framework that has no such policy. */
export function perOpRecomputeProblem(shape: RunShape, framework: string): string | null {
  return shape.recompute === 'per-op'
    ? `${framework} has no per-op selective checkpointing (torchtitan's activation_checkpoint.selective_ac_option "op"); plan with recompute "none", "selective" or "full", or for torchtitan`
    : null;
}

/** Quantized parameter gathering, Megatron-LM's, asked of a framework without it as priced. */
export function quantizedParamGatherProblem(shape: RunShape, framework: string): string | null {
  if (!shape.quantizedParamGather) return null;
  const [format, flag, field] =
    shape.precision === 'nvfp4'
      ? ['NVFP4', '--fp4-param-gather', 'fp4ParamGather']
      : [shape.precision.toUpperCase(), '--fp8-param-gather', 'fp8ParamGather'];
  return `${framework} has no ${format} parameter gather as priced (Megatron-LM's ${flag} with the distributed optimizer); plan without parallel.${field}, or for Megatron-LM`;
}

/**
 * A hybrid Mamba model (TransformerSpec.hybridPattern), which `framework`'s export does not build:
 * it writes transformer blocks (torchtitan's and DeepSpeed's transformers, a Flax block), and a
 * hybrid stack trains under Megatron-LM's own hybrid model (--hybrid-layer-pattern with its Mamba
 * mixer), which the Megatron-LM export writes.
 */
function hybridModelProblem(model: TransformerDims | null, framework: string): string | null {
  return model !== null && model.hybridPattern !== null
    ? `${framework}'s export writes transformer blocks, not this hybrid Mamba model (model.hybridPattern): plan it for Megatron-LM, whose pretrain_hybrid.py trains it`
    : null;
}

/** A latent MoE (MoeSpec.latentSize), Megatron-Core's alone: `framework`'s experts read the hidden state. */
function latentMoeProblem(model: TransformerDims | null, framework: string): string | null {
  return model?.moe?.latentSize != null
    ? `${framework} has no latent MoE (model.moe.latentSize: experts working in a narrower width behind their own projections); plan it for Megatron-LM (--moe-latent-size)`
    : null;
}

/**
 * gpt-oss's MLP and attention traits, which only Megatron-LM's arguments build (--quick-geglu,
 * --activation-func-clamp-value, --glu-linear-offset, --softmax-type learnable): the model
 * `framework`'s export writes has none of them. (JAX's export writes the user's parameters'
 * shardings, not a model: a sink logit is one more parameter there.)
 */
export function gptOssTraitsProblem(model: TransformerDims | null, framework: string): string | null {
  if (model === null) return null;
  const traits = [
    model.activation === 'quick-geglu' ? 'a quick GeGLU (model.activation)' : null,
    model.activationClamp !== null ? 'a clamped activation (model.activationClamp)' : null,
    model.gluLinearOffset !== 0 ? 'an offset linear half (model.gluLinearOffset)' : null,
    model.attentionSinks ? 'attention sinks (model.attentionSinks)' : null,
  ].filter((t) => t !== null);
  return traits.length === 0
    ? null
    : `${framework}'s exported model has no ${traits.join(', ')}: gpt-oss's, which Megatron-LM builds; plan it for Megatron-LM`;
}

/** Qwen3's q and k norms, which Megatron-LM (--qk-layernorm) and torchtitan's qwen3 model build and `framework`'s exported model has not. */
export function qkNormProblem(model: TransformerDims | null, framework: string): string | null {
  return model?.qkNorm === true
    ? `${framework}'s exported model has no q and k norms (model.qkNorm): plan it for Megatron-LM or torchtitan (its qwen3 model)`
    : null;
}

/**
 * What only Megatron-LM builds of a model: a hybrid Mamba stack and a latent MoE. The frameworks that
 * write plain transformer blocks check these in `builds` and again in `runs`, which covers `builds`.
 */
export function megatronOnlyModelProblems(
  model: TransformerDims | null,
  framework: string,
): (string | null)[] {
  return [hybridModelProblem(model, framework), latentMoeProblem(model, framework)];
}

/** Megatron-LM's flex token dispatcher (DeepEP, HybridEP) asked for where `framework` runs its own all-to-all. */
export function flexDispatcherProblem(shape: RunShape, framework: string): string | null {
  return shape.ep > 1 && shape.model?.moe?.dispatcher === 'flex'
    ? `${framework} exchanges expert-parallel tokens with its own all-to-all, not Megatron-LM's flex dispatcher`
    : null;
}

/**
 * ZeRO-3 that gathers each layer only when it runs, which `framework` cannot be told: FSDP2 (and
 * Megatron-FSDP and XLA alike) issue the next unit's all-gather while the current one computes.
 */
export function unprefetchedZero3Problem(shape: RunShape, framework: string): string | null {
  return shape.zero === 3 && !shape.zero3Prefetch
    ? `${framework} always gathers the next layer's parameters ahead (two layers held whole); ZeRO-3 without prefetching is DeepSpeed's (stage3_prefetch_bucket_size 0)`
    : null;
}

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export const RUNS: Verdict = { ok: true };

/** The first failed rule, or RUNS when every one holds. */
export function firstProblem(rules: readonly (string | null)[]): Verdict {
  const reason = rules.find((r) => r !== null);
  return reason === undefined || reason === null ? RUNS : { ok: false, reason };
}

/** The overlaps a user may ask for; unset ones take the framework's own choice. */
export interface RequestedOverlaps {
  readonly overlapGradReduce?: boolean;
  readonly overlapTensorParallelComm?: boolean;
  readonly overlapInputGradientReduce?: boolean;
  readonly overlapExpertParallelComm?: boolean;
}

/** The overlaps a request's `parallel` asks for (unset ones left to the framework). */
export function requestedOverlaps(parallel: ParallelSpec | undefined): RequestedOverlaps {
  const asked: { -readonly [K in keyof RequestedOverlaps]: boolean } = {};
  if (parallel?.overlapGradReduce !== undefined) asked.overlapGradReduce = parallel.overlapGradReduce;
  if (parallel?.overlapTensorParallelComm !== undefined)
    asked.overlapTensorParallelComm = parallel.overlapTensorParallelComm;
  if (parallel?.overlapInputGradientReduce !== undefined)
    asked.overlapInputGradientReduce = parallel.overlapInputGradientReduce;
  if (parallel?.overlapExpertParallelComm !== undefined)
    asked.overlapExpertParallelComm = parallel.overlapExpertParallelComm;
  return asked;
}

/** How a framework's runtime prices a configuration; its export switches on what this prices. */
export interface RuntimePolicy {
  readonly gradientReduction: GradientReduction;
  /**
   * ZeRO 1–2's all-gather of the updated parameters hidden behind the next step's first forward pass,
   * bucket by bucket before each layer's first use; otherwise it runs after the optimizer step.
   */
  readonly paramGatherOverlap: boolean;
  /**
   * Elements per collective of the data-parallel traffic the runtime buckets (gradient reductions, ZeRO
   * 1–2's gathers); null where it goes one collective per layer (FSDP units, XLA's per-layer ops).
   */
  readonly gradientBucketElements: number | null;
  readonly tensorParallelOverlap: boolean;
  /** Each linear layer's tensor-parallel input-gradient reduction run alongside its weight-gradient GEMM. */
  readonly inputGradientOverlap: boolean;
  /** Expert all-to-alls hidden behind another microbatch's compute. */
  readonly expertParallelOverlap: boolean;
  /** Bytes each gradient element takes on the wire of the data-parallel reduction: 2 in bf16 or fp16, 4 in fp32. */
  readonly gradientReduceBytes: number;
  /**
   * Bytes each gradient element the device holds takes in memory, where ZeRO leaves it whole
   * (ZeRO 0–1): 2 in bf16, 4 where the runtime accumulates in float32.
   */
  readonly heldGradientBytes: number;
  /**
   * Bytes the runtime keeps per element of each weight a quantized GEMM reads, besides the weight:
   * its cached quantized copies (Transformer Engine: the format's weightCopyBytes, quantized-gemm.ts),
   * or none where each use casts afresh.
   */
  readonly quantizedWeightCacheBytes: number;
  /** How its ZeRO-3 cuts its gathers and reductions (vocabulary.ts Zero3Collectives). */
  readonly zero3Collectives: Zero3Collectives;
  /**
   * Whether its ZeRO-3, under full recomputation, releases a module after the backward's recomputed
   * forward when its next use is far off and gathers it again for the backward (DeepSpeed's reuse
   * distance; param-tensors.ts regatheredAfterRecompute), rather than keeping it through its backward.
   */
  readonly zero3RegatherAfterRecompute: boolean;
}

export interface Framework {
  readonly name: FrameworkName;
  /** The release its rules and its export are exact for, e.g. "Megatron-LM core_v0.19.0". */
  readonly release: string;
  /**
   * Runs any per-op layout on any mesh (JAX's PartitionSpecs); otherwise only Megatron-style 1-D
   * tensor parallelism on [1, tp] meshes, one tp on every stage.
   */
  readonly anyLayout: boolean;
  /** Can it build this model at all (null: a general operator graph)? */
  builds(model: TransformerDims | null): Verdict;
  /**
   * Can it run this configuration? With `blocksPerStage` null, every rule that does not depend on
   * the stage cut; with it, all of them (`builds` included).
   */
  runs(shape: RunShape): Verdict;
  /** How its runtime prices this configuration. */
  runtime(shape: RunShape, requested: RequestedOverlaps): RuntimePolicy;
  /**
   * The pipeline cuts it can express when only some are (a framework that partitions layers
   * itself): model layers per stage, counting the embedding and the head as layers as the planned
   * model does. Null when any contiguous cut `runs` accepts is fine.
   */
  stageCuts(shape: RunShape): readonly (readonly number[])[] | null;
}
