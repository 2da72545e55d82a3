import { z } from 'zod';
import { OpGraphSpec } from './graph.ts';
import { Activation, AttentionKind, Norm } from './vocabulary.ts';

const count = z.number().int().positive();

export const MoeSpec = z
  .object({
    experts: count.max(4096),
    topK: count.max(64),
    /** Tokens each expert may take, as a multiple of its even share (GShard/Switch "capacity factor"). */
    capacityFactor: z.number().positive().max(64).default(1.25),
  })
  .strict()
  .refine((m) => m.topK <= m.experts, { message: 'topK cannot exceed experts', path: ['topK'] });
export type MoeSpec = z.infer<typeof MoeSpec>;

export const TransformerSpec = z
  .object({
    kind: z.literal('transformer'),
    name: z.string().max(200).optional(),
    layers: count.max(10_000),
    hidden: count.max(1_000_000),
    heads: count.max(100_000),
    /** Key/value heads (GQA); defaults to `heads` (multi-head attention). */
    kvHeads: count.max(100_000).optional(),
    /** FFN inner size; defaults to 4·hidden for GELU and the Llama rule (8/3·hidden rounded) for SwiGLU. */
    ffnHidden: count.max(10_000_000).optional(),
    vocab: count.max(10_000_000),
    seqLen: count.max(10_000_000),
    activation: Activation.default('gelu'),
    /** Defaults: LayerNorm with GELU (GPT), RMSNorm with SwiGLU (Llama). */
    norm: Norm.optional(),
    /** Defaults: tied with GELU (GPT), untied with SwiGLU (Llama). */
    tiedEmbeddings: z.boolean().optional(),
    moe: MoeSpec.optional(),
    /** How attention runs (Korthikanti et al. 2022 count eager attention's separate kernels). */
    attention: AttentionKind.default('flash'),
    /** Dropout on attention and on the branches into the residual stream; defaults: on for GELU (GPT), off for SwiGLU (Llama). */
    dropout: z.boolean().optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.hidden % m.heads !== 0)
      ctx.addIssue({
        code: 'custom',
        path: ['heads'],
        message: `hidden (${m.hidden}) must be a multiple of heads (${m.heads})`,
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
