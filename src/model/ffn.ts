import { DIM } from '../graph/letters.ts';
import type { Exchange } from '../schema/graph.ts';
import type { RecomputeModule } from '../schema/vocabulary.ts';
import { isGated, type TransformerDims } from './dims.ts';
import type { LayerGraphBuilder } from './graph-builder.ts';
import { linear } from './linear.ts';

const {
  batch: B,
  seq: S,
  hidden: H,
  ffn: F,
  experts: E,
  capacity: C,
  route: K,
  routerExperts: X,
  moeLatent: Z,
} = DIM;
const BS = `${B}${S}`;

/**
 * Where an MLP runs: on the token grid (b, s) of a dense block, or on the expert slots (e, c) of an
 * MoE block, whose weights carry a leading expert dim e.
 */
interface MlpSite {
  /** Prefix of the op and tensor names ('', 'expert_', 'shared_'). */
  readonly prefix: string;
  readonly tokens: string;
  readonly tokenSizes: readonly number[];
  /** Letters in front of every weight ('' or 'e'). */
  readonly weightLead: string;
  readonly weightLeadSizes: readonly number[];
  /** The FFN inner size. */
  readonly ffn: number;
  /** The width it reads and writes, and its letter: the hidden size, or a latent MoE's (MoeDims.latentSize). */
  readonly width: { readonly letter: string; readonly size: number };
  readonly output: string;
  /**
   * The recompute module of the activation (bias, nonlinearity, gating): Megatron's "moe_act" in the
   * experts, whose grouped MLP checkpoints exactly that (experts.py, core_v0.19.0); none elsewhere.
   */
  readonly activationModule?: RecomputeModule;
  /**
   * A weight per token (shaped like `tokenSizes`) the activation is scaled by: the router's, where
   * Megatron-Core's experts apply it (MoeDims.routerWeights 'activation').
   */
  readonly tokenWeights?: string;
}

const NONLINEARITY = {
  gelu: 'gelu',
  swiglu: 'silu',
  geglu: 'gelu',
  'quick-geglu': 'quick_gelu',
  'squared-relu': 'squared_relu',
} as const;

/**
 * The MLP on `x` (tokens…, h): fc1, nonlinearity, fc2 (GELU, squared ReLU), or a gated one: gate and
 * up projections, the gate's nonlinearity, their product, down (SwiGLU, GeGLU).
 */
