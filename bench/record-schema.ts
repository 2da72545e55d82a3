/**
 * The two published-run record formats (../shared/reference/published-runs.json, the "classic" one,
 * and published-runs-modern.json, whose records carry `training.precision_class`) as zod schemas of
 * the fields meshplan reads. A file of records someone else wrote (a check file, a hidden set) is read
 * record by record: a record whose fields do not fit is refused with the field it names, never a crash
 * of the whole read. Fields a record may leave out read as what their absence means: no MoE block, no
 * stated microbatch or node size, a data-parallel degree the other degrees and the GPU count imply. Every object
 * keeps the fields this schema does not name (prose that record-facts.ts and record-architecture.ts
 * read), so a record is read as fully as before.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { RecordError } from './record-facts.ts';

const count = z.number().int().positive();
const rate = z.number().positive();
/** Prose or a label a record may give, leave out, or set to null. */
const text = z.string().nullish();
/** A field a record may leave out or set to null, read as null. */
function orNull<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((v): z.output<T> | null => v ?? null);
}

const Source = z.looseObject({
  citation: text,
  primary: text,
  title: text,
  url: text,
  date: text,
});

/** A reference record's model shape, as both reference files spell it. */
const ModelShape = {
  layers: count,
  hidden: count,
  heads: count,
  kv_heads: orNull(count),
  ffn_hidden: orNull(count),
  seq_len: count,
  vocab: count,
};

const Cluster = z.looseObject({
  gpu_type: z.string().min(1),
  gpu_memory_gb: orNull(rate),
  num_gpus: count,
  // Left out: eight GPUs a node, or a rack's NVLink domain (record-facts.ts nodesOf).
  gpus_per_node: orNull(count),
  inter_node_link: text,
  inter_node_bw: text,
  notes: text,
});

/** The fields both formats share: the record's id and source, and what its training states alike. */
const RecordBase = {
  id: z.string().min(1),
  source: Source.nullish().transform((s) => s ?? {}),
  cluster: Cluster,
};
const Training = {
  global_batch_size_sequences: count,
  micro_batch_size: orNull(count),
  recompute: orNull(z.string()),
  zero_stage: orNull(z.number()),
  notes: text,
};

/** What a record measured, in the fields either format may give (at least one must be there to price it). */
const MeasuredFields = {
  seconds_per_iteration: orNull(rate),
  tokens_per_sec: orNull(rate),
  tokens_per_sec_per_gpu: orNull(rate),
  tflops_per_gpu: orNull(rate),
  tflops_kind: orNull(z.string()),
  /** Model FLOPs utilisation, of `peak_tflops_per_gpu_used` where the record names the peak. */
  mfu: orNull(rate),
  peak_tflops_per_gpu_used: orNull(rate),
  notes: text,
};

const Measured = z.looseObject(MeasuredFields);
/** What a record measured, as read: every field null where the record leaves it out. */
export type MeasuredFields = z.output<typeof Measured>;

const ClassicRecordSchema = z.looseObject({
  ...RecordBase,
  model: z.looseObject({ ...ModelShape, activation: text }),
  training: z.looseObject({ ...Training, precision: text, optimizer: text }),
  parallelism: z.looseObject({
    tp: count,
    pp: count,
    dp: orNull(count),
    sp: orNull(z.boolean()),
    virtual_pp: orNull(count),
  }),
  measured: Measured,
});

const Moe = z.looseObject({
  experts: count,
  top_k: count,
  ffn_per_expert: count,
  shared_experts: orNull(z.number().int().nonnegative()).transform((n) => n ?? 0),
  // A shared expert's width where it differs from a routed one's (Nemotron 3's).
  shared_ffn_hidden: count.nullish().transform((v) => v ?? undefined),
  // A latent MoE's routed width (Megatron's --moe-latent-size; Nemotron 3 Super's 1024).
  latent_size: count.nullish().transform((v) => v ?? undefined),
  notes: text,
});

/** A hybrid model's Mamba-2 mixers, as Megatron's --mamba-* arguments size them. */
const Mamba = z.looseObject({
  heads: count,
  head_dim: count,
  state_dim: count,
  groups: count,
});

/** Multi-token prediction as Megatron's arguments set it (--mtp-num-layers, --mtp-use-repeated-layer). */
const Mtp = z.looseObject({
  num_layers: count,
  repeated_layer: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
});

