import { DIM } from '../graph/letters.ts';
import type { TransformerDims } from './dims.ts';
import type { LayerGraphBuilder } from './graph-builder.ts';

const { batch: B, seq: S, hidden: H } = DIM;
const BSH = `${B}${S}${H}`;

/** Names of one norm's op, its parameters and its output (`scale`, and `shift` for LayerNorm). */
export interface NormNames {
  readonly op: string;
  readonly scale: string;
  readonly shift: string;
  readonly output: string;
}

/** The tensor a norm runs over: its letters and sizes, and the dim it normalises (its parameters' size). */
export interface NormExtent {
  readonly letters: string;
  readonly shape: readonly number[];
  readonly dim: string;
  readonly size: number;
}

/**
 * A norm over one dim of `x`, by default the hidden dim of (b, s, h): RMSNorm scales (a parameter
 * an element of that dim), LayerNorm also shifts (two). Their arithmetic differs by a few FLOPs per
 * element, far below the matmuls.
 */
export function addNorm(
  builder: LayerGraphBuilder,
  names: NormNames,
  x: string,
  dims: TransformerDims,
  over: NormExtent = {
    letters: BSH,
    shape: [dims.microBatch, dims.seqPerDevice, dims.hidden],
    dim: H,
    size: dims.hidden,
  },
): string {
  const params = [builder.param(names.scale, [over.size])];
  if (dims.norm === 'layernorm') params.push(builder.param(names.shift, [over.size]));
  const out = builder.activation(names.output, over.shape);
  const einsum = `${over.letters},${params.map(() => over.dim).join(',')}->${over.letters}`;
  // Eager PyTorch composes an RMSNorm of several kernels (TransformerSpec.normFusion); a LayerNorm is
  // one kernel of aten's either way.
  const composite = dims.norm === 'rmsnorm' && !dims.normFusion;
  builder.op(names.op, einsum, [x, ...params], out, {
    kind: 'norm',
    reducedDims: [over.dim],
    ...(composite ? { composite: true } : {}),
  });
  return out;
}
