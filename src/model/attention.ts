import { DIM } from '../graph/letters.ts';
import type { TransformerDims } from './dims.ts';
import type { LayerGraphBuilder } from './graph-builder.ts';

const { batch: B, seq: S, keySeq: T, hidden: H, headDim: D } = DIM;
const BSH = `${B}${S}${H}`;

/**
 * The head layout of the attention einsums. Multi-head attention keeps one head dim n; grouped-query
 * attention splits it into g key/value heads × r query heads each, so that sharding g (Megatron's
 * tensor parallelism over KV heads) keeps every query head next to the keys and values it reads.
 */
interface HeadLayout {
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
 * Pre-norm self-attention on `x` (b, s, h): norm, q/k/v projections, scores, softmax over the key
 * position t, context, output projection, with dropout (when on) after the softmax and on the
 * output. Returns the branch (b, s, h) the caller adds to the residual stream. Causal masking is
 * not modelled: like SC'21's FLOP formula, the graph counts the full s × s score matrix.
 */
export function addAttention(builder: LayerGraphBuilder, x: string, dims: TransformerDims): string {
  const { microBatch: b, seqLen: s, hidden: h, headDim: d } = dims;
  const { query: q, kv, querySizes, kvSizes } = headLayout(dims);
  const lnScale = builder.param('ln1_scale', [h]);
  const xNorm = builder.activation('x_norm1', [b, s, h]);
  builder.op('ln1', `${BSH},${H}->${BSH}`, [x, lnScale], xNorm, { kind: 'norm', reducedDims: [H] });

  const wq = builder.param('wq', [h, ...querySizes, d]);
  const wk = builder.param('wk', [h, ...kvSizes, d]);
  const wv = builder.param('wv', [h, ...kvSizes, d]);
  const query = builder.activation('q', [b, s, ...querySizes, d]);
  const key = builder.activation('k', [b, s, ...kvSizes, d]);
  const value = builder.activation('v', [b, s, ...kvSizes, d]);
  builder.op('q_proj', `${BSH},${H}${q}${D}->${B}${S}${q}${D}`, [xNorm, wq], query, { kind: 'matmul' });
  builder.op('k_proj', `${BSH},${H}${kv}${D}->${B}${S}${kv}${D}`, [xNorm, wk], key, { kind: 'matmul' });
  builder.op('v_proj', `${BSH},${H}${kv}${D}->${B}${S}${kv}${D}`, [xNorm, wv], value, { kind: 'matmul' });

  const context = dims.flashAttention
    ? addFlashCore(builder, query, key, value, dims)
    : addEagerCore(builder, query, key, value, dims);

  const wo = builder.param('wo', [...querySizes, d, h]);
  const out = builder.activation('attn_out', [b, s, h]);
  builder.op('out_proj', `${B}${S}${q}${D},${q}${D}${H}->${BSH}`, [context, wo], out, { kind: 'matmul' });
  return builder.dropout(dims.dropout, 'attn_out_dropout', out, {
    local: 'attn_dropped',
    letters: BSH,
    shape: [b, s, h],
  });
}

/**
 * FlashAttention: scores, softmax, dropout and context in one kernel that never stores the s×s
 * matrix. Its backward recomputes the scores from q, k, v (kept by the contraction rule); the
 * FLOPs are the two contractions, 4·b·s·t·n·d.
 */
function addFlashCore(
  builder: LayerGraphBuilder,
  query: string,
  key: string,
  value: string,
  dims: TransformerDims,
): string {
  const { microBatch: b, seqLen: s, heads, headDim: d } = dims;
  const { query: q, kv, querySizes } = headLayout(dims);
  const context = builder.activation('context', [b, s, ...querySizes, d]);
  const keys = `${B}${T}${kv}${D}`;
  builder.op(
    'attention',
    `${B}${S}${q}${D},${keys},${keys}->${B}${S}${q}${D}`,
    [query, key, value],
    context,
    {
      kind: 'matmul',
      // The einsum shows the layouts; the kernel also contracts d (q·k) and normalises over t.
      reducedDims: [T, D],
      flops: 4 * b * s * s * heads * d,
    },
  );
  return context;
}

/** Attention as separate kernels; the core (scores … context) is what selective recomputation redoes. */
function addEagerCore(
  builder: LayerGraphBuilder,
  query: string,
  key: string,
  value: string,
  dims: TransformerDims,
): string {
  const { microBatch: b, seqLen: s, headDim: d } = dims;
  const { query: q, kv, querySizes } = headLayout(dims);
  const core = { selectiveRecompute: true } as const;
  const scoreShape = [b, ...querySizes, s, s];
  const scores = builder.activation('scores', scoreShape);
  const probs = builder.activation('probs', scoreShape);
  const scoreLetters = `${B}${q}${S}${T}`;
  builder.op('attn_scores', `${B}${S}${q}${D},${B}${T}${kv}${D}->${scoreLetters}`, [query, key], scores, {
    kind: 'matmul',
    ...core,
  });
  builder.op('softmax', `${scoreLetters}->${scoreLetters}`, [scores], probs, {
    kind: 'softmax',
    reducedDims: [T],
    ...core,
  });
  const dropped = builder.dropout(
    dims.dropout,
    'attn_dropout',
    probs,
    { local: 'probs_dropped', letters: scoreLetters, shape: scoreShape },
    true,
  );
  const context = builder.activation('context', [b, s, ...querySizes, d]);
  builder.op(
    'attn_context',
    `${scoreLetters},${B}${T}${kv}${D}->${B}${S}${q}${D}`,
    [dropped, value],
    context,
    {
      kind: 'matmul',
      ...core,
    },
  );
  return context;
}