const ModernRecordSchema = z.looseObject({
  ...RecordBase,
  group: text,
  model: z.looseObject({
    ...ModelShape,
    activation: orNull(z.string()),
    head_dim: count.nullish().transform((v) => v ?? undefined),
    arch_notes: text,
    // A dense model's record may say `"moe": null` or leave the block out.
    moe: orNull(Moe),
    // A hybrid model (Nemotron-H, Nemotron 3): Megatron's --hybrid-layer-pattern and its mixers.
    hybrid_pattern: z
      .string()
      .min(1)
      .nullish()
      .transform((v) => v ?? undefined),
    mamba: Mamba.nullish().transform((v) => v ?? undefined),
    // Nemotron 3's records give their modules here; DeepSeek-style prose is read where none does.
    mtp: Mtp.nullish().transform((v) => v ?? undefined),
  }),
  training: z.looseObject({ ...Training, precision_class: text }),
  parallelism: z.looseObject({
    tp: count,
    pp: count,
    dp: orNull(count),
    cp: orNull(count),
    ep: orNull(count),
    etp: orNull(count),
    virtual_pp: orNull(count),
    sp: orNull(z.boolean()),
    distributed_optimizer: orNull(z.boolean()),
    fsdp: orNull(z.boolean()),
    notes: text,
  }),
  measured: z.looseObject({ ...MeasuredFields, given: z.array(z.string()).nullish() }),
  derived: z.looseObject({ seconds_per_iteration: orNull(rate) }).nullish(),
});

/** One record of published-runs.json as read: the fields meshplan reads, nulls where left out. */
export type PublishedRun = z.output<typeof ClassicRecordSchema> & {
  readonly parallelism: z.output<typeof ClassicRecordSchema>['parallelism'] & { readonly dp: number };
};
/** One record of published-runs-modern.json as read. */
export type ModernRecord = z.output<typeof ModernRecordSchema> & {
  readonly parallelism: z.output<typeof ModernRecordSchema>['parallelism'] & { readonly dp: number };
};

type ReadRecord =
  | { readonly format: 'classic'; readonly record: PublishedRun }
  | {
      readonly format: 'modern';
      readonly record: ModernRecord;
    };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The id a record goes by in a refusal: its own, else its place in the file. */
export function recordLabel(record: unknown, index: number): string {
  return isObject(record) && typeof record.id === 'string' && record.id !== ''
    ? record.id
    : `record ${index + 1}`;
}

/**
 * The data-parallel degree a record states, else the one its GPU count and other degrees imply
 * (GPUs / (tp · pp · cp)), refused where they do not divide.
 */
function dataParallel(
  id: string,
  gpus: number,
  p: { tp: number; pp: number; dp: number | null; cp?: number | null },
): number {
  if (p.dp !== null) return p.dp;
  const model = p.tp * p.pp * (p.cp ?? 1);
  if (gpus % model !== 0)
    throw new RecordError(
      id,
      'parallelism.dp',
      `not stated, and ${gpus} GPUs do not divide by tp·pp·cp = ${model}`,
    );
  return gpus / model;
}

/**
 * Reads one record of either format (a `training.precision_class` marks the modern one), or throws
 * a RecordError naming the first field that does not fit.
 */
export function readRecord(raw: unknown, index: number): ReadRecord {
  const id = recordLabel(raw, index);
  if (!isObject(raw)) throw new RecordError(id, '(record)', 'expected an object');
  if (isObject(raw.training) && 'precision_class' in raw.training) {
    const record = parsedOrRefused(id, ModernRecordSchema.safeParse(raw));
    const dp = dataParallel(id, record.cluster.num_gpus, record.parallelism);
    return { format: 'modern', record: { ...record, parallelism: { ...record.parallelism, dp } } };
  }
  const record = parsedOrRefused(id, ClassicRecordSchema.safeParse(raw));
  // The classic format has no expert or context degrees: an MoE model in it would be priced dense.
  if (record.model.moe !== undefined && record.model.moe !== null)
    throw new RecordError(
      id,
      'model.moe',
      'a mixture-of-experts model in the classic format, which has no expert-parallel degree: give it in the modern format (training.precision_class, parallelism.ep)',
    );
  const dp = dataParallel(id, record.cluster.num_gpus, record.parallelism);
  return { format: 'classic', record: { ...record, parallelism: { ...record.parallelism, dp } } };
}

/** The parsed record, or a RecordError naming the first field that does not fit. */
function parsedOrRefused<T>(id: string, parsed: z.ZodSafeParseResult<T>): T {
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new RecordError(id, issue.path.join('.') || '(record)', issue.message);
}

/**
 * The records of a file: a JSON array of them (both reference files' layout), an object holding one
 * array of them under any key (`{"runs": [...]}`), or JSON Lines, one record a line. A file that is none
 * of these, or cannot be read, is a RecordError naming the file.
 */
export function recordsOfFile(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RecordError(path, '(file)', `cannot be read: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    try {
      return lines.map((line) => JSON.parse(line) as unknown);
    } catch {
      throw new RecordError(path, '(file)', `not JSON: ${(error as Error).message.replace(/\s+/g, ' ')}`);
    }
  }
  if (Array.isArray(parsed)) return parsed;
  const arrays = isObject(parsed) ? Object.values(parsed).filter(Array.isArray) : [];
  if (arrays.length === 1) return arrays[0]!;
  throw new RecordError(path, '(file)', 'expected a JSON array of run records, or an object holding one');
}
