import { CROSS_ENTROPY_FLOPS_PER_LOGIT } from '../graph/kernels.ts';
import { DIM } from '../graph/letters.ts';
import type { OpGraphSpec } from '../schema/graph.ts';
import { HYBRID_LAYER_SYMBOLS } from '../schema/model.ts';
import { addAttention } from './attention.ts';
import { attentionWindow, blockDims, type TransformerDims } from './dims.ts';
import { addDenseMlp, addMoeMlp } from './ffn.ts';
import { LayerGraphBuilder } from './graph-builder.ts';
import { addMamba } from './mamba.ts';
import { addNorm } from './norm.ts';

const { batch: B, seq: S, keySeq: T, hidden: H, vocab: V } = DIM;
const BS = `${B}${S}`;
const BSH = `${B}${S}${H}`;

/** One pipeline-able unit of a model: the inter-op DP cuts stages between layers. */
export interface ModelLayer {
  /** 'embedding', 'block0' …, 'head'; also the prefix of every tensor and op it owns. */
  readonly name: string;
  readonly kind: 'embedding' | 'block' | 'head';
  /**
   * Valid by itself: the residual stream coming in is a plain tensor (not a parameter, written by
   * no op) named as the previous layer's output, so consecutive layers concatenate by name.
   */
  readonly graph: OpGraphSpec;
  /** The tensor carrying the residual stream into this layer; null for the embedding. */
  readonly input: string | null;
  /** The tensor this layer hands to the next one. */
  readonly output: string;
  /** Equal for layers whose graphs are identical up to names: one ILP solve serves them all. */
  readonly signature: string;
}

type UnsignedLayer = Omit<ModelLayer, 'signature'>;

/**
 * Token embedding `bs,vh->bsh`: int32 token ids × table, then dropout for GPT. It is a gather
 * (b·s·h copies, not 2·b·s·v·h FLOPs); splitting v leaves a partial output that an all-reduce
 * completes, which is Megatron's vocab-parallel embedding. GPT's learned position table (s·h
 * parameters) is added to it; rotary embeddings (Llama) have no parameters and cost a few FLOPs per
 * element of q and k, left out.
 */
function embeddingLayer(dims: TransformerDims): UnsignedLayer {
  const { microBatch: b, seqPerDevice: s, hidden: h, vocab: v } = dims;
  const builder = new LayerGraphBuilder('embedding', dims.dtype);
  const tokens = builder.activation('tokens', [b, s], 'int32');
  const table = builder.param('table', [v, h]);
  const looked = builder.activation(dims.positionEmbedding === 'learned' ? 'tokens_embedded' : 'embedded', [
    b,
    s,
    h,
  ]);
  builder.op('lookup', `${BS},${V}${H}->${BSH}`, [tokens, table], looked, {
    kind: 'embedding',
    flops: b * s * h,
  });
  let embedded = looked;
  if (dims.positionEmbedding === 'learned') {
    // GPT's learned absolute positions: a table over every position t of the sequence (seqLen × h
    // parameters), each device adding the rows of the tokens it holds.
    const positions = builder.param('position_table', [dims.seqLen, h]);
    embedded = builder.activation('embedded', [b, s, h]);
    // An add of gathered rows: it keeps nothing for backward and follows the lookup's layout.
    builder.op('position_add', `${BSH},${T}${H}->${BSH}`, [looked, positions], embedded, {
      kind: 'add',
      flops: b * s * h,
    });
  }
  const x = builder.dropout(dims.dropout, 'dropout', embedded, {
    local: 'x',
    letters: BSH,
    shape: [b, s, h],
  });
  return { name: 'embedding', kind: 'embedding', graph: builder.build(), input: null, output: x };
}

/**
 * One pre-norm transformer block, op for op as `examples/gpt-block.graph.json` for GPT: attention
 * and MLP each behind a norm (norm.ts) and added to the residual stream, with biases on the linear
 * layers where the model has them (GPT; SC'21 counts them: 13h of 12h² + 13h per block).
 */
function blockLayer(modelDims: TransformerDims, index: number, input: string): UnsignedLayer {
  const name = `block${index}`;
  const dims = blockDims(modelDims, index);
  const builder = new LayerGraphBuilder(name, dims.dtype);
  const x = builder.external(input, [dims.microBatch, dims.seqPerDevice, dims.hidden]);
  const y =
    dims.hybridPattern === null
      ? addBlock(builder, x, dims, index)
      : addHybridLayer(builder, x, dims, dims.hybridPattern[index]!);
  return { name, kind: 'block', graph: builder.build(), input, output: y };
}

