import { DIM } from '../graph/letters.ts';
import type { TransformerDims } from './dims.ts';
import type { LayerGraphBuilder } from './graph-builder.ts';

const { batch: B, seq: S, hidden: H, ffn: F, experts: E, capacity: C } = DIM;

/**
 * Where an MLP runs: on the token grid (b, s) of a dense block, or on the expert slots (e, c) of an
 * MoE block, whose weights carry a leading expert dim e (expert parallelism = splitting e).
 */
interface MlpSite {
  /** Prefix of the op and tensor names ('' or 'expert_'). */
  readonly prefix: string;
  readonly tokens: string;
  readonly tokenSizes: readonly number[];
  /** Letters in front of every weight ('' or 'e'). */
  readonly weightLead: string;
  readonly weightLeadSizes: readonly number[];
  readonly output: string;
}

/** GELU MLP (fc1, gelu, fc2) or SwiGLU (gate and up, silu, product, down) on `x` (tokens…, h). */
function addMlp(builder: LayerGraphBuilder, x: string, dims: TransformerDims, site: MlpSite): string {
  const { hidden: h, ffnHidden: f } = dims;
  const { prefix: p, tokens: T, tokenSizes, weightLead: E, weightLeadSizes } = site;
  const up = (local: string, weight: string, output: string): string => {
    const w = builder.param(weight, [...weightLeadSizes, h, f]);
    const out = builder.activation(output, [...tokenSizes, f]);
    builder.op(local, `${T}${H},${E}${H}${F}->${T}${F}`, [x, w], out, { kind: 'matmul' });
    return out;
  };
  const unary = (local: string, input: string, output: string): string => {
    const out = builder.activation(output, [...tokenSizes, f]);
    builder.op(local, `${T}${F}->${T}${F}`, [input], out, { kind: 'elementwise' });
    return out;
  };
  const down = (local: string, input: string, weight: string): string => {
    const w = builder.param(weight, [...weightLeadSizes, f, h]);
    const out = builder.activation(site.output, [...tokenSizes, h]);
    builder.op(local, `${T}${F},${E}${F}${H}->${T}${H}`, [input, w], out, { kind: 'matmul' });
    return out;
  };

  if (dims.activation === 'gelu') {
    const fc1 = up(`${p}fc1`, `w_${p}fc1`, `${p}fc1_out`);
    return down(`${p}fc2`, unary(`${p}gelu`, fc1, `${p}gelu_out`), `w_${p}fc2`);
  }
  const gate = up(`${p}gate_proj`, `w_${p}gate`, `${p}gate_out`);
  const upOut = up(`${p}up_proj`, `w_${p}up`, `${p}up_out`);
  const silu = unary(`${p}silu`, gate, `${p}silu_out`);
  const glu = builder.activation(`${p}glu_out`, [...tokenSizes, f]);
  builder.op(`${p}glu_mul`, `${T}${F},${T}${F}->${T}${F}`, [silu, upOut], glu, { kind: 'elementwise' });
  return down(`${p}down_proj`, glu, `w_${p}down`);
}

export function addDenseMlp(builder: LayerGraphBuilder, x: string, dims: TransformerDims): string {
  const { microBatch: b, seqLen: s } = dims;
  return addMlp(builder, x, dims, {
    prefix: '',
    tokens: `${B}${S}`,
    tokenSizes: [b, s],
    weightLead: '',
    weightLeadSizes: [],
    output: 'mlp_out',
  });
}

/**
 * GShard/Switch-style mixture of experts on `x` (b, s, h), written as dense einsums:
 * - router `bsh,he->bse` and a softmax over e give each token's gate per expert;
 * - the top-k choice itself is the `dispatch_mask` (b, s, e, c), a bool graph input: it is a
 *   non-differentiable argmax whose cost is negligible, and no einsum can create the slot dim c;
 * - dispatch `bsec,bsh->ech` gathers each expert's c token slots, expert MLPs run on (e, c) with
 *   weights (e, …), and combine `bsec,bse,ech->bsh` scatters the results back, weighted by the gates.
 * Dispatch and combine are gathers/scatters, not dense contractions over e·c: their FLOPs are
 * overridden with what the kernels do (one copy, resp. one multiply-add, per routed token element).
 * The dense mask is what GShard materialises; it holds b·s·e·c ≈ topK·capacityFactor·(b·s)² bytes,
 * which overstates the memory of index-based dispatch (Megatron's token permutation).
 */
export function addMoeMlp(builder: LayerGraphBuilder, x: string, dims: TransformerDims): string {
  const moe = dims.moe!;
  const { microBatch: b, seqLen: s, hidden: h } = dims;
  const { experts: e, capacity: c, topK } = moe;
  const routedElements = b * s * topK * h;

  const wRouter = builder.param('w_router', [h, e]);
  const logits = builder.activation('router_logits', [b, s, e]);
  const gates = builder.activation('gates', [b, s, e]);
  builder.op('router', `${B}${S}${H},${H}${E}->${B}${S}${E}`, [x, wRouter], logits, { kind: 'matmul' });
  builder.op('router_softmax', `${B}${S}${E}->${B}${S}${E}`, [logits], gates, {
    kind: 'softmax',
    reducedDims: [E],
  });

  const mask = builder.activation('dispatch_mask', [b, s, e, c], 'bool');
  const expertIn = builder.activation('expert_in', [e, c, h]);
  builder.op('dispatch', `${B}${S}${E}${C},${B}${S}${H}->${E}${C}${H}`, [mask, x], expertIn, {
    kind: 'other',
    flops: routedElements,
  });

  const expertOut = addMlp(builder, expertIn, dims, {
    prefix: 'expert_',
    tokens: `${E}${C}`,
    tokenSizes: [e, c],
    weightLead: E,
    weightLeadSizes: [e],
    output: 'expert_out',
  });

  const out = builder.activation('mlp_out', [b, s, h]);
  builder.op(
    'combine',
    `${B}${S}${E}${C},${B}${S}${E},${E}${C}${H}->${B}${S}${H}`,
    [mask, gates, expertOut],
    out,
    {
      kind: 'other',
      flops: 2 * routedElements,
    },
  );
  return out;
}
