import { DIM } from '../graph/letters.ts';
import type { Exchange } from '../schema/graph.ts';
import type { TransformerDims } from './dims.ts';
import type { LayerGraphBuilder } from './graph-builder.ts';
import { linear } from './linear.ts';
import { addMlaCore } from './mla.ts';
import { addNorm } from './norm.ts';

const { batch: B, seq: S, keySeq: T, hidden: H, headDim: D } = DIM;
const BSH = `${B}${S}${H}`;

/**
 * The head layout of the attention einsums. Multi-head attention keeps one head dim n; grouped-query
 * attention splits it into g key/value heads × r query heads each, so that sharding g (Megatron's
 * tensor parallelism over KV heads) keeps every query head next to the keys and values it reads.
 */
export interface HeadLayout {
  /** Letters of the query heads (n, or g then r). */
  readonly query: string;
  /** Letters of the key/value heads (n, or g). */
  readonly kv: string;
  readonly querySizes: readonly number[];
  readonly kvSizes: readonly number[];
}

function headLayout(dims: TransformerDims): HeadLayout {
  const { heads, kvHeads, groupSize } = dims;
  // With r = 1 the GQA einsums would carry a size-1 dim: MHA's layout says the same thing plainly.
  return kvHeads === heads
    ? { query: DIM.heads, kv: DIM.heads, querySizes: [heads], kvSizes: [heads] }
    : {
        query: `${DIM.kvHeads}${DIM.groupSize}`,
        kv: DIM.kvHeads,
        querySizes: [kvHeads, groupSize],
        kvSizes: [kvHeads],
      };
}

/**
 * What context parallelism's attention moves among its cp peers, by --cp-comm-type: the keys and
 * values (operands `keys`) around a ring or gathered, or every operand and the output all-to-all
 * (Ulysses: sequence-split to head-split and back).
 */
export function contextExchange(
  dims: TransformerDims,
  keys: readonly number[],
  operands: number,
): Exchange | undefined {
  const { degree, commType } = dims.contextParallel;
  if (degree <= 1) return undefined;
  if (commType === 'p2p') return { group: 'cp', kind: 'ring', operands: [...keys], output: false };
  if (commType === 'allgather')
    return { group: 'cp', kind: 'all-gather', operands: [...keys], output: false };
  const all = Array.from({ length: operands }, (_, i) => i);
  return { group: 'cp', kind: 'all-to-all', operands: all, output: true };
}

/** The q, k, v tensors attention reads, with their letters. */
export interface AttentionInputs {
  readonly query: string;
  readonly key: string;
  readonly value: string;
  readonly heads: HeadLayout;
  /** Letters of a value head (d, or w for multi-head latent attention). */
  readonly valueDim: string;
  readonly valueSize: number;
}

function addStandardProjections(
  builder: LayerGraphBuilder,
  xNorm: string,
  dims: TransformerDims,
): AttentionInputs {
  const { microBatch: b, seqPerDevice: s, hidden: h, headDim: d } = dims;
  const heads = headLayout(dims);
  const project = (name: 'q' | 'k' | 'v', letters: string, sizes: readonly number[]) => {
    const weight = builder.param(`w${name}`, [h, ...sizes, d]);
    const out = builder.activation(name, [b, s, ...sizes, d]);
    const outLetters = `${B}${S}${letters}${D}`;
    // Megatron-LM's linear_qkv: one module, its input cast once under a quantized precision.
    builder.op(
      `${name}_proj`,
      `${BSH},${H}${letters}${D}->${outLetters}`,
      [xNorm, weight],
      out,
      linear(dims, name === 'q' ? undefined : 'q_proj'),
    );
    const biased = builder.bias(dims.bias, `${name}_proj_bias`, out, {
      local: `${name}_biased`,
      letters: outLetters,
      shape: [b, s, ...sizes, d],
      biasLetters: `${letters}${D}`,
      biasShape: [...sizes, d],
    });
    return name === 'v' || !dims.qkNorm ? biased : headNorm(name, biased, outLetters, [b, s, ...sizes, d]);
  };
  /*
   * Qwen3's q and k norms (TransformerSpec.qkNorm): the model's norm over each head's d, one scale
   * shared by the heads (Megatron-Core's q_layernorm and k_layernorm, TENorm of kv_channels).
   */
  const headNorm = (name: 'q' | 'k', input: string, letters: string, shape: readonly number[]): string =>
    addNorm(
      builder,
      {
        op: `${name}_norm`,
        scale: `${name}_norm_scale`,
        shift: `${name}_norm_shift`,
        output: `${name}_normed`,
      },
      input,
      dims,
      { letters, shape, dim: D, size: d },
    );
  return {
    query: project('q', heads.query, heads.querySizes),
    key: project('k', heads.kv, heads.kvSizes),
    value: project('v', heads.kv, heads.kvSizes),
    heads,
    valueDim: D,
    valueSize: d,
  };
}

/**
 * Pre-norm self-attention on `x` (b, s, h): norm, q/k/v projections (or MLA's latents), scores,
 * softmax over the key position t, context, output projection, with dropout (when on) after the
 * softmax and on the output. Returns the branch (b, s, h) the caller adds to the residual stream.
 * With context parallelism s is this device's share of the sequence; its attention still reads every
 * key (the exchange brings them). Like SC'21's FLOP formula, the graph counts the full s × s score
 * matrix; the fused kernel is marked causal so that its price counts the half it performs, and the
 * eager core computes every score before masking (cost/attention-kernel.ts).
 */
