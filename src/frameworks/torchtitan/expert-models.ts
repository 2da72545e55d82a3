/**
 * torchtitan v0.2.2's own models for what its llama3 cannot build: mixtures of experts
 * (models/moe/moe.py, used by its qwen3 and deepseek_v3 models) and multi-head latent attention
 * (models/deepseek_v3). meshplan registers a flavor of the one that builds the priced model, so
 * torchtitan parallelises it with its own expert- and context-parallel plans.
 */
import type { TransformerDims } from '../../model/dims.ts';

/** `MoEArgs` (models/moe/moe.py): the fields that size or route the experts. */
export interface MoeArgs {
  readonly num_experts: number;
  /** torchtitan's shared experts are one SwiGLU FFN of moe_inter_dim · num_shared_experts. */
  readonly num_shared_experts: number;
  readonly top_k: number;
  readonly score_func: 'softmax';
  readonly route_norm: boolean;
  readonly score_before_experts: boolean;
  /** torch._grouped_mm over the local experts (SM90 or later), as the plan prices them. */
  readonly use_grouped_mm: boolean;
}

/** `Qwen3ModelArgs` (models/qwen3/model/args.py): grouped-query attention with its own head size. */
export interface Qwen3Args {
  readonly dim: number;
  readonly n_layers: number;
  readonly n_heads: number;
  readonly n_kv_heads: number;
  readonly head_dim: number;
  readonly hidden_dim: number;
  readonly vocab_size: number;
  /** Qwen3's per-head RMSNorm of q and k, as the priced model has it or not (TransformerSpec.qkNorm). */
  readonly qk_norm: boolean;
  readonly enable_weight_tying: boolean;
  readonly moe_enabled: boolean;
  readonly moe_inter_dim: number;
  readonly moe_args: MoeArgs | null;
}

/** `DeepSeekV3ModelArgs` (models/deepseek_v3/model/args.py): MLA, leading dense blocks, MoE. */
export interface DeepSeekV3Args {
  readonly vocab_size: number;
  readonly dim: number;
  readonly inter_dim: number;
  readonly moe_inter_dim: number;
  readonly n_layers: number;
  readonly n_dense_layers: number;
  readonly n_heads: number;
  readonly moe_args: MoeArgs | null;
  /** 0: queries projected directly. */
  readonly q_lora_rank: number;
  readonly kv_lora_rank: number;
  readonly qk_nope_head_dim: number;
  readonly qk_rope_head_dim: number;
  readonly v_head_dim: number;
  /** SDPA, the attention torchtitan's context parallelism runs (its shipped flavors use flex). */
  readonly attn_type: 'sdpa';
}

export type ExpertModel =
  | { readonly kind: 'qwen3'; readonly args: Qwen3Args }
  | { readonly kind: 'deepseek_v3'; readonly args: DeepSeekV3Args };

/** What the priced model has that torchtitan's qwen3 and deepseek_v3 blocks have not. */
function notLlamaBlock(d: TransformerDims): string | null {
  const traits: [boolean, string][] = [
    [d.activation !== 'swiglu', `a ${d.activation} FFN (their FFNs and experts are SwiGLU)`],
    [d.norm !== 'rmsnorm', 'LayerNorm (they use RMSNorm)'],
    [d.positionEmbedding !== 'rope', 'a learned position table (they use RoPE)'],
    [d.bias, 'biases on the linear layers'],
    [d.dropout, 'dropout'],
  ];
  const found = traits.filter(([has]) => has).map(([, name]) => name);
  return found.length === 0 ? null : found.join(', ');
}

/**
 * torchtitan's MoE layer, or why it is not the priced one: it is dropless (every token reaches its
 * top-k experts, no capacity), and its shared experts are one FFN num_shared_experts times as wide
 * as a routed expert.
 */
function moeArgs(d: TransformerDims): MoeArgs | string {
  const moe = d.moe;
  if (moe === null) throw new Error('moeArgs needs a mixture of experts');
  if (!moe.dropless) {
    return `its MoE layers (models/moe/moe.py) are dropless, routing every token to its top ${moe.topK} experts with no capacity limit, while the planned model pads each expert to capacity factor ${moe.capacityFactor} and drops the tokens beyond it (set moe.dropless)`;
  }
  const sharedWidth = moe.sharedExperts * moe.sharedFfnHidden;
  if (sharedWidth % moe.ffnHidden !== 0) {
    return `its shared experts are one FFN a whole number of routed experts wide (moe_inter_dim ${moe.ffnHidden} · num_shared_experts), and the planned ones are ${moe.sharedExperts} × ${moe.sharedFfnHidden} wide`;
  }
  return {
    num_experts: moe.experts,
    num_shared_experts: sharedWidth / moe.ffnHidden,
    top_k: moe.topK,
    // The routing function and its weights are not priced; these are torchtitan's DeepSeek choices.
    score_func: 'softmax',
    route_norm: false,
    score_before_experts: false,
    use_grouped_mm: true,
  };
}

/**
 * The torchtitan model of a transformer with experts, latent attention or a head size other than
 * hidden / heads (which llama3 derives); a reason when none of them is the priced model.
 */
export function expertModel(d: TransformerDims): ExpertModel | string {
  if (d.mtpLayers > 0) {
    return `it has no multi-token prediction modules (models/deepseek_v3 at v0.2.2), and the planned model has ${d.mtpLayers}`;
  }
  const block = notLlamaBlock(d);
  if (block !== null) {
    return `its models with ${d.mla !== null ? 'latent attention' : 'experts'} (qwen3, deepseek_v3) have none of ${block}`;
  }
  const moe = d.moe === null ? null : moeArgs(d);
  if (typeof moe === 'string') return moe;
  if (d.mla !== null) {
    if (d.tiedEmbeddings) return 'its deepseek_v3 model has separate embedding and output tables';
    const mla = d.mla;
    return {
      kind: 'deepseek_v3',
      args: {
        vocab_size: d.vocab,
        dim: d.hidden,
        inter_dim: d.ffnHidden,
        moe_inter_dim: d.moe?.ffnHidden ?? d.ffnHidden,
        n_layers: d.layers,
        n_dense_layers: d.moe === null ? d.layers : d.moe.denseLayers,
        n_heads: d.heads,
        moe_args: moe,
        q_lora_rank: mla.qLoraRank ?? 0,
        kv_lora_rank: mla.kvLoraRank,
        qk_nope_head_dim: mla.qkNopeHeadDim,
        qk_rope_head_dim: mla.qkRopeHeadDim,
        v_head_dim: mla.vHeadDim,
        attn_type: 'sdpa',
      },
    };
  }
  if (d.moe !== null && d.moe.denseLayers > 0) {
    return `its qwen3 model puts experts in every block, and deepseek_v3 (which has leading dense blocks) attends with MLA: ${d.moe.denseLayers} leading dense blocks with grouped-query attention are neither`;
  }
  return {
    kind: 'qwen3',
    args: {
      dim: d.hidden,
      n_layers: d.layers,
      n_heads: d.heads,
      n_kv_heads: d.kvHeads,
      head_dim: d.headDim,
      hidden_dim: d.ffnHidden,
      vocab_size: d.vocab,
      qk_norm: d.qkNorm,
      enable_weight_tying: d.tiedEmbeddings,
      moe_enabled: d.moe !== null,
      moe_inter_dim: d.moe?.ffnHidden ?? d.ffnHidden,
      moe_args: moe,
    },
  };
}