function addMlp(builder: LayerGraphBuilder, x: string, dims: TransformerDims, site: MlpSite): string {
  const { letter: H, size: h } = site.width;
  const { prefix: p, tokens: T, tokenSizes, weightLead: E, weightLeadSizes, ffn: f } = site;
  const activationPart = <R>(body: () => R): R =>
    site.activationModule === undefined ? body() : builder.within(site.activationModule, body);
  // Biases (GPT's linear layers) are per expert where the weights are.
  const biased = (local: string, input: string, width: string, size: number, output?: string): string =>
    builder.bias(dims.bias, `${local}_bias`, input, {
      local: output ?? `${local}_biased`,
      letters: `${T}${width}`,
      shape: [...tokenSizes, size],
      biasLetters: `${E}${width}`,
      biasShape: [...weightLeadSizes, size],
    });
  const up = (local: string, weight: string, output: string, fusedWith?: string): string => {
    const w = builder.param(weight, [...weightLeadSizes, h, f]);
    const out = builder.activation(output, [...tokenSizes, f]);
    builder.op(local, `${T}${H},${E}${H}${F}->${T}${F}`, [x, w], out, linear(dims, fusedWith));
    return activationPart(() => biased(local, out, F, f));
  };
  const unary = (local: string, input: string): string =>
    activationPart(() => {
      const out = builder.activation(`${local}_out`, [...tokenSizes, f]);
      builder.op(local, `${T}${F}->${T}${F}`, [input], out, { kind: 'elementwise' });
      return out;
    });
  const down = (local: string, input: string, weight: string): string => {
    const w = builder.param(weight, [...weightLeadSizes, f, h]);
    // The MLP's result keeps its name whether or not a bias follows the last matmul.
    const out = builder.activation(dims.bias ? `${local}_out` : site.output, [...tokenSizes, h]);
    builder.op(local, `${T}${F},${E}${F}${H}->${T}${H}`, [input, w], out, linear(dims));
    return biased(local, out, H, h, site.output);
  };
  const act = `${p}${NONLINEARITY[dims.activation]}`;
  const weights = site.tokenWeights;
  // The token's weight as a kernel of its own, keeping what it scales (Megatron's unfused path).
  const weighed = (input: string): string => {
    if (weights === undefined) return input;
    return activationPart(() => {
      const out = builder.activation(`${p}weighted_out`, [...tokenSizes, f]);
      builder.op(`${p}weight_mul`, `${T}${F},${T}->${T}${F}`, [input, weights], out, { kind: 'elementwise' });
      return out;
    });
  };
  if (!isGated(dims.activation)) {
    const fc1 = up(`${p}fc1`, `w_${p}fc1`, `${p}fc1_out`);
    if (weights !== undefined && dims.activation === 'squared-relu' && dims.activationFusion && !dims.bias) {
      // Megatron-Core's weighted squared ReLU (--use-fused-weighted-squared-relu, experts.py,
      // core_v0.19.0): the nonlinearity and the token's weight in one kernel keeping only its inputs;
      // it takes no bias (experts.py asserts none).
      const out = builder.activation(`${p}weighted_out`, [...tokenSizes, f]);
      activationPart(() =>
        builder.op(`${p}weighted_squared_relu`, `${T}${F},${T}->${T}${F}`, [fc1, weights], out, {
          kind: 'elementwise',
        }),
      );
      return down(`${p}fc2`, out, `w_${p}fc2`);
    }
    return down(`${p}fc2`, weighed(unary(act, fc1)), `w_${p}fc2`);
  }
  /*
   * Megatron-Core's clamp before a gated activation (activation_func_clamp_value; experts.py and
   * mlp.py, core_v0.19.0): the fc1 output's halves clamped in eager PyTorch, a kernel each, keeping
   * its input for the backward's mask. Its fused activation takes them concatenated back
   * (weighted_bias_quick_geglu_impl's torch.cat: a copy of each half, and the chunk's backward one
   * more); the unfused one takes them as they are. (Its unfused path also adds glu_linear_offset in a
   * kernel of its own, whose backward passes the gradient through; that forward pass is not priced.)
   */
  const clamped = (input: string, half: 'gate' | 'up'): string => {
    if (dims.activationClamp === null) return input;
    return activationPart(() => {
      const local = `${p}${half}_clamp`;
      const out = builder.activation(`${local}_out`, [...tokenSizes, f]);
      builder.op(local, `${T}${F}->${T}${F}`, [input], out, { kind: 'elementwise' });
      if (!dims.activationFusion) return out;
      const joined = builder.activation(`${local}_cat`, [...tokenSizes, f]);
      builder.op(`${local}_cat`, `${T}${F}->${T}${F}`, [out], joined, { kind: 'reshape', flops: 0 });
      return joined;
    });
  };
  const gate = clamped(up(`${p}gate_proj`, `w_${p}gate`, `${p}gate_out`), 'gate');
  // The gate and up projections are Megatron-LM's linear_fc1, one module (a grouped one for experts).
  const upOut = clamped(up(`${p}up_proj`, `w_${p}up`, `${p}up_out`, `${p}gate_proj`), 'up');
  const glu = builder.activation(`${p}glu_out`, [...tokenSizes, f]);
  if (dims.activationFusion) {
    // One kernel for the nonlinearity, the product and any token weight, keeping only its inputs:
    // Megatron-LM's (weighted) bias-SwiGLU recomputes the SiLU in backward (fused_bias_swiglu.py,
    // core_v0.19.0), as torch.compile's fused kernel does.
    const inputs = weights === undefined ? [gate, upOut] : [gate, upOut, weights];
    const letters = weights === undefined ? `${T}${F},${T}${F}` : `${T}${F},${T}${F},${T}`;
    activationPart(() =>
      builder.op(`${p}${dims.activation}`, `${letters}->${T}${F}`, inputs, glu, { kind: 'elementwise' }),
    );
    return down(`${p}down_proj`, glu, `w_${p}down`);
  }
  const activated = unary(act, gate);
  activationPart(() =>
    builder.op(`${p}glu_mul`, `${T}${F},${T}${F}->${T}${F}`, [activated, upOut], glu, {
      kind: 'elementwise',
    }),
  );
  return down(`${p}down_proj`, weighed(glu), `w_${p}down`);
}

export function addDenseMlp(builder: LayerGraphBuilder, x: string, dims: TransformerDims): string {
  const { microBatch: b, seqPerDevice: s } = dims;
  return addMlp(builder, x, dims, {
    prefix: '',
    tokens: BS,
    tokenSizes: [b, s],
    weightLead: '',
    weightLeadSizes: [],
    ffn: dims.ffnHidden,
    width: { letter: H, size: dims.hidden },
    output: 'mlp_out',
  });
}

