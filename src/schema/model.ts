import { z } from 'zod';
import { OpGraphSpec } from './graph.ts';
import { Activation, AttentionKind, Norm, PositionEmbedding } from './vocabulary.ts';

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
    /** Defaults: a learned absolute table with GELU (GPT), rotary embeddings with SwiGLU (Llama). */
    positionEmbedding: PositionEmbedding.optional(),
    /** Biases on the linear layers (q, k, v, output, MLP); defaults: on with GELU (GPT), off with SwiGLU (Llama). */
    bias: z.boolean().optional(),
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

export const ModelSpec = z.discriminatedUnion('kind', [TransformerSpec, GraphModelSpec]);
export type ModelSpec = z.infer<typeof ModelSpec>;
