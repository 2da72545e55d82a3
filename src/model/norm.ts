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

/**
 * A norm over the hidden dim of `x` (b, s, h): RMSNorm scales (h parameters), LayerNorm also
 * shifts (2·h). Their arithmetic differs by a few FLOPs per element, far below the matmuls.
 */
export function addNorm(
  builder: LayerGraphBuilder,
  names: NormNames,
  x: string,
  dims: TransformerDims,
): string {
  const { microBatch: b, seqPerDevice: s, hidden: h } = dims;
  const params = [builder.param(names.scale, [h])];
  if (dims.norm === 'layernorm') params.push(builder.param(names.shift, [h]));
  const out = builder.activation(names.output, [b, s, h]);
  const einsum = `${BSH},${params.map(() => H).join(',')}->${BSH}`;
  // Eager PyTorch composes an RMSNorm of several kernels (TransformerSpec.normFusion); a LayerNorm is
  // one kernel of aten's either way.
  const composite = dims.norm === 'rmsnorm' && !dims.normFusion;
  builder.op(names.op, einsum, [x, ...params], out, {
    kind: 'norm',
    reducedDims: [H],
    ...(composite ? { composite: true } : {}),
  });
  return out;
}
