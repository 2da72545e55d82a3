/**
 * Oracles for torchtitan v0.2.2 job configs that share nothing with the exporter: the reference
 * table read from torchtitan's own job_config.py (../shared/reference/frameworks/), the TOML parsed
 * back by a TOML parser, and the release's rules as its source states them.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';

interface FieldRef {
  readonly type: 'int' | 'float' | 'bool' | 'str' | 'union' | 'other';
  readonly choices?: readonly string[];
}
interface Reference {
  readonly ref: string;
  readonly strict_unknown_fields: boolean;
  readonly sections: Record<string, { readonly fields: Record<string, FieldRef> }>;
}

export const REFERENCE: Reference = JSON.parse(
  readFileSync(
    new URL('../../../shared/reference/frameworks/torchtitan-v0.2.2-config.json', import.meta.url),
    'utf8',
  ),
);

/**
 * Fields job_config.py declares as lists (the table records their element type): `list[str]`, and
 * `module_fqns_per_model_part: list[list[str]] | None`.
 */
const LIST_DEPTH: Readonly<Record<string, number>> = {
  'model.converters': 1,
  'compile.components': 1,
  'checkpoint.exclude_from_loading': 1,
  'activation_checkpoint.per_op_sac_force_recompute_mm_shapes_by_fqns': 1,
  'parallelism.module_fqns_per_model_part': 2,
  'quantize.linear.float8.filter_fqns': 1,
  'quantize.grouped_mm.float8.fqns': 1,
};

/**
 * The `[quantize]` dataclasses the reference table records as "other" (nested), written from
 * job_config.py at v0.2.2: QuantizedLinear / QuantizedGroupedMM, each with float8 and mx tables.
 */
const QUANTIZE_TABLES: Readonly<Record<string, Record<string, FieldRef>>> = {
  'quantize.linear.float8': {
    enable_fsdp_float8_all_gather: { type: 'bool' },
    precompute_float8_dynamic_scale_for_fsdp: { type: 'bool' },
    recipe_name: { type: 'str', choices: ['tensorwise', 'rowwise', 'rowwise_with_gw_hp'] },
    filter_fqns: { type: 'other' },
    emulate: { type: 'bool' },
  },
  'quantize.linear.mx': {
    mxfp8_dim1_cast_kernel_choice: { type: 'str', choices: ['triton', 'cuda', 'torch'] },
    recipe_name: { type: 'str' },
    filter_fqns: { type: 'other' },
  },
  'quantize.grouped_mm.float8': { fqns: { type: 'other' } },
  'quantize.grouped_mm.mx': { recipe_name: { type: 'str', choices: ['mxfp8'] }, fqns: { type: 'other' } },
};

/** `model.converters` names registered at v0.2.2 (components/quantization/float8.py and mx.py). */
export const REGISTERED_CONVERTERS = [
  'quantize.linear.float8',
  'quantize.grouped_mm.float8',
  'quantize.linear.mx',
  'quantize.grouped_mm.mx',
];

function quantizeProblems(quantize: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [kind, tables] of Object.entries(quantize)) {
    for (const [format, fields] of Object.entries(tables as Record<string, Record<string, unknown>>)) {
      const table = `quantize.${kind}.${format}`;
      const known = QUANTIZE_TABLES[table];
      if (known === undefined) {
        problems.push(`[${table}] is not a table of Quantize`);
        continue;
      }
      for (const [name, value] of Object.entries(fields)) {
        const field = known[name];
        if (field === undefined) problems.push(`${table}.${name} is not a field`);
        else {
          const problem = typeProblem(`${table}.${name}`, value, field);
          if (problem !== null) problems.push(problem);
        }
      }
    }
  }
  return problems;
}

/** PyTorch's schedule names (torch/distributed/pipelining/schedules.py `get_schedule_class`). */
export const PYTORCH_SCHEDULES = [
  '1F1B',
  'Interleaved1F1B',
  'GPipe',
  'LoopedBFS',
  'InterleavedZeroBubble',
  'PipelineScheduleSingle',
  'PipelineScheduleMulti',
  'ZBVZeroBubble',
  'DualPipeV',
];
/** The ones that run one model part per rank (PipelineScheduleSingle subclasses). */
const SINGLE_STAGE_SCHEDULES = ['1F1B', 'GPipe', 'PipelineScheduleSingle'];

export type Config = Record<string, Record<string, unknown>>;

function nestedStrings(value: unknown, depth: number): boolean {
  if (depth === 0) return typeof value === 'string';
  return Array.isArray(value) && value.every((v) => nestedStrings(v, depth - 1));
}

