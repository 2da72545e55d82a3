import { z } from 'zod';
import { OpGraphSpec } from './graph.ts';
import {
  Activation,
  AttentionKind,
  GATED_ACTIVATIONS,
  MoeDispatcher,
  Norm,
  PositionEmbedding,
  RouterWeightsAt,
} from './vocabulary.ts';

const count = z.number().int().positive();

export const MoeSpec = z
  .object({
    experts: count.max(4096),
    topK: count.max(64),
    /** Tokens each expert may take, as a multiple of its even share (GShard/Switch "capacity factor"). */
    capacityFactor: z.number().positive().max(64).default(1.25),
    /** Each routed expert's FFN inner size; defaults to `model.ffnHidden` (fine-grained MoE is smaller). */
    ffnHidden: count.max(10_000_000).optional(),
    /** Experts every token goes through (DeepSeek's shared experts), besides its routed ones. */
    sharedExperts: z.number().int().nonnegative().max(64).default(0),
    /** A shared expert's FFN inner size; defaults to `moe.ffnHidden`. */
    sharedFfnHidden: count.max(10_000_000).optional(),
    /**
     * The width the routed experts work in when smaller than hidden (Nemotron 3 Super's latent MoE,
     * Megatron's --moe-latent-size): each token is projected down to it before the dispatch and back
     * up after the combine; the router and the shared experts read the full hidden state.
     */
    latentSize: count.max(1_000_000).optional(),
    /** Leading blocks with a dense MLP of `model.ffnHidden` (DeepSeek-V3's first 3). */
    denseLayers: z.number().int().nonnegative().max(10_000).default(0),
    /**
     * Tokens are never dropped: each expert takes what the router sends it, balanced on average
     * (Megatron's default); otherwise experts are padded to their capacity.
     */
    dropless: z.boolean().default(false),
    /** With expert parallelism, Megatron-LM's token dispatcher (default alltoall, its recipes' usual). */
    dispatcher: MoeDispatcher.optional(),
    /**
     * Where each routed token is scaled by its router weight; default the targeted framework's:
     * torchtitan's experts' outputs ("combine"), else Megatron-Core's activation.
     */
    routerWeights: RouterWeightsAt.optional(),
  })
  .strict()
  .refine((m) => m.topK <= m.experts, { message: 'topK cannot exceed experts', path: ['topK'] });
export type MoeSpec = z.infer<typeof MoeSpec>;

/** Multi-head latent attention (DeepSeek-V2/V3): queries and keys/values through low-rank latents. */
export const MlaSpec = z
  .object({
    /** The query latent's rank; null: queries are projected directly (DeepSeek-V2-Lite). */
    qLoraRank: count.max(1_000_000).nullable(),
    kvLoraRank: count.max(1_000_000),
    qkNopeHeadDim: count.max(100_000),
    qkRopeHeadDim: count.max(100_000),
    vHeadDim: count.max(100_000),
  })
  .strict();
export type MlaSpec = z.infer<typeof MlaSpec>;

/**
 * A Mamba-2 mixer (Dao & Gu 2024, "Transformers are SSMs"), as Megatron-Core's MambaMixer builds it:
 * one input projection to the gate z, the input x (heads × headDim), the groups' B and C (groups ×
 * stateDim each) and a step dt per head; a causal depthwise convolution over x, B and C; the chunked
 * state-space scan (SSD) gated by z; a grouped RMSNorm; the output projection back to hidden.
 */
export const MambaSpec = z
  .object({
    heads: count.max(100_000),
    headDim: count.max(100_000),
    /** The state size N of each group (Megatron's --mamba-state-dim; Nemotron-H 128). */
    stateDim: count.max(100_000),
    /** Groups sharing B and C (Megatron's --mamba-num-groups, default 8); divides heads. */
    groups: count.max(100_000).default(8),
    /** Taps of the causal depthwise convolution (Megatron's d_conv, 4). */
    convKernel: count.max(64).default(4),
    /** Tokens per chunk of the SSD scan (Megatron's chunk_size, 128). */
    chunkSize: count.max(1_000_000).default(128),
  })
  .strict()
  .refine((m) => m.heads % m.groups === 0, {
    message: 'heads must be a multiple of groups (each group of heads shares B and C)',
    path: ['groups'],
  });
