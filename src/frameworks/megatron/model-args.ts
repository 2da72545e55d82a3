/**
 * The `pretrain_gpt.py` (and `pretrain_hybrid.py`) arguments that define the model, so that
 * Megatron-LM core_v0.19.0 builds the model that was priced. Its defaults are GPT-2's, not Llama's
 * (`TransformerConfig`, `gpt_builders.py`): a learned absolute position table, biases on every
 * linear layer, dropout 0.1, LayerNorm, GELU, tied embeddings, an FFN of 4h, and a vocabulary padded
 * to a multiple of 128 × tp. Every one of them is therefore said explicitly.
 */
import { type MlaDims, type MoeDims, slidingWindowSize, type TransformerDims } from '../../model/dims.ts';
import type { Activation } from '../../schema/index.ts';
import type { Arg } from './args.ts';
import { HYBRID_STACK_SPEC, mambaArgs } from './hybrid-args.ts';

/** The model builder's dropout when a model has it: Megatron's own default probability. */
const DROPOUT = 0.1;

const NORMALIZATION = { layernorm: 'LayerNorm', rmsnorm: 'RMSNorm' } as const;
const POSITION_EMBEDDING = { learned: 'learned_absolute', rope: 'rope' } as const;

/**
 * Multi-latent attention (MLATransformerConfig): the low-rank query (omitted: queries projected
 * directly) and key/value latents, the per-head query/key split into a part without and a part
 * with rotary embedding, and the value head. Megatron's MLA rotates with YaRN by default, which at
 * its default scaling factor 1.0 is plain RoPE: the model priced.
 */
function mlaArgs(mla: MlaDims): Arg[] {
  return [
    ['--multi-latent-attention'],
    ...(mla.qLoraRank === null ? [] : [['--q-lora-rank', mla.qLoraRank] as const]),
    ['--kv-lora-rank', mla.kvLoraRank],
    ['--qk-head-dim', mla.qkNopeHeadDim],
    ['--qk-pos-emb-head-dim', mla.qkRopeHeadDim],
    ['--v-head-dim', mla.vHeadDim],
  ];
}

function attentionArgs(d: TransformerDims): Arg[] {
  const args: Arg[] = [['--num-attention-heads', d.heads]];
  if (d.mla !== null) {
    args.push(...mlaArgs(d.mla));
    // MLA's head sizes are its own; validate_args still derives kv_channels and needs it whole.
    if (d.hidden % d.heads !== 0) args.push(['--kv-channels', d.mla.vHeadDim]);
  } else {
    // Megatron derives the head size as hidden / heads unless told (validate_args).
    if (d.headDim * d.heads !== d.hidden) args.push(['--kv-channels', d.headDim]);
    if (d.kvHeads !== d.heads) args.push(['--group-query-attention'], ['--num-query-groups', d.kvHeads]);
  }
  // Eager attention as priced (separate score, softmax and dropout kernels); the default backend
  // picks a fused kernel, which is what the plan prices for flash attention. FlashAttention-2 is the
  // flash-attn package's kernels, which the `flash` backend runs through Transformer Engine.
  if (!d.flashAttention) args.push(['--attention-backend', 'unfused']);
  else if (d.flashAttention2) args.push(['--attention-backend', 'flash']);
  args.push(...windowArgs(d));
  // gpt-oss's sinks: a learned logit per head in the softmax (TEDotProductAttention, TE 2.8 or later).
  if (d.attentionSinks) args.push(['--softmax-type', 'learnable']);
  // Qwen3's per-head norms of q and k (SelfAttention's q_layernorm and k_layernorm).
  if (d.qkNorm) args.push(['--qk-layernorm']);
  return args;
}

/**
 * Sliding-window attention, where the window is shorter than the sequence (a longer one windows
 * nothing and is priced as full attention): --window-size is Transformer Engine's (left, right)
 * window, a query seeing `left` keys before it and itself (so size − 1, 0); --window-attn-skip-freq N
 * makes every N-th layer attend fully (transformer/utils.py is_layer_window_attention).
 */
