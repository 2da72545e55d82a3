/**
 * The model torchtitan v0.2.2 builds for a priced transformer: a llama3 flavor it ships, a llama3
 * flavor meshplan registers (`TransformerModelArgs` reproducing the dims), or meshplan's own GPT
 * model for everything llama3 is not (LayerNorm, GELU, biases, learned positions, tied embeddings,
 * dropout), or torchtitan's qwen3 or deepseek_v3 for experts, latent attention and head sizes
 * llama3 does not derive (./expert-models.ts). The companion Python files that register all but a
 * shipped flavor are written in ./companion.ts.
 */
import { slidingWindowSize, type TransformerDims } from '../../model/dims.ts';
import { type DeepSeekV3Args, expertModel, type Qwen3Args } from './expert-models.ts';

/** `TransformerModelArgs` of torchtitan's llama3 (models/llama3/model/args.py) that size the model. */
export interface Llama3Args {
  readonly dim: number;
  readonly n_layers: number;
  readonly n_heads: number;
  readonly n_kv_heads: number;
  readonly vocab_size: number;
  readonly multiple_of: number;
  readonly ffn_dim_multiplier: number | null;
  readonly rope_theta: number;
}

/** `GPTModelArgs` of python/meshplan_gpt_model.py. */
export interface GptArgs {
  readonly dim: number;
  readonly n_layers: number;
  readonly n_heads: number;
  readonly n_kv_heads: number;
  readonly head_dim: number;
  readonly ffn_hidden: number;
  readonly vocab_size: number;
  readonly max_seq_len: number;
  readonly activation: 'gelu' | 'swiglu' | 'geglu' | 'squared_relu';
  readonly norm: 'layernorm' | 'rmsnorm';
  readonly bias: boolean;
  readonly position: 'learned' | 'rope';
  readonly tied_embeddings: boolean;
  /** Megatron's 0.1 where the priced model has dropout (src/model/dims.ts). */
  readonly dropout: number;
}

export type TorchtitanModel =
  | { readonly kind: 'shipped'; readonly flavor: string }
  | { readonly kind: 'llama3'; readonly args: Llama3Args }
  | { readonly kind: 'gpt'; readonly args: GptArgs }
  | { readonly kind: 'qwen3'; readonly args: Qwen3Args }
  | { readonly kind: 'deepseek_v3'; readonly args: DeepSeekV3Args }
  /** No model torchtitan can build is the priced one. */
  | { readonly kind: 'none'; readonly reason: string };

/** The train spec name and flavor the job config names, and the module that registers it. */
export interface ModelSelection {
  readonly name: string;
  readonly flavor: string;
  /** `[experimental] custom_import`; null for a model torchtitan ships. */
  readonly customImport: string | null;
}

export const PLANNED_FLAVOR = 'planned';
export const LLAMA3_MODULE = 'meshplan_llama3';
export const GPT_MODULE = 'meshplan_gpt';
export const QWEN3_MODULE = 'meshplan_qwen3';
export const DEEPSEEK_V3_MODULE = 'meshplan_deepseek_v3';

/** Llama 3's rotary base (every shipped llama3 flavor uses it; the priced cost does not depend on it). */
const LLAMA3_ROPE_THETA = 500_000;
const GPT_DROPOUT = 0.1;
const LLAMA3_DEFAULT_VOCAB = 128_256;

/**
 * The FFN width torchtitan's llama3 `FeedForward` computes (models/llama3/model/model.py):
 * int(2·4·dim/3), times `ffn_dim_multiplier` (truncated) when set, rounded up to `multiple_of`.
 * JavaScript and Python do the same IEEE double arithmetic, so this is the width it builds.
 */
export function llama3FfnHidden(dim: number, multipleOf: number, multiplier: number | null): number {
  let hidden = Math.trunc((2 * (4 * dim)) / 3);
  if (multiplier !== null) hidden = Math.trunc(multiplier * hidden);
  return multipleOf * Math.ceil(hidden / multipleOf);
}

/**
 * `multiple_of` and `ffn_dim_multiplier` that make llama3 build exactly `ffnHidden`: Llama's own
 * rule (multiple of 256) when it gives that width; otherwise the width itself as `multiple_of`
 * (anything from 1 to it rounds up to it), with the shortest decimal multiplier that brings
 * 8/3·dim into that range when it is wider.
 */
export function llama3FfnArgs(
  dim: number,
  ffnHidden: number,
): { multiple_of: number; ffn_dim_multiplier: number | null } | null {
  const base = Math.trunc((2 * (4 * dim)) / 3);
  const shrink = ffnHidden / base;
  const multipliers =
    base <= ffnHidden
      ? [null]
      : [...Array.from({ length: 6 }, (_, k) => Math.floor(shrink * 10 ** (k + 1)) / 10 ** (k + 1)), shrink];
  const candidates = [
    { multiple_of: 256, ffn_dim_multiplier: null },
    ...multipliers.map((m) => ({ multiple_of: ffnHidden, ffn_dim_multiplier: m })),
  ];
  return (
    candidates.find((c) => llama3FfnHidden(dim, c.multiple_of, c.ffn_dim_multiplier) === ffnHidden) ?? null
  );
}

/** The llama3 flavors torchtitan v0.2.2 ships with causal SDPA (models/llama3/__init__.py). */
const SHIPPED: Readonly<Record<string, Llama3Args>> = {
  debugmodel: llama3(256, 6, 16, 16, 2048, 256, null),
  '8B': llama3(4096, 32, 32, 8, LLAMA3_DEFAULT_VOCAB, 1024, 1.3),
  '70B': llama3(8192, 80, 64, 8, LLAMA3_DEFAULT_VOCAB, 4096, 1.3),
  '405B': llama3(16384, 126, 128, 8, LLAMA3_DEFAULT_VOCAB, 4096, 1.2),
};

