/**
 * An independent reading of a `pretrain_gpt.py` (or `pretrain_hybrid.py`) command line, as
 * Megatron-LM core_v0.19.0 reads it:
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

/**
 * moe_freq_type: an integer N (every N-th layer MoE) or a Python list expression of digits,
 * brackets, commas, + and * (_eval_pattern refuses any other character).
 */
export function moeLayerFreq(v: string, layers: number): number[] {
  if (/^\d+$/.test(v)) return Array.from({ length: layers }, (_, i) => (i % Number(v) === 0 ? 1 : 0));
  let at = 0;
  const peek = () => v[at];
  const integer = () => {
    const digits = /^\d+/.exec(v.slice(at))?.[0];
    if (digits === undefined) throw new Error(`a number expected at ${at} of ${v}`);
    at += digits.length;
    return Number(digits);
  };
  const atom = (): number[] => {
    if (peek() === '(') {
      at++;
      const inner = sum();
      if (v[at++] !== ')') throw new Error(`) expected in ${v}`);
      return inner;
    }
    if (peek() !== '[') throw new Error(`[ expected at ${at} of ${v}`);
    at++;
    const items: number[] = [];
    while (peek() !== ']') {
      items.push(integer());
      if (peek() === ',') at++;
    }
    at++;
    return items;
  };
  const product = () => {
    let list = atom();
    while (peek() === '*') {
      at++;
      const n = integer();
      list = Array.from({ length: n }, () => list).flat();
    }
    return list;
  };
  const sum = (): number[] => {
    let list = product();
    while (peek() === '+') {
      at++;
      list = [...list, ...product()];
    }
    return list;
  };
  const list = sum();
  if (at !== v.length) throw new Error(`trailing ${v.slice(at)} in ${v}`);
  return list;
}