function typeProblem(path: string, value: unknown, field: FieldRef): string | null {
  const depth = LIST_DEPTH[path];
  const ok =
    depth !== undefined
      ? nestedStrings(value, depth)
      : field.type === 'int'
        ? Number.isInteger(value)
        : field.type === 'float' || field.type === 'union'
          ? typeof value === 'number'
          : field.type === 'bool'
            ? typeof value === 'boolean'
            : field.type === 'str'
              ? typeof value === 'string'
              : false;
  if (!ok)
    return `${path}: ${JSON.stringify(value)} is not a ${depth ? `list of depth ${depth}` : field.type}`;
  if (field.choices !== undefined && !field.choices.includes(value as string)) {
    return `${path}: ${JSON.stringify(value)} is not one of ${field.choices.join(', ')}`;
  }
  return null;
}

/** The TOML parsed back, and every section and field it has checked against the reference table. */
export function parseAndCheck(toml: string): { config: Config; problems: string[] } {
  const config = parse(toml) as Config;
  const problems: string[] = [];
  for (const [section, fields] of Object.entries(config)) {
    if (section === 'quantize') {
      problems.push(...quantizeProblems(fields));
      continue;
    }
    const known = REFERENCE.sections[section];
    if (known === undefined) {
      problems.push(`[${section}] is not a section of JobConfig`);
      continue;
    }
    for (const [name, value] of Object.entries(fields)) {
      const field = known.fields[name];
      if (field === undefined)
        problems.push(`${section}.${name} is not a field (unknown fields fail to load)`);
      else {
        const problem = typeProblem(`${section}.${name}`, value, field);
        if (problem !== null) problems.push(problem);
      }
    }
  }
  return { config, problems };
}

/** Facts of the plan the config must reproduce. */
export interface PlanFacts {
  readonly devices: number;
  readonly layers: number;
  /** Transformer blocks of each planned stage, from its layer range. */
  readonly blocksPerStage: readonly number[];
  readonly virtualStages: number;
  readonly firstModules: readonly string[];
  readonly seqLen: number;
  readonly globalBatch: number;
}

const int = (v: unknown, fallback: number) => (v === undefined ? fallback : (v as number));

/** Rules torchtitan v0.2.2 (and the PyTorch it pins) enforce on a loaded config, and the plan's cut. */
export function ruleProblems(config: Config, plan: PlanFacts): string[] {
  const p = config.parallelism ?? {};
  const t = config.training ?? {};
  const replicate = int(p.data_parallel_replicate_degree, 1);
  const shard = int(p.data_parallel_shard_degree, -1);
  const tp = int(p.tensor_parallel_degree, 1);
  const pp = int(p.pipeline_parallel_degree, 1);
  const cp = int(p.context_parallel_degree, 1);
  const problems: string[] = [];
  // parallel_dims.py _validate.
  if (replicate * shard * cp * tp * pp !== plan.devices)
    problems.push('dp_replicate · dp_shard · cp · tp · pp ≠ world size');
  problems.push(...expertProblems(p, shard, cp, tp), ...converterProblems(config, pp, cp));
  // llama3 parallelize.py: DDP only as the one parallelism; utils.py: no mixed precision with TP/PP without FSDP.
  if (shard === 1 && replicate > 1 && (tp > 1 || pp > 1))
    problems.push('DDP with tensor or pipeline parallelism');
  // parallel_dims.py fsdp_enabled: dp_shard > 1 or cp > 1.
  if (shard * cp === 1 && (tp > 1 || pp > 1)) problems.push('TP or PP without FSDP trains in float32');
  // parallel_dims.py seq_len_divisor = tp · (cp · 2).
  if (int(t.seq_len, 2048) % (2 * tp * cp) !== 0) problems.push('seq_len is not a multiple of 2 · tp · cp');
  if (t.seq_len !== plan.seqLen) problems.push(`seq_len ${t.seq_len} is not the planned ${plan.seqLen}`);
  // train.py: global batch = local batch · dp · gradient accumulation steps.
  const local = int(t.local_batch_size, 8);
  if (t.global_batch_size !== plan.globalBatch || plan.globalBatch % (local * replicate * shard) !== 0) {
    problems.push('global_batch_size is not the planned one, or not a multiple of local_batch_size · dp');
  }
  const ac = config.activation_checkpoint;
  if (ac?.mode === undefined) {
    problems.push('activation_checkpoint.mode unset (the default is "selective")');
  }
  // distributed/activation_checkpoint.py: selective takes "op" or a layer frequency; the default
  // "2" checkpoints every second block whole, which no meshplan recomputation is.
  if (ac?.mode === 'selective' && ac.selective_ac_option !== 'op') {
    problems.push(`activation_checkpoint.selective_ac_option ${String(ac.selective_ac_option)} is not "op"`);
  }
  if (pp > 1) problems.push(...pipelineProblems(p, local, pp, plan));
  return problems;
}

