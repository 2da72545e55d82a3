/**
 * The `pretrain_gpt.py` arguments that define the model, so that Megatron-LM core_v0.19.0 builds the
 * model that was priced. Its defaults are GPT-2's, not Llama's (`TransformerConfig`, `gpt_builders.py`):
 * a learned absolute position table, biases on every linear layer, dropout 0.1, LayerNorm, GELU,
 * tied embeddings, an FFN of 4h, and a vocabulary padded to a multiple of 128 × tp. Every one of
 * them is therefore said explicitly.
 */
import type { MoeDims, TransformerDims } from '../../model/dims.ts';
import type { Arg } from './args.ts';

/** The model builder's dropout when a model has it: Megatron's own default probability. */
const DROPOUT = 0.1;

const NORMALIZATION = { layernorm: 'LayerNorm', rmsnorm: 'RMSNorm' } as const;
const POSITION_EMBEDDING = { learned: 'learned_absolute', rope: 'rope' } as const;

function attentionArgs(d: TransformerDims): Arg[] {
  const args: Arg[] = [['--num-attention-heads', d.heads]];
  // Megatron derives the head size as hidden / heads unless told (validate_args).
  if (d.headDim * d.heads !== d.hidden) args.push(['--kv-channels', d.headDim]);
  if (d.kvHeads !== d.heads) args.push(['--group-query-attention'], ['--num-query-groups', d.kvHeads]);
  // Eager attention as priced (separate score, softmax and dropout kernels); the default backend
  // picks a fused kernel, which is what the plan prices for flash attention.
  if (!d.flashAttention) args.push(['--attention-backend', 'unfused']);
  return args;
}

/**
 * Experts as priced: every block an MoE layer with `experts` FFNs of the dense FFN's size, top-k
 * routing with a fixed capacity per expert (tokens over capacity dropped, the rest padded to it:
 * the expert GEMMs run on exactly `capacity` slots). Megatron's capacity is
 * ceil(tokens · topK · capacityFactor / experts), the builder's. Expert parallelism is 1 and expert
 * tensor parallelism tp (Megatron's default), which is how the plan splits the experts' weights.
 */
function moeArgs(moe: MoeDims, tp: number, groupedGemm: boolean): Arg[] {
  const args: Arg[] = [
    ['--num-experts', moe.experts],
    ['--moe-router-topk', moe.topK],
    ['--expert-model-parallel-size', 1],
    ['--expert-tensor-parallel-size', tp],
    ['--moe-expert-capacity-factor', moe.capacityFactor],
    ['--moe-pad-expert-input-to-capacity'],
  ];
  if (groupedGemm) args.push(['--moe-grouped-gemm']);
  return args;
}

export interface ModelArgOptions {
  readonly tp: number;
  /** Grouped GEMM kernels run on compute capability 8.0 and newer only (validate_args). */
  readonly groupedGemm: boolean;
}

/** Every model-defining argument of `pretrain_gpt.py` for the priced model. */
export function modelArgs(d: TransformerDims, options: ModelArgOptions): Arg[] {
  const dropout = d.dropout ? DROPOUT : 0;
  const args: Arg[] = [
    ['--num-layers', d.layers],
    ['--hidden-size', d.hidden],
    ...attentionArgs(d),
    // Megatron's own FFN default (4h, or 8/3·h rounded to 64 with SwiGLU) differs from Llama's rule.
    ['--ffn-hidden-size', d.ffnHidden],
    ...(d.activation === 'swiglu' ? [['--swiglu'] as const] : []),
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
  if (d.moe !== null) args.push(...moeArgs(d.moe, options.tp, options.groupedGemm));
  return args;
}
