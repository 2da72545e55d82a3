/**
 * Multi-head latent attention (DeepSeek-V2/V3; Megatron-Core's MLASelfAttention): queries through a
 * low-rank latent (or directly), keys and values through a shared latent, each head's query and key
 * split into a part without rotary embedding (j) and a rotary part (p), the rotary key shared by all
 * heads. Written with the parts as separate tensors so every parameter and FLOP is the model's own.
 */

import { DIM } from '../graph/letters.ts';
import type { Exchange } from '../schema/graph.ts';
import type { TransformerDims } from './dims.ts';
import type { LayerGraphBuilder } from './graph-builder.ts';
import { linear } from './linear.ts';

const { batch: B, seq: S, keySeq: T, hidden: H, heads: N } = DIM;
const { queryLatent: Lq, kvLatent: M, valueDim: W } = DIM;
/** The non-rotary and rotary parts of a query/key head. */
const J = DIM.headDim;
const P = DIM.ropeDim;
const BSH = `${B}${S}${H}`;

export interface MlaCore {
  /** The attention output (b, s, n, w). */
  readonly context: string;
}

/** The norm inside a latent (RMSNorm over the latent dim). */
function latentNorm(
  builder: LayerGraphBuilder,
  name: string,
  x: string,
  letter: string,
  shape: number[],
): string {
  const size = shape.at(-1)!;
  const scale = builder.param(`${name}_scale`, [size]);
  const out = builder.activation(`${name}_out`, shape);
  builder.op(name, `${B}${S}${letter},${letter}->${B}${S}${letter}`, [x, scale], out, {
    kind: 'norm',
    reducedDims: [letter],
  });
  return out;
}

function matmul(
  builder: LayerGraphBuilder,
  dims: TransformerDims,
  name: string,
  einsum: string,
  input: string,
  weightShape: number[],
  outShape: number[],
  fusedWith?: string,
): string {
  const w = builder.param(`w_${name}`, weightShape);
  const out = builder.activation(name, outShape);
  builder.op(`${name}_proj`, einsum, [input, w], out, linear(dims, fusedWith && `${fusedWith}_proj`));
  return out;
}

/** A projection up from a latent (or the query's without one): Megatron's "mla_up_proj" recompute module. */
function upProjection(...args: Parameters<typeof matmul>): string {
  return args[0].within('mla_up_proj', () => matmul(...args));
}

/**
 * The query, key and value projections and the fused attention over every key of the sequence. The
 * up projections from the latents (and the direct query projection without a query latent) are
 * Megatron's "mla_up_proj" recompute module (qkv_up_proj_and_rope_apply, core_v0.19.0).
 */
export function addMlaCore(
  builder: LayerGraphBuilder,
  xNorm: string,
  dims: TransformerDims,
  exchange: Exchange | undefined,
): MlaCore {
  const mla = dims.mla!;
  const { microBatch: b, seqPerDevice: s, seqLen, hidden: h, heads: n } = dims;
  const j = mla.qkNopeHeadDim;
  const p = mla.qkRopeHeadDim;
  const w = mla.vHeadDim;
  let qIn = xNorm;
  let qLetter: string = H;
  let qSize = h;
  if (mla.qLoraRank !== null) {
    const l = mla.qLoraRank;
    const latent = matmul(
      builder,
      dims,
      'q_down',
      `${BSH},${H}${Lq}->${B}${S}${Lq}`,
      xNorm,
      [h, l],
      [b, s, l],
    );
    qIn = latentNorm(builder, 'q_norm', latent, Lq, [b, s, l]);
    qLetter = Lq;
    qSize = l;
  }
  const qIns = `${B}${S}${qLetter}`;
  const qNope = upProjection(
    builder,
    dims,
    'q_nope',
    `${qIns},${qLetter}${N}${J}->${B}${S}${N}${J}`,
    qIn,
    [qSize, n, j],
    [b, s, n, j],
  );
  const qRope = upProjection(
    builder,
    dims,
    'q_rope',
    `${qIns},${qLetter}${N}${P}->${B}${S}${N}${P}`,
    qIn,
    [qSize, n, p],
    [b, s, n, p],
    // Megatron's linear_q_up_proj (or linear_q_proj) writes each head's rotary part with the rest.
    'q_nope',
  );
  const kvLatent = matmul(
    builder,
    dims,
    'kv_down',
    `${BSH},${H}${M}->${B}${S}${M}`,
    xNorm,
    [h, mla.kvLoraRank],
    [b, s, mla.kvLoraRank],
  );
  // linear_kv_down_proj writes the latent and the rotary key together (kv_lora_rank + rope dims).
  const kRope = matmul(
    builder,
    dims,
    'k_rope',
    `${BSH},${H}${P}->${B}${S}${P}`,
    xNorm,
    [h, p],
    [b, s, p],
    'kv_down',
  );
  const kvNormed = latentNorm(builder, 'kv_norm', kvLatent, M, [b, s, mla.kvLoraRank]);
  const kvIn = `${B}${S}${M}`;
  const r = mla.kvLoraRank;
  const kNope = upProjection(
    builder,
    dims,
    'k_nope',
    `${kvIn},${M}${N}${J}->${B}${S}${N}${J}`,
    kvNormed,
    [r, n, j],
    [b, s, n, j],
  );
  const value = upProjection(
    builder,
    dims,
    'v',
    `${kvIn},${M}${N}${W}->${B}${S}${N}${W}`,
    kvNormed,
    [r, n, w],
    [b, s, n, w],
    // linear_kv_up_proj: each head's key and value from the latent in one GEMM.
    'k_nope',
  );
  const context = builder.activation('context', [b, s, n, w]);
  // Keys are read at every position t of the sequence; the rotary key is one for all heads.
  builder.op(
    'attention',
    `${B}${S}${N}${J},${B}${S}${N}${P},${B}${T}${N}${J},${B}${T}${P},${B}${T}${N}${W}->${B}${S}${N}${W}`,
    [qNope, qRope, kNope, kRope, value],
    context,
    {
      kind: 'attention',
      reducedDims: [T, J, P, W],
      flops: 2 * b * s * seqLen * n * (j + p + w),
      causal: true,
      ...(exchange === undefined ? {} : { exchange }),
    },
  );
  return { context };
}