/** parallel_dims.py: etp is tp or 1 under ep > 1; the sparse mesh needs ep · etp | dp_shard · cp · tp. */
function expertProblems(p: Record<string, unknown>, shard: number, cp: number, tp: number): string[] {
  const ep = int(p.expert_parallel_degree, 1);
  const etp = int(p.expert_tensor_parallel_degree, 1);
  if (ep === 1) return [];
  const problems: string[] = [];
  if (etp !== tp && etp !== 1) problems.push('etp is neither tp nor 1');
  if ((shard * cp * tp) % (ep * etp) !== 0) problems.push('ep · etp does not divide dp_shard · cp · tp');
  // deepseek_v3 / qwen3 parallelize.py: get_mesh("fsdp") raises when dp_shard · cp is 1.
  if (shard * cp === 1) problems.push('expert parallelism without an FSDP mesh');
  return problems;
}

/** model_converter.py looks every name up in its registry; float8.py's grouped-GEMM converter asserts pp = cp = 1. */
function converterProblems(config: Config, pp: number, cp: number): string[] {
  const converters = (config.model?.converters ?? []) as string[];
  const problems = converters
    .filter((c) => !REGISTERED_CONVERTERS.includes(c))
    .map((c) => `converter ${c} is not registered`);
  if (converters.includes('quantize.grouped_mm.float8') && (pp > 1 || cp > 1))
    problems.push('FP8 grouped GEMMs with pipeline or context parallelism');
  const float8 = (config.quantize as Record<string, Record<string, Record<string, unknown>>> | undefined)
    ?.linear?.float8;
  if (float8?.recipe_name !== undefined && float8.enable_fsdp_float8_all_gather === true)
    problems.push('a float8 recipe with FSDP float8 all-gather');
  return problems;
}

function pipelineProblems(p: Record<string, unknown>, local: number, pp: number, plan: PlanFacts): string[] {
  const problems: string[] = [];
  const schedule = p.pipeline_parallel_schedule as string;
  if (!PYTORCH_SCHEDULES.includes(schedule)) problems.push(`schedule ${schedule} is not PyTorch's`);
  const microbatchSize = int(p.pipeline_parallel_microbatch_size, 1);
  if (local % microbatchSize !== 0)
    problems.push('local_batch_size is not a multiple of the microbatch size');
  const n = local / microbatchSize;
  const parts = p.module_fqns_per_model_part as string[][] | undefined;
  if (parts === undefined)
    return [...problems, 'no module_fqns_per_model_part: torchtitan would cut its own stages'];
  const perRank = parts.length / pp;
  if (!Number.isInteger(perRank)) problems.push('model parts are not a multiple of pp');
  if (SINGLE_STAGE_SCHEDULES.includes(schedule) ? perRank !== 1 : perRank < 2) {
    problems.push(`${perRank} model parts per rank for ${schedule}`);
  }
  if (perRank !== plan.virtualStages)
    problems.push(`${perRank} parts per rank, planned ${plan.virtualStages}`);
  if (schedule === '1F1B' && n < pp) problems.push('1F1B with fewer microbatches than stages');
  if (schedule === 'Interleaved1F1B' && n % Math.max(1, Math.floor(n / pp)) !== 0) {
    problems.push('Interleaved1F1B microbatches are not a multiple of its rounds');
  }
  // Every module once, in model order: the first part's ends, the blocks, the head.
  const expected = [
    ...plan.firstModules,
    ...Array.from({ length: plan.layers }, (_, i) => `layers.${i}`),
    'norm',
    'output',
  ];
  if (JSON.stringify(parts.flat()) !== JSON.stringify(expected))
    problems.push('the parts do not cover the model in order');
  if (parts.some((part) => part.length === 0))
    problems.push('an empty model part has no parameters to optimise');
  // Rank i runs parts i, i + pp, …: its blocks are the planned stage's (the same ones when not interleaved).
  plan.blocksPerStage.forEach((blocks, rank) => {
    const held = parts
      .filter((_, s) => s % pp === rank)
      .flat()
      .filter((m) => m.startsWith('layers.')).length;
    if (held !== blocks) problems.push(`rank ${rank} holds ${held} blocks, planned ${blocks}`);
  });
  return problems;
}

/**
 * torchtitan v0.2.2's llama3 FeedForward width, written here from models/llama3/model/model.py:
 * hidden = int(2 * (4 * dim) / 3); if multiplier: hidden = int(multiplier * hidden);
 * hidden = multiple_of * ((hidden + multiple_of - 1) // multiple_of).
 */
export function feedForwardWidth(dim: number, multipleOf: number, multiplier: number | null): number {
  let hidden = Math.floor((2 * (4 * dim)) / 3);
  if (multiplier !== null) hidden = Math.floor(multiplier * hidden);
  return multipleOf * Math.floor((hidden + multipleOf - 1) / multipleOf);
}