/** Attention and MLP on `x`, each behind a norm and added to the residual stream; returns the output. */
function addBlock(builder: LayerGraphBuilder, x: string, dims: TransformerDims, index: number): string {
  const { microBatch: b, seqPerDevice: s, hidden: h } = dims;
  const attnOut = addAttention(builder, x, dims, attentionWindow(dims, index));
  const resid1 = builder.activation('resid1', [b, s, h]);
  builder.op('residual1', `${BSH},${BSH}->${BSH}`, [x, attnOut], resid1, { kind: 'add' });
  // DeepSeek-V3's first blocks are dense; every other block of an MoE model routes.
  const dense = dims.moe === null || index < dims.moe.denseLayers;
  return addMlpSublayer(builder, resid1, dims, dense ? 'mlp' : 'moe', 'residual2');
}

/**
 * The MLP (or MoE) half of a block on `x`: behind Megatron's pre_mlp_layernorm (its "layernorm"
 * recompute module, as the attention's norm is) and added to the residual stream by `residual`.
 */
function addMlpSublayer(
  builder: LayerGraphBuilder,
  x: string,
  dims: TransformerDims,
  kind: 'mlp' | 'moe',
  residual: string,
): string {
  const { microBatch: b, seqPerDevice: s, hidden: h } = dims;
  const xNorm = builder.within('layernorm', () =>
    addNorm(builder, { op: 'ln2', scale: 'ln2_scale', shift: 'ln2_shift', output: 'x_norm2' }, x, dims),
  );
  const mlpOut =
    kind === 'mlp'
      ? builder.within('mlp', () => addDenseMlp(builder, xNorm, dims))
      : builder.within('moe', () => addMoeMlp(builder, xNorm, dims));
  const dropped = builder.dropout(dims.dropout, 'mlp_dropout', mlpOut, {
    local: 'mlp_dropped',
    letters: BSH,
    shape: [b, s, h],
  });
  const y = builder.activation('y', [b, s, h]);
  builder.op(residual, `${BSH},${BSH}->${BSH}`, [x, dropped], y, { kind: 'add' });
  return y;
}

/**
 * One layer of a hybrid model (TransformerSpec.hybridPattern): a single mixer behind its own norm,
 * added to the residual stream — a Mamba-2 mixer (M), attention (*), an MLP (-) or an MoE (E) — as
 * Megatron-Core's hybrid stack builds its MambaLayer and TransformerLayers of one submodule each.
 */
function addHybridLayer(
  builder: LayerGraphBuilder,
  x: string,
  dims: TransformerDims,
  symbol: string,
): string {
  const { microBatch: b, seqPerDevice: s, hidden: h } = dims;
  if (symbol === HYBRID_LAYER_SYMBOLS.mlp) return addMlpSublayer(builder, x, dims, 'mlp', 'residual');
  if (symbol === HYBRID_LAYER_SYMBOLS.moe) return addMlpSublayer(builder, x, dims, 'moe', 'residual');
  // MambaLayer adds its mixer's output through bias-dropout-add at the hidden dropout (mamba_layer.py,
  // core_v0.19.0); attention drops its output out itself.
  const branch =
    symbol === HYBRID_LAYER_SYMBOLS.mamba
      ? builder.dropout(dims.dropout, 'mixer_dropout', addMamba(builder, x, dims), {
          local: 'mixer_dropped',
          letters: BSH,
          shape: [b, s, h],
        })
      : addAttention(builder, x, dims, null);
  const y = builder.activation('y', [b, s, h]);
  builder.op('residual', `${BSH},${BSH}->${BSH}`, [x, branch], y, { kind: 'add' });
  return y;
}

/**
 * Final norm, LM head and loss (and DeepSeek-V3's multi-token prediction modules after them).
 * The loss contracts v without reducedDims: a partial sum over a split v is exactly what
 * vocab-parallel cross-entropy all-reduces (its max and its sum of exponentials, b·s numbers each).
 * With tied embeddings the head still owns a `table` parameter of the embedding's shape: a pipeline
 * keeps a copy of the shared table on its last stage and all-reduces the two gradients, as
 * Megatron-LM does. `TransformerModel.tied` names the pair so it is counted once.
 */
