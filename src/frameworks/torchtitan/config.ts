/**
 * The job config sections (torchtitan/config/job_config.py at v0.2.2) that make torchtitan run a
 * plan: every field here exists at that release, with its type and one of its choices.
 */
import type { CpCommType, Recompute, ScheduleKind, Summary } from '../../schema/index.ts';
import type { ModelSelection } from './model.ts';
import { ROTATE_METHODS } from './rules.ts';

export type TomlValue =
  | string
  | number
  | boolean
  | readonly TomlValue[]
  | { readonly [key: string]: TomlValue };
export type JobConfig = Record<string, Record<string, TomlValue>>;

/** PyTorch's names (pipelining/schedules.py `get_schedule_class`) for meshplan's schedules. */
export const SCHEDULES: Readonly<Record<ScheduleKind, string>> = {
  '1f1b': '1F1B',
  gpipe: 'GPipe',
  interleaved: 'Interleaved1F1B',
};

/**
 * torchtitan's `activation_checkpoint.mode` for a recompute mode. Selective recomputation redoes
 * the attention core (scores, softmax, dropout, context) instead of keeping it; torchtitan's
 * attention is one fused SDPA kernel that keeps none of it and recomputes it in its backward, so
 * "none" is that plan. Per-op recomputation is its own "selective" mode with the "op" policy
 * (selective_ac_option; per_op_sac_force_recompute_mm_shapes_by_fqns keeps its default, the MoE
 * router's gate, which a dense model does not have).
 */
export const AC_MODES: Readonly<Record<Recompute, 'none' | 'selective' | 'full'>> = {
  none: 'none',
  selective: 'none',
  'per-op': 'selective',
  full: 'full',
};

export interface ConfigInputs {
  readonly summary: Summary;
  readonly seqLen: number;
  readonly globalBatch: number;
  /** Sequences per microbatch on one data-parallel rank. */
  readonly rankMicroBatch: number;
  readonly model: ModelSelection;
  /** `module_fqns_per_model_part`; null without pipelining. */
  readonly modelParts: readonly (readonly string[])[] | null;
  readonly asyncTensorParallel: boolean;
  readonly cpCommType: CpCommType;
  /**
   * FP8 GEMMs: the linear layers, and the experts' grouped GEMMs when the model has experts, but in
   * the blocks `bf16Blocks` lists (training.bf16Layers).
   */
  readonly fp8: { readonly experts: boolean; readonly bf16Blocks: readonly number[] } | null;
}

/**
 * Modules Float8Linear leaves in bf16, as the plan prices them: the output head and the router's
 * gate (float8.py filters by substring of the module's name).
 */
export const FP8_SKIPPED_MODULES = ['output', 'router.gate'];

/**
 * ZeRO 0 is DDP over dp replicas; ZeRO 2 and 3 are FSDP2 over dp shards and the context-parallel
 * ranks with them, keeping parameters gathered from forward to backward ("never") or regathering
 * them for backward ("always"); ZeRO-1, under pipeline parallelism only, is FSDP2 the pipeline keeps
 * gathered through the step, where "always" would only regather for every microbatch's backward.
 */
function dataParallel(summary: Summary): Record<string, TomlValue> {
  if (summary.zero === 0)
    return { data_parallel_replicate_degree: summary.dp, data_parallel_shard_degree: 1 };
  const sharded: Record<string, TomlValue> = {
    data_parallel_replicate_degree: 1,
    data_parallel_shard_degree: summary.dp,
  };
  if (summary.dp * summary.cp > 1)
    sharded.fsdp_reshard_after_forward = summary.zero === 3 ? 'always' : 'never';
  return sharded;
}

/** Context and expert parallelism; left out at degree 1, where torchtitan's defaults are off. */
function contextAndExperts(c: ConfigInputs): Record<string, TomlValue> {
  const { cp, ep, etp } = c.summary;
  const out: Record<string, TomlValue> = {};
  const rotate = ROTATE_METHODS[c.cpCommType];
  if (cp > 1) {
    out.context_parallel_degree = cp;
    if (rotate !== null) out.context_parallel_rotate_method = rotate;
  }
  if (ep > 1) {
    out.expert_parallel_degree = ep;
    out.expert_tensor_parallel_degree = etp;
  }
  return out;
}