export type MambaSpec = z.infer<typeof MambaSpec>;

/** Megatron-Core's hybrid layer symbols: a Mamba-2 mixer, attention, a dense MLP, an MoE. */
export const HYBRID_LAYER_SYMBOLS = { mamba: 'M', attention: '*', mlp: '-', moe: 'E' } as const;

/**
 * Sliding-window attention (Mistral, Gemma 2/3, gpt-oss): each query of a windowed block attends to
 * the `size` keys ending at its own position. Without `fullAttentionEvery` every block is windowed;
 * with N, every N-th block (counting from 1) attends to the whole sequence and the others are
 * windowed (gpt-oss: 2, Gemma 3: 6), Megatron-Core's `window_attn_skip_freq`.
 */
export const SlidingWindowSpec = z
  .object({
    size: count.max(10_000_000),
    fullAttentionEvery: z.number().int().min(2).max(10_000).optional(),
  })
  .strict();
export type SlidingWindowSpec = z.infer<typeof SlidingWindowSpec>;

export const TransformerSpec = z
  .object({
    kind: z.literal('transformer'),
    name: z.string().max(200).optional(),
    layers: count.max(10_000),
    hidden: count.max(1_000_000),
    heads: count.max(100_000),
    /** Key/value heads (GQA); defaults to `heads` (multi-head attention). */
    kvHeads: count.max(100_000).optional(),
    /** Each head's size; defaults to hidden / heads (Qwen3 and gpt-oss differ). */
    headDim: count.max(100_000).optional(),
    /** FFN inner size; defaults to 4·hidden, and the Llama rule (8/3·hidden rounded) for the GLUs. */
    ffnHidden: count.max(10_000_000).optional(),
    vocab: count.max(10_000_000),
    seqLen: count.max(10_000_000),
    activation: Activation.default('gelu'),
    /**
     * A gated activation (SwiGLU, GeGLU) runs as one kernel that keeps only the gate and up
     * projections for backward (Megatron-LM's bias-SwiGLU fusion, on by default; torch.compile's
     * fusion); false: as eager PyTorch runs it, a nonlinearity and a product that keep the
     * nonlinearity's output too. Likewise an MoE's squared ReLU with the router's weight applied in it
     * (Megatron-LM's --use-fused-weighted-squared-relu) against the two kernels of its default.
     */
    activationFusion: z.boolean().default(true),
    /**
     * A gated activation's inputs clamped first (Megatron-Core's activation_func_clamp_value; gpt-oss's
     * 7): the gate from above, the linear half to ±the value. Megatron-Core clamps in eager PyTorch,
     * kernels of their own before the activation's. Absent: no clamp.
     */
    activationClamp: z.number().positive().max(1e6).optional(),
    /** Added to a gated activation's linear half before the product (Megatron-Core's glu_linear_offset; gpt-oss's 1). */
    gluLinearOffset: z.number().min(-1e6).max(1e6).default(0),
    /**
     * A learned logit per attention head that joins every softmax (gpt-oss's attention sinks;
     * Megatron-Core's softmax_type "learnable", run by Transformer Engine's fused attention).
     */
    attentionSinks: z.boolean().default(false),
    /**
     * Qwen3's per-head norm of the queries and keys after their projections (the model's norm over
     * each head's dims, one scale a norm shared by the heads): Megatron-LM's --qk-layernorm,
     * torchtitan's qwen3 qk_norm.
     */
    qkNorm: z.boolean().default(false),
    /**
     * An RMSNorm runs as one kernel (Transformer Engine's, Apex's, torch.compile's); false: as eager
     * PyTorch's aten rms_norm composes it (from PyTorch 2.4, its first, through the 2.6 of torchtitan's
     * December 2024 report at least): an fp32 upcast, square, mean, rsqrt, product and cast back, then
     * the weight's product, each a kernel of its own, and autograd's backward through every one. A
     * LayerNorm is one kernel either way (aten native_layer_norm).
     */
    normFusion: z.boolean().default(true),
    /** Defaults: LayerNorm with GELU (GPT), RMSNorm with SwiGLU (Llama). */
    norm: Norm.optional(),
    /** Defaults: tied with GELU (GPT), untied with SwiGLU (Llama). */
    tiedEmbeddings: z.boolean().optional(),
    /** Defaults: a learned absolute table with GELU (GPT), rotary embeddings with SwiGLU (Llama). */
    positionEmbedding: PositionEmbedding.optional(),
    /** Biases on the linear layers (q, k, v, output, MLP); defaults: on with GELU (GPT), off with SwiGLU (Llama). */
    bias: z.boolean().optional(),
    moe: MoeSpec.optional(),
    /** Multi-head latent attention in place of multi-head/grouped-query attention. */
    mla: MlaSpec.optional(),
    /**
     * DeepSeek-V3's multi-token prediction modules: each one more block and head pass per step. In a
     * hybrid model each module's block is attention then the MoE (the MLP without experts), Nemotron
     * 3's "*E".
     */
    mtpLayers: z.number().int().nonnegative().max(16).default(0),
    /**
     * One multi-token prediction module run at every depth (Megatron-LM's --mtp-use-repeated-layer,
     * Nemotron 3's): each depth computes as its own, the weights are held, updated and counted once.
     */
    mtpRepeatedLayer: z.boolean().default(false),
    /** How attention runs (Korthikanti et al. 2022 count eager attention's separate kernels). */
    attention: AttentionKind.default('flash'),
    /** Blocks whose attention sees only a window of recent keys; default: every block sees the whole sequence. */
    slidingWindow: SlidingWindowSpec.optional(),
    /** Dropout on attention and on the branches into the residual stream; defaults: on for GELU (GPT), off for SwiGLU (Llama). */
    dropout: z.boolean().optional(),
    /** The Mamba-2 mixers' shape, for a hybrid model's M layers. */
    mamba: MambaSpec.optional(),
    /**
     * A hybrid model (Nemotron-H, Nemotron 3) as Megatron-Core's --hybrid-layer-pattern spells it: one
     * symbol a layer, each layer one mixer behind its own norm and added to the residual stream —
     * M a Mamba-2 mixer, * attention, - a dense MLP, E an MoE. Its length is `layers`. Absent: every
     * layer is a transformer block (attention then MLP or MoE).
     */
    hybridPattern: z
      .string()
      .regex(/^[M*E-]+$/, 'one symbol a layer: M (Mamba-2), * (attention), - (MLP), E (MoE)')
      .max(10_000)
      .optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.headDim === undefined && m.mla === undefined && m.hidden % m.heads !== 0)
      ctx.addIssue({
        code: 'custom',
        path: ['heads'],
        message: `hidden (${m.hidden}) must be a multiple of heads (${m.heads}), or give headDim`,
      });
    if (m.moe !== undefined && m.moe.denseLayers > m.layers)
      ctx.addIssue({
        code: 'custom',
        path: ['moe', 'denseLayers'],
        message: `${m.moe.denseLayers} dense layers, but the model has ${m.layers}`,
      });
    if (m.slidingWindow !== undefined && m.mla !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['slidingWindow'],
        message: 'multi-head latent attention has no sliding window (Megatron-Core refuses the pair)',
      });
    if (m.mtpRepeatedLayer && m.mtpLayers === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['mtpRepeatedLayer'],
        message: 'a repeated multi-token prediction layer needs mtpLayers of 1 or more',
      });
    hybridIssues(m, ctx);
    if (m.qkNorm && m.mla !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['qkNorm'],
        message:
          'latent attention normalises its own latents; qkNorm is for multi-head and grouped-query attention',
      });
    if (m.attentionSinks && m.mla !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['attentionSinks'],
        message:
          'attention sinks are priced for multi-head and grouped-query attention, not latent attention',
      });
    const gated = GATED_ACTIVATIONS.includes(m.activation);
    if (m.activationClamp !== undefined && !gated)
      ctx.addIssue({
        code: 'custom',
        path: ['activationClamp'],
        message: `only a gated activation (${GATED_ACTIVATIONS.join(', ')}) is clamped, and the model's is ${m.activation}`,
      });
    if (m.gluLinearOffset !== 0 && !gated)
      ctx.addIssue({
        code: 'custom',
        path: ['gluLinearOffset'],
        message: `only a gated activation has a linear half to offset, and the model's is ${m.activation}`,
      });
    const kv = m.kvHeads ?? m.heads;
    if (m.heads % kv !== 0)
      ctx.addIssue({
        code: 'custom',
        path: ['kvHeads'],
        message: `heads (${m.heads}) must be a multiple of kvHeads (${kv})`,
      });
  });
