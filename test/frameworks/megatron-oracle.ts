/**
 * An independent reading of a `pretrain_gpt.py` command line, as Megatron-LM core_v0.19.0 reads it:
 * argparse against the flag table of ../shared/reference/frameworks/ (names, actions, types,
 * choices, nargs), the rules validate_args and TransformerConfig enforce, and the model the
 * arguments build with Megatron's own defaults. It shares no code with the exporter.
 */
import { readFileSync } from 'node:fs';

interface FlagFact {
  readonly names: readonly string[];
  readonly dest: string;
  readonly action?: 'store_true' | 'store_false';
  readonly type?: string;
  readonly choices?: readonly string[];
  readonly nargs?: string;
}

const TABLE: { readonly ref: string; readonly flags: Readonly<Record<string, FlagFact>> } = JSON.parse(
  readFileSync(
    new URL('../../../shared/reference/frameworks/megatron-lm-core_v0.19.0-args.json', import.meta.url),
    'utf8',
  ),
);
const BY_NAME = new Map(Object.values(TABLE.flags).flatMap((f) => f.names.map((n) => [n, f] as const)));

/** AttnBackend's members in megatron/core/transformer/enums.py at core_v0.19.0 (argparse takes names). */
const ATTN_BACKENDS = ['flash', 'fused', 'unfused', 'local', 'auto'];

const TYPE_CHECKS: Readonly<Record<string, (v: string) => boolean>> = {
  int: (v) => /^[-+]?\d+$/.test(v),
  float: (v) => /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v),
  str: () => true,
  'enum:AttnBackend': (v) => ATTN_BACKENDS.includes(v),
};

/** The parsed namespace: each dest's value (a switch, one word, or a list), and what argparse would refuse. */
export interface Namespace {
  readonly values: ReadonlyMap<string, boolean | string | readonly string[]>;
  readonly problems: readonly string[];
}

function arity(fact: FlagFact, count: number): boolean {
  if (fact.action !== undefined) return count === 0;
  if (fact.nargs === undefined) return count === 1;
  if (fact.nargs === '+') return count >= 1;
  if (fact.nargs === '*') return true;
  return count === Number(fact.nargs);
}

export function parseArgs(words: readonly string[]): Namespace {
  const values = new Map<string, boolean | string | readonly string[]>();
  const problems: string[] = [];
  let i = 0;
  while (i < words.length) {
    const name = words[i]!;
    const given: string[] = [];
    for (i++; i < words.length && !words[i]!.startsWith('--'); i++) given.push(words[i]!);
    const fact = BY_NAME.get(name);
    if (fact === undefined) {
      problems.push(`${name}: no such flag at ${TABLE.ref}`);
      continue;
    }
    if (values.has(fact.dest)) problems.push(`${name}: given twice`);
    if (!arity(fact, given.length)) problems.push(`${name}: ${given.length} value(s) do not fit its arity`);
    if (fact.action !== undefined) {
      values.set(fact.dest, fact.action === 'store_true');
      continue;
    }
    const check = fact.type === undefined ? () => true : TYPE_CHECKS[fact.type];
    for (const v of given) {
      if (check === undefined) problems.push(`${name}: cannot check type ${fact.type}`);
      else if (!check(v)) problems.push(`${name} ${v}: not a ${fact.type}`);
      if (fact.choices !== undefined && !fact.choices.includes(v))
        problems.push(`${name} ${v}: not a choice`);
    }
    values.set(fact.dest, fact.nargs === undefined ? given[0]! : given);
  }
  return { values, problems };
}

const num = (ns: Namespace, dest: string, fallback: number): number => {
  const v = ns.values.get(dest);
  return typeof v === 'string' ? Number(v) : fallback;
};
const str = (ns: Namespace, dest: string, fallback: string): string => {
  const v = ns.values.get(dest);
  return typeof v === 'string' ? v : fallback;
};
const on = (ns: Namespace, dest: string, fallback: boolean): boolean => {
  const v = ns.values.get(dest);
  return typeof v === 'boolean' ? v : fallback;
};

/** The model Megatron builds from the arguments, its defaults applied (validate_args, TransformerConfig). */
export function modelOf(ns: Namespace) {
  const hidden = num(ns, 'hidden_size', Number.NaN);
  const heads = num(ns, 'num_attention_heads', Number.NaN);
  const swiglu = on(ns, 'swiglu', false);
  const tp = num(ns, 'tensor_model_parallel_size', 1);
  const vocab = num(ns, 'vocab_size', Number.NaN);
  const multiple = num(ns, 'make_vocab_size_divisible_by', 128) * tp;
  const experts = num(ns, 'num_experts', 0);
  return {
    layers: num(ns, 'num_layers', Number.NaN),
    hidden,
    heads,
    headDim: num(ns, 'kv_channels', hidden / heads),
    kvHeads: on(ns, 'group_query_attention', false) ? num(ns, 'num_query_groups', heads) : heads,
    ffnHidden: num(ns, 'ffn_hidden_size', swiglu ? Math.floor((4 * hidden * 2) / 3 / 64) * 64 : 4 * hidden),
    vocab: num(ns, 'padded_vocab_size', Math.ceil(vocab / multiple) * multiple),
    seqLen: num(ns, 'seq_length', Number.NaN),
    activation: swiglu ? 'swiglu' : 'gelu',
    norm: str(ns, 'normalization', 'LayerNorm') === 'RMSNorm' ? 'rmsnorm' : 'layernorm',
    tiedEmbeddings: !on(ns, 'untie_embeddings_and_output_weights', false),
    positionEmbedding: { learned_absolute: 'learned', rope: 'rope' }[
      str(ns, 'position_embedding_type', 'learned_absolute')
    ],
    bias: on(ns, 'add_bias_linear', true),
    attentionDropout: num(ns, 'attention_dropout', 0.1),
    hiddenDropout: num(ns, 'hidden_dropout', 0.1),
    experts: experts === 0 ? null : { experts, topK: num(ns, 'moe_router_topk', 2) },
    capacityFactor: num(ns, 'moe_expert_capacity_factor', Number.NaN),
  };
}

/**
 * Bytes of each gradient in Megatron's buffers and reductions: with bf16, validate_args accumulates
 * and reduces them in fp32 unless --grad-reduce-in-bf16; with fp16 they stay fp16.
 */
export function gradientBytes(ns: Namespace): number {
  return on(ns, 'bf16', false) && !on(ns, 'grad_reduce_in_bf16', false) ? 4 : 2;
}