function headLayer(dims: TransformerDims, input: string): UnsignedLayer {
  const { microBatch: b, seqPerDevice: s, hidden: h, vocab: v } = dims;
  const builder = new LayerGraphBuilder('head', dims.dtype);
  const x = builder.external(input, [b, s, h]);
  const table = builder.param('table', [v, h]);
  const main = { op: 'final_norm', scale: 'norm_scale', shift: 'norm_shift', output: 'x_norm' };
  let loss = addLoss(builder, addNorm(builder, main, x, dims), table, dims, '');
  for (let i = 0; i < dims.mtpLayers; i++) loss = addMtp(builder, x, table, loss, dims, i);
  return { name: 'head', kind: 'head', graph: builder.build(), input, output: loss };
}

/** LM head `bsh,vh->bsv` and per-token cross-entropy `bsv,bs->bs` against int32 labels. */
function addLoss(
  builder: LayerGraphBuilder,
  xNorm: string,
  table: string,
  dims: TransformerDims,
  p: string,
): string {
  const { microBatch: b, seqPerDevice: s, vocab: v } = dims;
  const logits = builder.activation(`${p}logits`, [b, s, v]);
  builder.op(`${p}lm_head`, `${BSH},${V}${H}->${BS}${V}`, [xNorm, table], logits, { kind: 'matmul' });
  const labels = builder.activation(`${p}labels`, [b, s], 'int32');
  const loss = builder.activation(`${p}loss`, [b, s], 'fp32');
  builder.op(`${p}cross_entropy`, `${BS}${V},${BS}->${BS}`, [logits, labels], loss, {
    kind: 'loss',
    flops: CROSS_ENTROPY_FLOPS_PER_LOGIT * b * s * v,
  });
  return loss;
}

/**
 * One of DeepSeek-V3's multi-token prediction modules (they sit with the head, as Megatron places
 * them): the main model's last hidden state and the next token's embedding, each normed, projected
 * together (2h → h), one more block, and the shared LM head's loss for the token after. The next
 * token's embedding enters as an input (a gather of b·s·h from the shared table).
 */
function addMtp(
  builder: LayerGraphBuilder,
  hidden: string,
  table: string,
  previousLoss: string,
  dims: TransformerDims,
  i: number,
): string {
  const { microBatch: b, seqPerDevice: s, hidden: h } = dims;
  const p = `mtp${i}_`;
  // A repeated module's depths run the first depth's weights: they are named after it.
  const w = dims.mtpRepeatedLayer ? 'mtp0_' : p;
  const norm = (what: string, x: string) =>
    addNorm(
      builder,
      {
        op: `${p}${what}_norm`,
        scale: `${w}${what}_scale`,
        shift: `${w}${what}_shift`,
        output: `${p}${what}_normed`,
      },
      x,
      dims,
    );
  const embedded = builder.activation(`${p}next_embedded`, [b, s, h]);
  const project = (what: string, x: string) => {
    const weight = builder.param(`w_${w}${what}_proj`, [h, h]);
    const out = builder.activation(`${p}${what}_projected`, [b, s, h]);
    builder.op(`${p}${what}_proj`, `${BSH},${H}${DIM.projected}->${BS}${DIM.projected}`, [x, weight], out, {
      kind: 'matmul',
    });
    return out;
  };
  const joined = builder.activation(`${p}joined`, [b, s, h]);
  builder.op(
    `${p}join`,
    `${BSH},${BSH}->${BSH}`,
    [project('hidden', norm('hidden', hidden)), project('token', norm('token', embedded))],
    joined,
    { kind: 'add' },
  );
  const block = new LayerGraphBuilder(
    `${builder.prefix}.${p}block`,
    dims.dtype,
    `${builder.prefix}.${w}block`,
  );
  const y = addBlock(block, block.external(joined, [b, s, h]), dims, dims.layers);
  builder.absorb(block);
  const loss = addLoss(builder, norm('final', y), table, dims, p);
  // The step's loss adds each module's, weighted (the weight is a scalar: no FLOPs worth counting).
  const total = builder.activation(`${p}total_loss`, [b, s], 'fp32');
  builder.op(`${p}loss_add`, `${BS},${BS}->${BS}`, [previousLoss, loss], total, { kind: 'add' });
  return total;
}

/** Every layer of the model in order, each reading the previous one's output. */
export function modelLayers(dims: TransformerDims): UnsignedLayer[] {
  const layers = [embeddingLayer(dims)];
  for (let i = 0; i < dims.layers; i++) layers.push(blockLayer(dims, i, layers.at(-1)!.output));
  layers.push(headLayer(dims, layers.at(-1)!.output));
  return layers;
}