export type TransformerSpec = z.infer<typeof TransformerSpec>;

/** What a hybrid pattern needs of the rest of the spec, and what it cannot be combined with. */
function hybridIssues(
  m: {
    layers: number;
    hybridPattern?: string | undefined;
    mamba?: MambaSpec | undefined;
    moe?: MoeSpec | undefined;
    slidingWindow?: SlidingWindowSpec | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  const pattern = m.hybridPattern;
  const issue = (path: string[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  if (pattern === undefined) {
    if (m.mamba !== undefined)
      issue(['hybridPattern'], 'Mamba-2 mixers sit in a hybrid model: give hybridPattern');
    return;
  }
  if (pattern.length !== m.layers)
    issue(['hybridPattern'], `${pattern.length} symbols for ${m.layers} layers: one symbol a layer`);
  if (pattern.includes(HYBRID_LAYER_SYMBOLS.mamba) && m.mamba === undefined)
    issue(['mamba'], 'the pattern has Mamba-2 layers (M): give their shape');
  if (pattern.includes(HYBRID_LAYER_SYMBOLS.moe) && m.moe === undefined)
    issue(['moe'], 'the pattern has MoE layers (E): give the experts');
  if (m.moe !== undefined && !pattern.includes(HYBRID_LAYER_SYMBOLS.moe))
    issue(['moe'], 'a hybrid model routes only in its E layers, and the pattern has none');
  if (m.moe !== undefined && m.moe.denseLayers > 0)
    issue(['moe', 'denseLayers'], 'a hybrid pattern places its dense MLPs itself (-)');
  if (m.slidingWindow !== undefined)
    issue(['slidingWindow'], 'sliding-window attention is not priced for hybrid models');
}

export const GraphModelSpec = z
  .object({
    kind: z.literal('graph'),
    graph: OpGraphSpec,
  })
  .strict();

const dimName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\s]+$/, 'dim names may not contain white space');

/**
 * A model exported from PyTorch as ONNX (torch.onnx.export, with or without weights). Its symbolic
 * dims are bound when planned: `batchDim` to the microbatch the search tries, the others from `dims`.
 */
export const OnnxModelSpec = z
  .object({
    kind: z.literal('onnx'),
    /** The .onnx file, relative to the request file: the CLI reads it (the API takes `base64`). */
    path: z.string().min(1).max(4096).optional(),
    /** The .onnx file's bytes, base64-encoded. */
    base64: z.string().min(1).optional(),
    /** The symbolic dim counting samples; default: the first dim of the first graph input. */
    batchDim: dimName.optional(),
    /** Sizes of the other symbolic dims, e.g. {"seq": 2048}. */
    dims: z.record(dimName, count.max(2 ** 31)).optional(),
    /** The symbolic dim of token positions, for tokens/s. */
    sequenceDim: dimName.optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if ((m.path === undefined) === (m.base64 === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['base64'],
        message: 'give the model file as exactly one of path or base64',
      });
    if (m.sequenceDim !== undefined && m.dims?.[m.sequenceDim] === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['sequenceDim'],
        message: `sequenceDim "${m.sequenceDim}" needs its size in dims`,
      });
  });
export type OnnxModelSpec = z.infer<typeof OnnxModelSpec>;

export const ModelSpec = z.discriminatedUnion('kind', [TransformerSpec, GraphModelSpec, OnnxModelSpec]);
export type ModelSpec = z.infer<typeof ModelSpec>;
