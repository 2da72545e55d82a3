import { ssdScanFlops } from '../graph/kernels.ts';
import { DIM } from '../graph/letters.ts';
import type { MambaDims, TransformerDims } from './dims.ts';
import type { LayerGraphBuilder } from './graph-builder.ts';
import { linear } from './linear.ts';
import { addNorm } from './norm.ts';

const {
  batch: B,
  seq: S,
  hidden: H,
  ssmHeads: A,
  ssmHeadDim: U,
  ssmPacked: J,
  ssmConvTaps: Y,
  ssmParams: Q,
} = DIM;
const BSH = `${B}${S}${H}`;
const BSAJ = `${B}${S}${A}${J}`;
const BSAU = `${B}${S}${A}${U}`;

/** Each head's share of the groups' B and C channels (2·groups·stateDim over the heads). */
function bcPerHead(m: MambaDims): number {
  return Math.ceil((2 * m.groups * m.stateDim) / m.heads);
}

/**
 * A head's channels of the packed input projection: z and x (headDim each), its step dt, and its
 * share of B and C — Megatron-Core's in_proj packs [z, x, B, C, dt] in one column-parallel linear
 * whose tensor-parallel split takes heads and their groups together (mamba_mixer.py, core_v0.19.0).
 */
export function packedPerHead(m: MambaDims): number {
  return 2 * m.headDim + 1 + bcPerHead(m);
}

/**
 * Columns of the packed input projection, whole (per tp rank: over tp): z and x (heads · headDim
 * each), B and C of every group (stateDim each), dt a head — Megatron-Core's in_proj width.
 */
export function packedProjectionColumns(m: MambaDims): number {
  return 2 * m.heads * m.headDim + 2 * m.groups * m.stateDim + m.heads;
}

/**
 * A head's scan parameters other than its x channels' convolution: its share of B's and C's taps
 * and biases, and its dt bias, A (as A_log) and D — so that the layer holds (convKernel + 1) ·
 * (heads·headDim + 2·groups·stateDim) + 3·heads of them, as Megatron-Core's mixer does.
 */
function otherParamsPerHead(m: MambaDims): number {
  return bcPerHead(m) * (m.convKernel + 1) + 3;
}

/**
 * A copy of `input` (one reshape kernel each pass), moving it all-to-all among the context-parallel
 * peers when `exchanged`.
 */
function copyOp(
  builder: LayerGraphBuilder,
  local: string,
  input: string,
  tensor: { readonly letters: string; readonly shape: readonly number[] },
  exchanged: boolean,
): string {
  const { letters } = tensor;
  const out = builder.activation(local, tensor.shape);
  builder.op(local, `${letters}->${letters}`, [input], out, {
    kind: 'reshape',
    ...(exchanged ? { exchange: { group: 'cp', kind: 'all-to-all', operands: [0], output: false } } : {}),
  });
  return out;
}

/**
 * Megatron-Core's context parallelism for a Mamba mixer (MambaContextParallel, mamba_context_parallel.py,
 * core_v0.19.0), before the scan: every cp rank holds s/cp tokens of all its heads, and the scan needs
 * the whole sequence of some heads. Each of z, x, B, C and dt is packed (all_to_all_sp2hp's cat) and
 * sent all-to-all over cp; the parts are concatenated again, and the attention layers' load balancing
 * (each rank's two chunks of 2·cp) is undone. Each rank then holds the whole sequence of heads/cp of
 * its heads: the same elements, so the graph keeps its per-device shape. Where a tensor-parallel rank
 * holds fewer groups than cp, Megatron repeats each group's B and C for the cp ranks sharing it and the
 * all-to-all carries them that many times; the graph's exchange moves them once (B and C are
 * 2·groups·stateDim of the packed projection's columns, under a fifth for the published shapes).
 */
function toHeadSplit(builder: LayerGraphBuilder, packed: string, shape: readonly number[]): string {
  const tensor = { letters: BSAJ, shape };
  const exchanged = copyOp(builder, 'cp_to_heads', packed, tensor, true);
  const joined = copyOp(builder, 'cp_concat', exchanged, tensor, false);
  return copyOp(builder, 'cp_sequence_order', joined, tensor, false);
}

