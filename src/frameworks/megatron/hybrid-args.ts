/**
 * The `pretrain_hybrid.py` arguments that only a hybrid model (TransformerSpec.hybridPattern) takes,
 * as Megatron-LM core_v0.19.0 reads them: the layer pattern, cut at `|` into the plan's pipeline
 * segments (validate_args derives the layer count and the virtual stages from it), the module spec
 * of the hybrid stack, and the Mamba-2 mixers' sizes (TransformerConfig.mamba_*). Attention, MLP
 * and MoE layers take the GPT model's arguments (model-args.ts).
 */
import type { MambaDims, TransformerDims } from '../../model/dims.ts';
import { HYBRID_LAYER_SYMBOLS } from '../../schema/index.ts';
import type { Arg } from './args.ts';
import { hybridSegments } from './pipeline.ts';

/**
 * `--spec`: the module and variable of hybrid_layer_specs.py's training stack (Transformer Engine
 * layers, grouped-GEMM experts); hybrid_builders.py refuses to build without one.
 */
export const HYBRID_STACK_SPEC = [
  'megatron.core.models.hybrid.hybrid_layer_specs',
  'hybrid_stack_spec',
] as const;

/** Megatron's symbol for a multi-latent attention layer (hybrid_layer_allocation.py Symbols.MLA). */
const MLA_LAYER = '+';

/**
 * The pattern as Megatron spells the priced layers: its `*` layers are plain self-attention, so a
 * model with multi-latent attention writes them as MLA layers, which build the MLA the plan prices.
 */
function megatronPattern(d: TransformerDims, pattern: string): string {
  return d.mla === null ? pattern : pattern.replaceAll(HYBRID_LAYER_SYMBOLS.attention, MLA_LAYER);
}

/**
 * `--hybrid-layer-pattern` with the stages' blocks: on pp > 1 every virtual stage its own segment,
 * so that no other pipeline argument is needed (validate_args forbids them with a pattern) and no
 * deprecated pipe-free split is left to Megatron.
 */
export function hybridPatternArg(d: TransformerDims, blocks: readonly number[], virtualStages: number): Arg {
  const pattern = megatronPattern(d, d.hybridPattern!);
  const main = hybridSegments(pattern, blocks, virtualStages).join('|');
  return ['--hybrid-layer-pattern', `${main}${mtpPatterns(d)}`];
}

/**
 * Multi-token prediction in the unified pattern: one `/`-separated pattern a depth (validate_args
 * infers --mtp-num-layers from their count), each the block the plan prices for a module — attention
 * then the MoE (the MLP without experts), Nemotron 3's "*E". Each depth has weights of its own,
 * unless the model repeats one module (--mtp-use-repeated-layer, model-args.ts): Megatron then builds
 * the first depth's block once and runs it at every depth.
 */
function mtpPatterns(d: TransformerDims): string {
  if (d.mtpLayers === 0) return '';
  const block = megatronPattern(
    d,
    `${HYBRID_LAYER_SYMBOLS.attention}${d.moe === null ? HYBRID_LAYER_SYMBOLS.mlp : HYBRID_LAYER_SYMBOLS.moe}`,
  );
  return `/${block}`.repeat(d.mtpLayers);
}

/**
 * The Mamba-2 mixers' sizes, each said: Megatron's defaults (state 128, head 64, 8 groups) are
 * Nemotron-H's, and without --mamba-num-heads it derives the heads from 2 · hidden / headDim.
 * The convolution's taps and the scan's chunk have no argument (the rules refuse other sizes).
 */
export function mambaArgs(m: MambaDims): Arg[] {
  return [
    ['--mamba-num-heads', m.heads],
    ['--mamba-head-dim', m.headDim],
    ['--mamba-state-dim', m.stateDim],
    ['--mamba-num-groups', m.groups],
  ];
}