function parallelism(c: ConfigInputs): Record<string, TomlValue> {
  const { tp, pp } = c.summary;
  const out: Record<string, TomlValue> = { ...dataParallel(c.summary), tensor_parallel_degree: tp };
  if (tp > 1) {
    // The head's logits stay split by vocabulary into the loss, as the plan's cross-entropy is.
    out.disable_loss_parallel = false;
    out.enable_async_tensor_parallel = c.asyncTensorParallel;
  }
  Object.assign(out, contextAndExperts(c));
  out.pipeline_parallel_degree = pp;
  if (pp > 1 && c.modelParts !== null) {
    out.pipeline_parallel_schedule = SCHEDULES[c.summary.schedule];
    out.pipeline_parallel_microbatch_size = c.rankMicroBatch;
    out.module_fqns_per_model_part = c.modelParts;
  }
  return out;
}

/**
 * `model.converters` names as components/quantization/float8.py registers them (the shipped
 * configs' "float8" is no registered name at v0.2.2), and their `[quantize]` tables. Tensorwise
 * scaling as Megatron's export uses; with a recipe named, FSDP all-gathers stay in bf16 as priced.
 */
function fp8Tables(fp8: NonNullable<ConfigInputs['fp8']>): {
  converters: string[];
  quantize: Record<string, TomlValue>;
} {
  // A block kept in bf16 is filtered by its name's prefix: the trailing dot keeps `layers.1.` from
  // matching `layers.10.` (the model's blocks are a ModuleDict keyed by their index).
  const skipped = [...FP8_SKIPPED_MODULES, ...fp8.bf16Blocks.map((i) => `layers.${i}.`)];
  const linear = { float8: { recipe_name: 'tensorwise', filter_fqns: skipped } };
  if (!fp8.experts) return { converters: ['quantize.linear.float8'], quantize: { linear } };
  return {
    converters: ['quantize.linear.float8', 'quantize.grouped_mm.float8'],
    quantize: { linear, grouped_mm: { float8: { fqns: ['experts'] } } },
  };
}

export function jobConfig(c: ConfigInputs): JobConfig {
  const { pp, microbatches } = c.summary;
  const fp8 = c.fp8 === null ? null : fp8Tables(c.fp8);
  const config: JobConfig = {
    model: {
      name: c.model.name,
      flavor: c.model.flavor,
      ...(fp8 === null ? {} : { converters: fp8.converters }),
    },
    training: {
      // Pipelined, a rank's batch is all its microbatches, which the schedule splits; otherwise
      // each microbatch is one gradient-accumulation step of local_batch_size sequences.
      local_batch_size: pp > 1 ? c.rankMicroBatch * microbatches : c.rankMicroBatch,
      global_batch_size: c.globalBatch,
      seq_len: c.seqLen,
      // Mixed precision as priced: float32 master weights, bfloat16 compute.
      dtype: 'float32',
      mixed_precision_param: 'bfloat16',
    },
    parallelism: parallelism(c),
    activation_checkpoint: {
      mode: AC_MODES[c.summary.recompute],
      ...(c.summary.recompute === 'per-op' ? { selective_ac_option: 'op' } : {}),
    },
  };
  if (fp8 !== null) config.quantize = fp8.quantize;
  // The plan prices each norm, activation and residual add as one kernel and the loss as one pass of
  // kernels; torchtitan's blocks run so only under torch.compile (eager, RMSNorm alone upcasts, squares,
  // averages, takes rsqrt and multiplies twice: aten rms_norm's composite), as do FP8's casts
  // (docs/float8.md), and async TP needs it. Its own report measured Llama 3.1 8B on 8 H100 at 5,762
  // tokens/s/GPU eager and 6,667 compiled (benchmarks/llama3_h100_202412_torchtitan.md, Table 1).
  config.compile = { enable: true, components: ['model', 'loss'] };
  if (c.model.customImport !== null) config.experimental = { custom_import: c.model.customImport };
  return config;
}
