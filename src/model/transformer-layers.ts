import { CROSS_ENTROPY_FLOPS_PER_LOGIT } from '../graph/kernels.ts';
import { DIM } from '../graph/letters.ts';
import type { OpGraphSpec } from '../schema/graph.ts';
import { addAttention } from './attention.ts';
import type { TransformerDims } from './dims.ts';
import { addDenseMlp, addMoeMlp } from './ffn.ts';
import { LayerGraphBuilder } from './graph-builder.ts';

const { batch: B, seq: S, hidden: H, vocab: V } = DIM;
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
 * completes, which is Megatron's vocab-parallel embedding. Position embeddings are not modelled
 * (RoPE has no parameters; GPT's learned table adds s·h parameters, under 1.3% even for GPT-3 125M).
 */
function embeddingLayer(dims: TransformerDims): UnsignedLayer {
  const { microBatch: b, seqLen: s, hidden: h, vocab: v } = dims;
  const builder = new LayerGraphBuilder('embedding', dims.precision);
  const tokens = builder.activation('tokens', [b, s], 'int32');
  const table = builder.param('table', [v, h]);
  const embedded = builder.activation('embedded', [b, s, h]);
  builder.op('lookup', `${BS},${V}${H}->${BSH}`, [tokens, table], embedded, {
    kind: 'embedding',
    flops: b * s * h,
  });
  const x = builder.dropout(dims.dropout, 'dropout', embedded, {
    local: 'x',
    letters: BSH,
    shape: [b, s, h],
  });
  return { name: 'embedding', kind: 'embedding', graph: builder.build(), input: null, output: x };
}

/**
 * One pre-norm transformer block, op for op as `examples/gpt-block.graph.json` for GPT: attention
 * and MLP each behind a norm and added to the residual stream. LayerNorm and RMSNorm share one op
 * shape (`bsh,h->bsh` with a scale vector, reducing over h): their arithmetic differs by a few
 * FLOPs per element, far below the matmuls, and LayerNorm's shift vector (h parameters) and the
 * linear layers' biases are left out as in the example (SC'21 counts them: 13h of 12h² + 13h).
 */
function blockLayer(dims: TransformerDims, index: number, input: string): UnsignedLayer {
  const { microBatch: b, seqLen: s, hidden: h } = dims;
  const name = `block${index}`;
  const builder = new LayerGraphBuilder(name, dims.precision);
  const x = builder.external(input, [b, s, h]);
  const attnOut = addAttention(builder, x, dims);
  const resid1 = builder.activation('resid1', [b, s, h]);
  builder.op('residual1', `${BSH},${BSH}->${BSH}`, [x, attnOut], resid1, { kind: 'add' });

  const lnScale = builder.param('ln2_scale', [h]);
  const xNorm = builder.activation('x_norm2', [b, s, h]);
  builder.op('ln2', `${BSH},${H}->${BSH}`, [resid1, lnScale], xNorm, { kind: 'norm', reducedDims: [H] });
  const mlpOut = dims.moe === null ? addDenseMlp(builder, xNorm, dims) : addMoeMlp(builder, xNorm, dims);
  const dropped = builder.dropout(dims.dropout, 'mlp_dropout', mlpOut, {
    local: 'mlp_dropped',
    letters: BSH,
    shape: [b, s, h],
  });
  const y = builder.activation('y', [b, s, h]);
  builder.op('residual2', `${BSH},${BSH}->${BSH}`, [resid1, dropped], y, { kind: 'add' });
  return { name, kind: 'block', graph: builder.build(), input, output: y };
}

/**
 * Final norm, LM head `bsh,vh->bsv` and per-token cross-entropy `bsv,bs->bs` against int32 labels.
 * The loss contracts v without reducedDims: a partial sum over a split v is exactly what
 * vocab-parallel cross-entropy all-reduces (its max and its sum of exponentials, b·s numbers each).
 * With tied embeddings the head still owns a `table` parameter of the embedding's shape: a pipeline
 * keeps a copy of the shared table on its last stage and all-reduces the two gradients, as
 * Megatron-LM does. `TransformerModel.tied` names the pair so it is counted once.
 */
function headLayer(dims: TransformerDims, input: string): UnsignedLayer {
  const { microBatch: b, seqLen: s, hidden: h, vocab: v } = dims;
  const builder = new LayerGraphBuilder('head', dims.precision);
  const x = builder.external(input, [b, s, h]);
  const normScale = builder.param('norm_scale', [h]);
  const xNorm = builder.activation('x_norm', [b, s, h]);
  builder.op('final_norm', `${BSH},${H}->${BSH}`, [x, normScale], xNorm, { kind: 'norm', reducedDims: [H] });
  const table = builder.param('table', [v, h]);
  const logits = builder.activation('logits', [b, s, v]);
  builder.op('lm_head', `${BSH},${V}${H}->${BS}${V}`, [xNorm, table], logits, { kind: 'matmul' });
  const labels = builder.activation('labels', [b, s], 'int32');
  const loss = builder.activation('loss', [b, s], 'fp32');
  builder.op('cross_entropy', `${BS}${V},${BS}->${BS}`, [logits, labels], loss, {
    kind: 'loss',
    flops: CROSS_ENTROPY_FLOPS_PER_LOGIT * b * s * v,
  });
  return { name: 'head', kind: 'head', graph: builder.build(), input, output: loss };
}

/** Every layer of the model in order, each reading the previous one's output. */
export function modelLayers(dims: TransformerDims): UnsignedLayer[] {
  const layers = [embeddingLayer(dims)];
  for (let i = 0; i < dims.layers; i++) layers.push(blockLayer(dims, i, layers.at(-1)!.output));
  layers.push(headLayer(dims, layers.at(-1)!.output));
  return layers;
}