function windowArgs(d: TransformerDims): Arg[] {
  const size = slidingWindowSize(d);
  if (size === null) return [];
  const every = d.slidingWindow?.fullAttentionEvery ?? null;
  return [
    ['--window-size', `${size - 1},0`],
    ...(every === null ? [] : [['--window-attn-skip-freq', every] as const]),
  ];
}

/**
 * The MLP's activation: Megatron's default is GELU; --swiglu is the SiLU-gated unit, --quick-geglu
 * the one gated by x·σ(1.702·x) and --squared-relu relu(x)². GeGLU has no argument (the rules
 * refuse it).
 */
const ACTIVATION_ARGS: Readonly<Record<Activation, readonly Arg[]>> = {
  gelu: [],
  swiglu: [['--swiglu']],
  'quick-geglu': [['--quick-geglu']],
  'squared-relu': [['--squared-relu']],
  geglu: [],
};

/**
 * A gated activation's clamp and offset, and whether it runs fused: priced unfused, as eager PyTorch
 * runs it, Megatron fuses it unless told not to (--no-bias-swiglu-fusion for SwiGLU; the quick GeGLU
 * follows the bias-GELU fusion, argument_utils.py core_v0.19.0).
 */
function gatedActivationArgs(d: TransformerDims): Arg[] {
  const args: Arg[] = [];
  if (!d.activationFusion && d.activation === 'swiglu') args.push(['--no-bias-swiglu-fusion']);
  if (!d.activationFusion && d.activation === 'quick-geglu') args.push(['--no-bias-gelu-fusion']);
  if (d.activationClamp !== null) args.push(['--activation-func-clamp-value', d.activationClamp]);
  if (d.gluLinearOffset !== 0) args.push(['--glu-linear-offset', d.gluLinearOffset]);
  return args;
}

/**
 * `--moe-layer-freq` as a Python list expression (Megatron evaluates digits, brackets, + and *):
 * the leading dense blocks, then MoE blocks.
 */
export function moeLayerPattern(layers: number, denseLayers: number): string {
  return `([0]*${denseLayers}+[1]*${layers - denseLayers})`;
}

/**
 * Experts as priced: `experts` routed FFNs of moe.ffnHidden per MoE block, top-k routing, shared
 * experts as one FFN of their summed size on every token, and the first `denseLayers` blocks dense
 * with the model's FFN. Dropless routing takes no capacity; otherwise each expert takes a fixed
 * capacity ceil(tokens · topK · capacityFactor / experts) (tokens over it dropped, the rest padded
 * to it). With ep > 1 tokens go to their experts' ranks by the planned dispatcher (alltoall, or flex
 * on HybridEP); at ep = 1 the default allgather dispatcher gathers the
 * sequence-parallel tokens.
 */
function moeArgs(d: TransformerDims, moe: MoeDims, parallel: ModelArgOptions): Arg[] {
  const args: Arg[] = [
    ['--num-experts', moe.experts],
    ['--moe-ffn-hidden-size', moe.ffnHidden],
    ['--moe-router-topk', moe.topK],
    ['--expert-model-parallel-size', parallel.ep],
    ['--expert-tensor-parallel-size', parallel.etp],
  ];
  // TransformerConfig: a softmax over one chosen expert has no gradient, so top-1 routing
  // takes the softmax before the top-k.
  if (moe.topK === 1) args.push(['--moe-router-pre-softmax']);
  if (moe.sharedExperts > 0) {
    args.push(['--moe-shared-expert-intermediate-size', moe.sharedExperts * moe.sharedFfnHidden]);
  }
  // The routed experts' latent width: Megatron-Core's fc1/fc2_latent_proj around them (moe_layer.py).
  if (moe.latentSize !== null) args.push(['--moe-latent-size', moe.latentSize]);
  // The squared ReLU and the router's weight as the one kernel the plan prices (experts.py,
  // core_v0.19.0); without the flag Megatron runs them as two, keeping the ReLU's output too.
  if (d.activation === 'squared-relu' && d.activationFusion && moe.routerWeights === 'activation' && !d.bias)
    args.push(['--use-fused-weighted-squared-relu']);
  if (moe.denseLayers > 0) args.push(['--moe-layer-freq', moeLayerPattern(d.layers, moe.denseLayers)]);
  if (!moe.dropless) {
    args.push(['--moe-expert-capacity-factor', moe.capacityFactor], ['--moe-pad-expert-input-to-capacity']);
  }
  if (parallel.ep > 1) args.push(['--moe-token-dispatcher-type', moe.dispatcher]);
  // The flex dispatcher on HybridEP, as priced: it sends a token once to each other node holding one
  // of its experts, all-gathering the routing maps first, and unlike DeepEP (the default backend)
  // spans a multi-node NVLink domain (TransformerConfig, core_v0.19.0) such as an NVL72 rack.
  if (parallel.ep > 1 && moe.dispatcher === 'flex') args.push(['--moe-flex-dispatcher-backend', 'hybridep']);
  if (parallel.groupedGemm) args.push(['--moe-grouped-gemm']);
  return args;
}