/** After the scan: the load balancing redone, then the output sent back all-to-all to its tokens' ranks. */
function toSequenceSplit(builder: LayerGraphBuilder, scanned: string, shape: readonly number[]): string {
  const tensor = { letters: BSAU, shape };
  const balanced = copyOp(builder, 'cp_balance_order', scanned, tensor, false);
  return copyOp(builder, 'cp_to_sequence', balanced, tensor, true);
}

/**
 * One Mamba-2 mixer on `x` (b, s, h) behind its norm, as Megatron-Core's MambaLayer runs it in
 * training (mamba_mixer.py, core_v0.19.0): the packed input projection; the copy that makes it
 * batch-major for the kernels; the fused causal convolution and SSD scan gated by z
 * (mamba_split_conv1d_scan_combined, a `scan` op); the copy back; the grouped RMSNorm over each group's
 * channels; the row-parallel output projection. Returns the branch the caller adds to the residual
 * stream.
 */
export function addMamba(builder: LayerGraphBuilder, x: string, dims: TransformerDims): string {
  const m = dims.mamba!;
  const { microBatch: b, seqPerDevice: s, hidden: h } = dims;
  const { heads: a, headDim: u } = m;
  const j = packedPerHead(m);
  const xNorm = builder.within('layernorm', () =>
    addNorm(builder, { op: 'ln1', scale: 'ln1_scale', shift: 'ln1_shift', output: 'x_norm1' }, x, dims),
  );
  const wIn = builder.param('w_in_proj', [h, a, j]);
  const packed = builder.activation('zxbcdt', [b, s, a, j]);
  builder.op('in_proj', `${BSH},${H}${A}${J}->${BSAJ}`, [xNorm, wIn], packed, linear(dims));
  const contextParallel = dims.contextParallel.degree > 1;
  const scanInput = contextParallel ? toHeadSplit(builder, packed, [b, s, a, j]) : packed;
  // rearrange(zxBCdt, "l b d -> b l d").contiguous(): a copy of the packed tensor.
  const batchMajor = builder.activation('zxbcdt_batch_major', [b, s, a, j]);
  builder.op('zxbcdt_transpose', `${BSAJ}->${BSAJ}`, [scanInput], batchMajor, { kind: 'reshape' });
  const convX = builder.param('conv_x', [a, u, m.convKernel + 1]);
  const scanParams = builder.param('scan_params', [a, otherParamsPerHead(m)]);
  const scanned = builder.activation('ssm_out', [b, s, a, u]);
  builder.op('ssd_scan', `${BSAJ},${A}${U}${Y},${A}${Q}->${BSAU}`, [batchMajor, convX, scanParams], scanned, {
    kind: 'scan',
    // The scan runs along the whole sequence: a split of it would need the carried states passed on.
    reducedDims: [S],
    flops: ssdScanFlops({
      tokens: b * s,
      heads: a,
      headDim: u,
      groups: m.groups,
      stateDim: m.stateDim,
      chunkSize: m.chunkSize,
    }),
    scan: { stateDim: m.stateDim, groups: m.groups, chunkSize: m.chunkSize },
  });
  // rearrange(y, "b l d -> l b d").contiguous(): the copy back to sequence-major.
  const seqMajor = builder.activation('ssm_out_seq_major', [b, s, a, u]);
  builder.op('ssm_out_transpose', `${BSAU}->${BSAU}`, [scanned], seqMajor, { kind: 'reshape' });
  const normInput = contextParallel ? toSequenceSplit(builder, seqMajor, [b, s, a, u]) : seqMajor;
  const normScale = builder.param('ssm_norm_scale', [a, u]);
  const normed = builder.activation('ssm_normed', [b, s, a, u]);
  // A group's heads are normed together; tensor parallelism splits whole groups, never a head.
  builder.op('ssm_norm', `${BSAU},${A}${U}->${BSAU}`, [normInput, normScale], normed, {
    kind: 'norm',
    reducedDims: [U],
  });
  const wOut = builder.param('w_out_proj', [a, u, h]);
  const out = builder.activation('mixer_out', [b, s, h]);
  builder.op('out_proj', `${BSAU},${A}${U}${H}->${BSH}`, [normed, wOut], out, linear(dims));
  return out;
}
