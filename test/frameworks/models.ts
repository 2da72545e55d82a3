/** Small models and the cluster the framework tests plan on. */
import type { PlanRequestInput } from '../../src/schema/index.ts';

type ModelInput = PlanRequestInput['model'];

export const dgxA100 = { gpu: 'A100-80GB', gpusPerNode: 8, intraNodeGBps: 300, interNodeGBps: 25 };

/** GPT-style (the defaults of a GELU model): tied embeddings, learned positions, biases, LayerNorm, dropout. */
export const gptModel = (layers: number, hidden: number, vocab: number): ModelInput => ({
  kind: 'transformer',
  layers,
  hidden,
  heads: hidden / 64,
  vocab,
  seqLen: 256,
});

/** Llama-style: untied, RoPE, RMSNorm, SwiGLU, grouped-query attention (4 query heads per KV head). */
export const llamaModel = (layers: number, hidden: number, vocab: number): ModelInput => ({
  kind: 'transformer',
  layers,
  hidden,
  heads: hidden / 64,
  kvHeads: hidden / 256,
  vocab,
  seqLen: 512,
  activation: 'swiglu',
});