export interface ModelArgOptions {
  /** Expert-parallel ranks. */
  readonly ep: number;
  /** Tensor-parallel ranks inside each expert. */
  readonly etp: number;
  /** Grouped GEMM kernels run on compute capability 8.0 and newer only (validate_args). */
  readonly groupedGemm: boolean;
}

/**
 * A hybrid model's own arguments besides its pattern (hybrid-args.ts): the stack's module spec and,
 * where the pattern has Mamba layers, their mixers' sizes. There is no --num-layers: validate_args
 * counts the pattern's layers and would only warn about, then override, another count.
 */
function hybridArgs(d: TransformerDims): Arg[] {
  return [['--spec', ...HYBRID_STACK_SPEC], ...(d.mamba === null ? [] : mambaArgs(d.mamba))];
}

/**
 * Every model-defining argument of `pretrain_gpt.py` (or `pretrain_hybrid.py` for a hybrid model,
 * whose layer pattern the pipeline arguments write) for the priced model.
 */
export function modelArgs(d: TransformerDims, options: ModelArgOptions): Arg[] {
  const dropout = d.dropout ? DROPOUT : 0;
  const args: Arg[] = [
    ...(d.hybridPattern === null ? [['--num-layers', d.layers] as const] : hybridArgs(d)),
    ['--hidden-size', d.hidden],
    ...attentionArgs(d),
    // Megatron's own FFN default (4h, or 8/3·h rounded to 64 with SwiGLU) differs from Llama's rule.
    ['--ffn-hidden-size', d.ffnHidden],
    ...ACTIVATION_ARGS[d.activation],
    ...gatedActivationArgs(d),
    ['--normalization', NORMALIZATION[d.norm]],
    ['--position-embedding-type', POSITION_EMBEDDING[d.positionEmbedding]],
    ['--seq-length', d.seqLen],
    ['--max-position-embeddings', d.seqLen],
    ...(d.bias ? [] : [['--disable-bias-linear'] as const]),
    ['--attention-dropout', dropout],
    ['--hidden-dropout', dropout],
    ...(d.tiedEmbeddings ? [] : [['--untie-embeddings-and-output-weights'] as const]),
    // The embedding and output layer get exactly `vocab` rows, whatever the tokenizer's size
    // (without it Megatron pads the tokenizer's vocabulary to a multiple of 128 × tp).
    ['--padded-vocab-size', d.vocab],
  ];
  if (d.moe !== null) args.push(...moeArgs(d, d.moe, options));
  // Multi-token prediction modules after the last block (Megatron puts them in the last stage).
  if (d.mtpLayers > 0) args.push(['--mtp-num-layers', d.mtpLayers]);
  // One module run at every depth (MultiTokenPredictionBlock builds a single layer and reuses it).
  if (d.mtpLayers > 0 && d.mtpRepeatedLayer) args.push(['--mtp-use-repeated-layer']);
  return args;
}

/**
 * The blocks priced with bf16 GEMMs (training.bf16Layers), counted over the model as get_fp8_context
 * and get_fp4_context count them; both counts are written, since TransformerConfig's start count
 * defaults to 1.
 */
export function bf16LayerArgs(dims: TransformerDims): Arg[] {
  const { first, last } = dims.bf16Layers;
  if (first === 0 && last === 0) return [];
  return [
    ['--first-last-layers-bf16'],
    ['--num-layers-at-start-in-bf16', first],
    ['--num-layers-at-end-in-bf16', last],
  ];
}