const TYPE_CHECKS: Readonly<Record<string, (v: string) => boolean>> = {
  int: (v) => /^[-+]?\d+$/.test(v),
  moe_freq_type: (v) => /^\d+$/.test(v) || !/[^,\d[\]()+*]/.test(v),
  // tuple_type: int() of each comma-separated word once parentheses are stripped.
  tuple_type: (v) =>
    v
      .replace(/^\(|\)$/g, '')
      .split(',')
      .every((w) => /^\s*[-+]?\d+\s*$/.test(w)),
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

/** The activation core_transformer_config_from_args picks: SwiGLU, squared ReLU, quick GeGLU or GELU. */
function activationOf(ns: Namespace): string {
  if (on(ns, 'swiglu', false)) return 'swiglu';
  if (on(ns, 'squared_relu', false)) return 'squared-relu';
  return on(ns, 'quick_geglu', false) ? 'quick-geglu' : 'gelu';
}

/**
 * The decoder layers of --hybrid-layer-pattern, one symbol each (validate_args counts them: the main
 * pattern before any `/`, its `|` stage separators dropped); null without a pattern.
 */
export function hybridLayers(ns: Namespace): string | null {
  const pattern = ns.values.get('hybrid_layer_pattern');
  return typeof pattern === 'string' ? pattern.split('/')[0]!.replaceAll('|', '') : null;
}

/**
 * The Mamba mixer MambaLayer builds: TransformerConfig's mamba_* defaults where no argument is
 * given, its heads otherwise 2 · hidden / headDim (MambaMixer's expand 2), and the convolution taps
 * and scan chunk MambaMixer fixes (d_conv 4, chunk_size 128).
 */
function mambaOf(ns: Namespace, hidden: number) {
  const headDim = num(ns, 'mamba_head_dim', 64);
  return {
    heads: num(ns, 'mamba_num_heads', (2 * hidden) / headDim),
    headDim,
    stateDim: num(ns, 'mamba_state_dim', 128),
    groups: num(ns, 'mamba_num_groups', 8),
    convKernel: 4,
    chunkSize: 128,
  };
}

/**
 * MLATransformerConfig's sizes, its defaults where an argument is not given. A hybrid model's
 * attention is the pattern's: `+` layers are MLA (validate_args then turns the flag on), `*` layers
 * plain self-attention whatever the flag says.
 */
function mlaOf(ns: Namespace, hybrid: string | null) {
  const mla = hybrid === null ? on(ns, 'multi_latent_attention', false) : hybrid.includes('+');
  if (!mla) return null;
  const q = ns.values.get('q_lora_rank');
  return {
    qLoraRank: typeof q === 'string' ? Number(q) : null,
    kvLoraRank: num(ns, 'kv_lora_rank', 32),
    qkNopeHeadDim: num(ns, 'qk_head_dim', 128),
    qkRopeHeadDim: num(ns, 'qk_pos_emb_head_dim', 64),
    vHeadDim: num(ns, 'v_head_dim', 128),
  };
}

/**
 * The experts Megatron builds: per-expert and shared FFN sizes, which layers are MoE (a hybrid
 * model's E layers), dropping.
 */
function expertsOf(ns: Namespace, layers: number, ffnHidden: number, hybrid: string | null) {
  const experts = num(ns, 'num_experts', 0);
  if (experts === 0) return null;
  const freq = ns.values.get('moe_layer_freq');
  return {
    experts,
    topK: num(ns, 'moe_router_topk', 2),
    ffnHidden: num(ns, 'moe_ffn_hidden_size', ffnHidden),
    sharedFfnHidden: num(ns, 'moe_shared_expert_intermediate_size', 0),
    moeLayers:
      hybrid === null
        ? moeLayerFreq(typeof freq === 'string' ? freq : '1', layers)
        : [...hybrid].map((symbol) => (symbol === 'E' ? 1 : 0)),
    // Without a capacity factor the router drops no token.
    dropless: !ns.values.has('moe_expert_capacity_factor'),
  };
}

/**
 * Each layer's attention window in keys per query (null: the whole sequence): tuple_type reads
 * --window-size "left,right"; transformer/utils.py is_layer_window_attention windows layer n (from 1)
 * unless --window-attn-skip-freq N divides n (or its list has a 0 there). A query sees left keys
 * before it and itself.
 */
function windowsOf(ns: Namespace, layers: number): (number | null)[] {
  const size = ns.values.get('window_size');
  if (typeof size !== 'string') return Array.from({ length: layers }, () => null);
  const [left, right] = size.replace(/[()]/g, '').split(',').map(Number);
  if (right !== 0) throw new Error(`a causal window is (left, 0), not ${size}`);
  const freq = ns.values.get('window_attn_skip_freq');
  const windowed = (n: number) =>
    typeof freq !== 'string'
      ? true
      : /^\d+$/.test(freq)
        ? n % Number(freq) !== 0
        : moeLayerFreq(freq, layers)[n - 1] === 1;
  return Array.from({ length: layers }, (_, i) => (windowed(i + 1) ? left! + 1 : null));
}

/** The model Megatron builds from the arguments, its defaults applied (validate_args, TransformerConfig). */
export function modelOf(ns: Namespace) {
  const hidden = num(ns, 'hidden_size', Number.NaN);
  const heads = num(ns, 'num_attention_heads', Number.NaN);
  const hybrid = hybridLayers(ns);
  const layers = hybrid === null ? num(ns, 'num_layers', Number.NaN) : hybrid.length;
  const swiglu = on(ns, 'swiglu', false);
  const tp = num(ns, 'tensor_model_parallel_size', 1);
  const vocab = num(ns, 'vocab_size', Number.NaN);
  const multiple = num(ns, 'make_vocab_size_divisible_by', 128) * tp;
  const ffnHidden = num(
    ns,
    'ffn_hidden_size',
    swiglu ? Math.floor((4 * hidden * 2) / 3 / 64) * 64 : 4 * hidden,
  );
  return {
    layers,
    hidden,
    heads,
    headDim: num(ns, 'kv_channels', hidden / heads),
    kvHeads: on(ns, 'group_query_attention', false) ? num(ns, 'num_query_groups', heads) : heads,
    ffnHidden,
    vocab: num(ns, 'padded_vocab_size', Math.ceil(vocab / multiple) * multiple),
    seqLen: num(ns, 'seq_length', Number.NaN),
    activation: activationOf(ns),
    // Megatron fuses the SwiGLU (bias_swiglu_impl) unless --no-bias-swiglu-fusion, and the quick GeGLU
    // with the bias-GELU fusion, which needs biases (argument_utils.py, arguments.py); GELU's fusion
    // keeps what the unfused GELU keeps, its input.
    activationFusion: swiglu
      ? on(ns, 'bias_swiglu_fusion', true)
      : activationOf(ns) !== 'quick-geglu' ||
        (on(ns, 'bias_gelu_fusion', true) && on(ns, 'add_bias_linear', true)),
    activationClamp: ns.values.has('activation_func_clamp_value')
      ? num(ns, 'activation_func_clamp_value', 0)
      : null,
    gluLinearOffset: num(ns, 'glu_linear_offset', 0),
    attentionSinks: str(ns, 'softmax_type', 'vanilla') === 'learnable',
    qkNorm: on(ns, 'qk_layernorm', false),
    norm: str(ns, 'normalization', 'LayerNorm') === 'RMSNorm' ? 'rmsnorm' : 'layernorm',
    tiedEmbeddings: !on(ns, 'untie_embeddings_and_output_weights', false),
    positionEmbedding: { learned_absolute: 'learned', rope: 'rope' }[
      str(ns, 'position_embedding_type', 'learned_absolute')
    ],
    bias: on(ns, 'add_bias_linear', true),
    attentionDropout: num(ns, 'attention_dropout', 0.1),
    hiddenDropout: num(ns, 'hidden_dropout', 0.1),
    experts: expertsOf(ns, layers, ffnHidden, hybrid),
    capacityFactor: num(ns, 'moe_expert_capacity_factor', Number.NaN),
    mla: mlaOf(ns, hybrid),
    // The layers in the pattern's kinds, an MLA layer (+) an attention layer like any other.
    hybridPattern: hybrid?.replaceAll('+', '*') ?? null,
    mamba: hybrid?.includes('M') ? mambaOf(ns, hidden) : null,
    mtpLayers: num(ns, 'mtp_num_layers', 0),
    // MultiTokenPredictionBlock builds one layer and runs it at every depth.
    mtpRepeatedLayer: on(ns, 'mtp_use_repeated_layer', false),
    windows: windowsOf(ns, layers),
  };
}

/**
 * Bytes of each gradient in Megatron's buffers and reductions: with bf16, validate_args accumulates
 * and reduces them in fp32 unless --grad-reduce-in-bf16; with fp16 they stay fp16.
 */
export function gradientBytes(ns: Namespace): number {
  return on(ns, 'bf16', false) && !on(ns, 'grad_reduce_in_bf16', false) ? 4 : 2;
}