/** Routed tokens among expert-parallel peers: all-to-all of `operands` or the output (DESIGN.md §4.2). */
function routing(dims: TransformerDims, side: Pick<Exchange, 'operands' | 'output'>): Exchange | undefined {
  if (dims.expertParallel <= 1) return undefined;
  const moe = dims.moe!;
  // The flex dispatcher's kernels (DeepEP, HybridEP) send a token to each remote node once and hand
  // its copies on over the node's NVLink; the all-to-all dispatcher sends every copy itself.
  const deduplicated =
    moe.dispatcher === 'flex' ? { nodeDeduplicated: { experts: moe.experts, topK: moe.topK } } : {};
  return { group: 'ep', kind: 'all-to-all', ...side, ...deduplicated };
}

/**
 * A mixture of experts on `x` (b, s, h), as Megatron-Core's token dispatcher runs it:
 * - the router `bsh,hx->bsx` and a softmax give each token's affinity per expert (x: all of them);
 *   the top-k choice keeps k weights per token (`bsk`) and their expert indices (`route_indices`,
 *   an int32 input: a non-differentiable argmax no einsum creates);
 * - dispatch permutes each token's k copies into the slots (e, c) of the experts this device holds,
 *   all-to-all among ep peers; the experts' MLPs run on (e, c) with weights (e, …); combine sends the
 *   results back and sums them with the weights. Dispatch and combine are copies and scaled sums:
 *   their FLOPs are what the kernels do (one copy, resp. one multiply-add, per routed element);
 * - shared experts (DeepSeek) are one dense MLP every token goes through, added to the routed sum.
 */