function llama3(
  dim: number,
  layers: number,
  heads: number,
  kvHeads: number,
  vocab: number,
  multipleOf: number,
  multiplier: number | null,
): Llama3Args {
  return {
    dim,
    n_layers: layers,
    n_heads: heads,
    n_kv_heads: kvHeads,
    vocab_size: vocab,
    multiple_of: multipleOf,
    ffn_dim_multiplier: multiplier,
    rope_theta: LLAMA3_ROPE_THETA,
  };
}

/**
 * Whether torchtitan's llama3 model is the priced model: RMSNorm, SwiGLU, RoPE, no biases, untied,
 * no dropout, heads of hidden / heads.
 */
function isLlama(d: TransformerDims): boolean {
  return (
    d.headDim * d.heads === d.hidden &&
    d.activation === 'swiglu' &&
    d.norm === 'rmsnorm' &&
    d.positionEmbedding === 'rope' &&
    !d.bias &&
    !d.tiedEmbeddings &&
    !d.dropout
  );
}

function sameSize(a: Llama3Args, d: TransformerDims): boolean {
  return (
    a.dim === d.hidden &&
    a.n_layers === d.layers &&
    a.n_heads === d.heads &&
    a.n_kv_heads === d.kvHeads &&
    a.vocab_size === d.vocab &&
    llama3FfnHidden(a.dim, a.multiple_of, a.ffn_dim_multiplier) === d.ffnHidden
  );
}

function gptArgs(d: TransformerDims): GptArgs {
  return {
    dim: d.hidden,
    n_layers: d.layers,
    n_heads: d.heads,
    n_kv_heads: d.kvHeads,
    head_dim: d.headDim,
    ffn_hidden: d.ffnHidden,
    vocab_size: d.vocab,
    max_seq_len: d.seqLen,
    activation: gptActivation(d.activation),
    norm: d.norm === 'rmsnorm' ? 'rmsnorm' : 'layernorm',
    bias: d.bias,
    position: d.positionEmbedding === 'rope' ? 'rope' : 'learned',
    tied_embeddings: d.tiedEmbeddings,
    dropout: d.dropout ? GPT_DROPOUT : 0,
  };
}

/** The GPT model's activation argument; torchtitanModel refuses the quick GeGLU before it gets here. */
function gptActivation(activation: TransformerDims['activation']): GptArgs['activation'] {
  if (activation === 'quick-geglu') throw new Error('the GPT model has no quick GeGLU');
  return activation === 'squared-relu' ? 'squared_relu' : activation;
}

/** torchtitan's own model for experts, latent attention or llama-like blocks with another head size. */
function needsExpertModel(d: TransformerDims): boolean {
  const llamaBlock = d.activation === 'swiglu' && d.norm === 'rmsnorm' && d.positionEmbedding === 'rope';
  return (
    d.moe !== null ||
    d.mla !== null ||
    d.mtpLayers > 0 ||
    // Only its qwen3 model normalises queries and keys.
    d.qkNorm ||
    (llamaBlock && !d.bias && !d.dropout && d.headDim * d.heads !== d.hidden)
  );
}

/** The model torchtitan builds for a transformer, or why none of its models is the priced one. */
export function torchtitanModel(d: TransformerDims): TorchtitanModel {
  const window = slidingWindowSize(d);
  if (window !== null)
    return {
      kind: 'none',
      reason: `none of its models (llama3, qwen3, deepseek_v3) nor meshplan's GPT model attends through a sliding window, and the plan prices ${window}-token windows`,
    };
  if (d.activation === 'quick-geglu')
    return {
      kind: 'none',
      reason:
        "none of its models (llama3, qwen3, deepseek_v3) nor meshplan's GPT model has a quick GeGLU (model.activation, gpt-oss's)",
    };
  if (needsExpertModel(d)) {
    const model = expertModel(d);
    return typeof model === 'string' ? { kind: 'none', reason: model } : model;
  }
  if (!isLlama(d)) return { kind: 'gpt', args: gptArgs(d) };
  const flavor = Object.entries(SHIPPED).find(([, args]) => sameSize(args, d));
  if (flavor !== undefined) return { kind: 'shipped', flavor: flavor[0] };
  const ffn = llama3FfnArgs(d.hidden, d.ffnHidden);
  if (ffn === null) return { kind: 'gpt', args: gptArgs(d) };
  return {
    kind: 'llama3',
    args: llama3(d.hidden, d.layers, d.heads, d.kvHeads, d.vocab, ffn.multiple_of, ffn.ffn_dim_multiplier),
  };
}

export function modelSelection(model: TorchtitanModel): ModelSelection {
  switch (model.kind) {
    case 'shipped':
      return { name: 'llama3', flavor: model.flavor, customImport: null };
    case 'llama3':
      return { name: LLAMA3_MODULE, flavor: PLANNED_FLAVOR, customImport: LLAMA3_MODULE };
    case 'gpt':
      return { name: GPT_MODULE, flavor: PLANNED_FLAVOR, customImport: GPT_MODULE };
    case 'qwen3':
      return { name: QWEN3_MODULE, flavor: PLANNED_FLAVOR, customImport: QWEN3_MODULE };
    case 'deepseek_v3':
      return { name: DEEPSEEK_V3_MODULE, flavor: PLANNED_FLAVOR, customImport: DEEPSEEK_V3_MODULE };
    case 'none':
      throw new Error(`no torchtitan model to select: ${model.reason}`);
  }
}