export function addAttention(
  builder: LayerGraphBuilder,
  x: string,
  dims: TransformerDims,
  window: number | null,
): string {
  const { microBatch: b, seqPerDevice: s, hidden: h } = dims;
  // Megatron's input_layernorm: its "layernorm" recompute module.
  const xNorm = builder.within('layernorm', () =>
    addNorm(builder, { op: 'ln1', scale: 'ln1_scale', shift: 'ln1_shift', output: 'x_norm1' }, x, dims),
  );
  let context: string;
  let heads: HeadLayout;
  let W: string;
  let valueSize: number;
  if (dims.mla === null) {
    const inputs = addStandardProjections(builder, xNorm, dims);
    context = dims.flashAttention
      ? addFlashCore(builder, inputs, dims, window)
      : builder.within('core_attn', () => addEagerCore(builder, inputs, dims));
    ({ heads, valueDim: W, valueSize } = inputs);
  } else {
    context = addMlaCore(builder, xNorm, dims, contextExchange(dims, [2, 3, 4], 5)).context;
    heads = { query: DIM.heads, kv: DIM.heads, querySizes: [dims.heads], kvSizes: [dims.heads] };
    W = DIM.valueDim;
    valueSize = dims.mla.vHeadDim;
  }
  const { query: q, querySizes } = heads;
  const wo = builder.param('wo', [...querySizes, valueSize, h]);
  const out = builder.activation('attn_out', [b, s, h]);
  builder.op('out_proj', `${B}${S}${q}${W},${q}${W}${H}->${BSH}`, [context, wo], out, linear(dims));
  const biased = builder.bias(dims.bias, 'out_proj_bias', out, {
    local: 'attn_biased',
    letters: BSH,
    shape: [b, s, h],
    biasLetters: H,
    biasShape: [h],
  });
  return builder.dropout(dims.dropout, 'attn_out_dropout', biased, {
    local: 'attn_dropped',
    letters: BSH,
    shape: [b, s, h],
  });
}

/**
 * FlashAttention: scores, softmax, dropout and context in one kernel that never stores the s×s
 * matrix. Its backward recomputes the scores from q, k, v (kept by the contraction rule); the
 * FLOPs are the two contractions over every key of the sequence, 2·b·s·S·n·(d_qk + d_v), of which
 * a sliding `window` leaves the band it covers to perform (cost/attention-kernel.ts).
 */
function addFlashCore(
  builder: LayerGraphBuilder,
  inputs: AttentionInputs,
  dims: TransformerDims,
  window: number | null,
): string {
  const { microBatch: b, seqPerDevice: s, seqLen, heads, headDim } = dims;
  const { query: q, kv, querySizes } = inputs.heads;
  const W = inputs.valueDim;
  const context = builder.activation('context', [b, s, ...querySizes, inputs.valueSize]);
  const exchange = contextExchange(dims, [1, 2], 3);
  const sinks = attentionSinks(builder, dims, inputs.heads);
  builder.op(
    'attention',
    `${B}${S}${q}${D},${B}${T}${kv}${D},${B}${T}${kv}${W}${sinks === null ? '' : `,${q}`}->${B}${S}${q}${W}`,
    sinks === null
      ? [inputs.query, inputs.key, inputs.value]
      : [inputs.query, inputs.key, inputs.value, sinks],
    context,
    {
      kind: 'attention',
      // The einsum shows the layouts; the kernel also contracts d (q·k) and normalises over t.
      reducedDims: W === D ? [T, D] : [T, D, W],
      flops: 2 * b * s * seqLen * heads * (headDim + inputs.valueSize),
      causal: true,
      ...(window === null ? {} : { window }),
      ...(exchange === undefined ? {} : { exchange }),
    },
  );
  return context;
}

/**
 * gpt-oss's attention sinks (TransformerSpec.attentionSinks): a learned logit per query head that
 * joins its softmax's denominator (Megatron-Core's softmax_offset, softmax_type "learnable"),
 * computed inside the softmax's kernel; null without them.
 */
function attentionSinks(builder: LayerGraphBuilder, dims: TransformerDims, heads: HeadLayout): string | null {
  return dims.attentionSinks ? builder.param('sinks', [...heads.querySizes]) : null;
}

/** Attention as separate kernels: the core (scores … context), Megatron's "core_attn" recompute module. */
function addEagerCore(builder: LayerGraphBuilder, inputs: AttentionInputs, dims: TransformerDims): string {
  const { microBatch: b, seqPerDevice: s } = dims;
  const { query: q, kv, querySizes } = inputs.heads;
  const W = inputs.valueDim;
  const scoreShape = [b, ...querySizes, s, s];
  const scores = builder.activation('scores', scoreShape);
  const probs = builder.activation('probs', scoreShape);
  const scoreLetters = `${B}${q}${S}${T}`;
  builder.op(
    'attn_scores',
    `${B}${S}${q}${D},${B}${T}${kv}${D}->${scoreLetters}`,
    [inputs.query, inputs.key],
    scores,
    { kind: 'matmul' },
  );
  const sinks = attentionSinks(builder, dims, inputs.heads);
  builder.op(
    'softmax',
    `${scoreLetters}${sinks === null ? '' : `,${q}`}->${scoreLetters}`,
    sinks === null ? [scores] : [scores, sinks],
    probs,
    { kind: 'softmax', reducedDims: [T] },
  );
  const dropped = builder.dropout(dims.dropout, 'attn_dropout', probs, {
    local: 'probs_dropped',
    letters: scoreLetters,
    shape: scoreShape,
  });
  const context = builder.activation('context', [b, s, ...querySizes, inputs.valueSize]);
  builder.op(
    'attn_context',
    `${scoreLetters},${B}${T}${kv}${W}->${B}${S}${q}${W}`,
    [dropped, inputs.value],
    context,
    { kind: 'matmul' },
  );
  return context;
}