export function addMoeMlp(builder: LayerGraphBuilder, x: string, dims: TransformerDims): string {
  const moe = dims.moe!;
  const { microBatch: b, seqPerDevice: s, hidden: h } = dims;
  const { localExperts: e, experts, capacity: c, topK: k } = moe;
  // A latent MoE's routed tokens travel, and its experts work, at the latent width.
  const W = moe.latentSize === null ? H : Z;
  const w = moe.latentSize ?? h;
  const routedElements = b * s * k * w;
  const BSK = `${BS}${K}`;

  const wRouter = builder.param('w_router', [h, experts]);
  const logits = builder.activation('router_logits', [b, s, experts]);
  const gates = builder.activation('gates', [b, s, experts]);
  // The router runs whole on every device (its expert dim is every expert, not the local ones).
  builder.op('router', `${BS}${H},${H}${X}->${BS}${X}`, [x, wRouter], logits, { kind: 'matmul' });
  builder.op('router_softmax', `${BS}${X}->${BS}${X}`, [logits], gates, {
    kind: 'softmax',
    reducedDims: [X],
  });
  // The chosen experts' indices come from an argmax no einsum writes: a graph input, like token ids.
  const indices = builder.activation('route_indices', [b, s, k], 'int32');
  const weights = builder.activation('route_weights', [b, s, k]);
  builder.op('top_k', `${BS}${X},${BSK}->${BSK}`, [gates, indices], weights, {
    kind: 'other',
    reducedDims: [X],
    flops: b * s * experts,
  });

  // Megatron-Core's fc1_latent_proj: a linear layer every tensor-parallel rank runs whole
  // (parallel_mode "duplicated", moe_layer.py, core_v0.19.0), after the router has read x.
  let routedIn = x;
  if (moe.latentSize !== null) {
    const wDown = builder.param('w_latent_down', [h, w]);
    routedIn = builder.activation('latent_in', [b, s, w]);
    builder.op('latent_down', `${BS}${H},${H}${Z}->${BS}${Z}`, [x, wDown], routedIn, linear(dims));
  }
  // Which token each of the local experts' slots holds: the routing's inverse, also an input.
  const slots = builder.activation('expert_slots', [e, c], 'int32');
  const expertIn = builder.activation('expert_in', [e, c, w]);
  const dispatch = routing(dims, { operands: [], output: true });
  // Each token's copies land in slots of their own: a device holding some tokens holds their slots.
  const routes = { tokens: [B, S], slots: C };
  const dispatchInputs = [routedIn, indices, slots];
  let dispatchEinsum = `${BS}${W},${BSK},${E}${C}->${E}${C}${W}`;
  if (moe.dispatcher === 'flex' && dims.expertParallel > 1) {
    // HybridEP (the flex backend Megatron-LM is exported with) lays out each forward's exchange from
    // every peer's routing map, a byte per token and expert, all-gathered over the expert-parallel
    // group (DeepEP hybrid-ep executor.cu allgather_routing_map, before metadata_preprocess_core).
    // The map marks which of the expert ids (a graph input, like the indices) each token's k indices
    // name: nothing here has a gradient, so nothing travels back.
    const expertIds = builder.activation('expert_ids', [experts], 'int32');
    const routingMap = builder.activation('routing_map', [b, s, experts], 'bool');
    builder.op('routing_map', `${BSK},${X}->${BS}${X}`, [indices, expertIds], routingMap, {
      kind: 'other',
      flops: b * s * k,
      exchange: { group: 'ep', kind: 'all-gather', operands: [], output: true },
    });
    dispatchInputs.push(routingMap);
    dispatchEinsum = `${BS}${W},${BSK},${E}${C},${BS}${X}->${E}${C}${W}`;
  }
  builder.op('dispatch', dispatchEinsum, dispatchInputs, expertIn, {
    kind: 'other',
    flops: routedElements,
    routes,
    ...(dispatch === undefined ? {} : { exchange: dispatch }),
  });
  // Megatron-LM's all-to-all dispatcher sorts what its ep peers sent by local expert, and back
  // before the combine all-to-all, when a device holds several experts (sort_chunks_by_idxs in
  // dispatch_postprocess and combine_preprocess, token_dispatcher.py, core_v0.19.0): a copy of every
  // routed slot each way, forward and backward, and no FLOPs. The flex dispatcher runs no such sort.
  const sortsChunks = moe.dispatcher === 'alltoall' && dims.expertParallel > 1 && e > 1;
  const sortChunks = (local: string, input: string): string => {
    if (!sortsChunks) return input;
    const out = builder.activation(local, [e, c, w]);
    builder.op(local, `${E}${C}${W}->${E}${C}${W}`, [input], out, { kind: 'reshape', flops: 0 });
    return out;
  };
  const weighsActivation = moe.routerWeights === 'activation';
  let slotWeights: string | undefined;
  if (weighsActivation) {
    // The weights travel to the slots with their tokens: Megatron's all-to-all dispatcher sends them
    // in an all-to-all of their own (token_dispatcher.py, core_v0.19.0); flex in the tokens' kernel.
    slotWeights = builder.activation('slot_weights', [e, c]);
    const sent = moe.dispatcher === 'alltoall' ? routing(dims, { operands: [], output: true }) : undefined;
    builder.op(
      'dispatch_weights',
      `${BSK},${BSK},${E}${C}->${E}${C}`,
      [weights, indices, slots],
      slotWeights,
      {
        kind: 'other',
        flops: b * s * k,
        routes,
        ...(sent === undefined ? {} : { exchange: sent }),
      },
    );
  }
  const expertOut = addMlp(builder, sortChunks('expert_in_sorted', expertIn), dims, {
    prefix: 'expert_',
    tokens: `${E}${C}`,
    tokenSizes: [e, c],
    weightLead: E,
    weightLeadSizes: [e],
    ffn: moe.ffnHidden,
    width: { letter: W, size: w },
    output: 'expert_out',
    activationModule: 'moe_act',
    ...(slotWeights === undefined ? {} : { tokenWeights: slotWeights }),
  });
  const routedName = moe.sharedExperts > 0 ? 'routed_out' : 'mlp_out';
  const combined = builder.activation(moe.latentSize === null ? routedName : 'latent_out', [b, s, w]);
  const combine = routing(dims, { operands: [0], output: false });
  const unsorted = sortChunks('expert_out_unsorted', expertOut);
  // Weighted in the activation, the combine is a plain sum of each token's k results, whose backward
  // sends the gradient back by the index map alone and keeps no expert output; otherwise it scales
  // them by the weights as it sums, keeping both.
  builder.op(
    'combine',
    weighsActivation ? `${E}${C}${W},${BSK}->${BS}${W}` : `${E}${C}${W},${BSK},${BSK}->${BS}${W}`,
    weighsActivation ? [unsorted, indices] : [unsorted, indices, weights],
    combined,
    {
      kind: 'other',
      flops: weighsActivation ? routedElements : 2 * routedElements,
      routes,
      ...(weighsActivation ? { savedInputs: [1] } : {}),
      ...(combine === undefined ? {} : { exchange: combine }),
    },
  );
  // Megatron-Core's fc2_latent_proj, back to the hidden width before the shared experts' sum.
  let routed = combined;
  if (moe.latentSize !== null) {
    const wUp = builder.param('w_latent_up', [w, h]);
    routed = builder.activation(routedName, [b, s, h]);
    builder.op('latent_up', `${BS}${Z},${Z}${H}->${BS}${H}`, [combined, wUp], routed, linear(dims));
  }
  if (moe.sharedExperts === 0) return routed;
  const shared = builder.within('shared_experts', () =>
    addMlp(builder, x, dims, {
      prefix: 'shared_',
      tokens: BS,
      tokenSizes: [b, s],
      weightLead: '',
      weightLeadSizes: [],
      ffn: moe.sharedExperts * moe.sharedFfnHidden,
      width: { letter: H, size: h },
      output: 'shared_out',
    }),
  );
  const out = builder.activation('mlp_out', [b, s, h]);
  builder.op('shared_add', `${BS}${H},${BS}${H}->${BS}${H}`, [routed, shared], out, { kind: 'add' });
  return out;
}
