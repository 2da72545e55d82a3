import { buildTransformer, type TransformerModel } from '../../src/model/index.ts';
import { type TransformerSpec as Spec, TransformerSpec } from '../../src/schema/model.ts';

/** A transformer spec as the request schema parses it. */
export function spec(fields: Record<string, unknown>): Spec {
  return TransformerSpec.parse({ kind: 'transformer', ...fields });
}

export function build(fields: Record<string, unknown>, microBatch = 1): TransformerModel {
  return buildTransformer(spec(fields), { microBatch, precision: 'bf16' });
}

/** A small GPT (GELU, LayerNorm, tied, MHA) that builds and validates in milliseconds. */
export const TINY_GPT = { layers: 3, hidden: 64, heads: 4, vocab: 512, seqLen: 32 } as const;

/** A small Llama (SwiGLU, RMSNorm, untied, GQA 4 → 2). */
export const TINY_LLAMA = { ...TINY_GPT, activation: 'swiglu', kvHeads: 2 } as const;

/** Relative error of `value` against `reference`. */
export function relErr(value: number, reference: number): number {
  return Math.abs(value - reference) / Math.abs(reference);
}

/** DeepSeek-V3 without its MTP module (arXiv 2412.19437 §2 and §4.2; its config.json on Hugging Face). */
export const DEEPSEEK_V3 = {
  layers: 61,
  hidden: 7168,
  heads: 128,
  ffnHidden: 18432,
  vocab: 129280,
  seqLen: 4096,
  activation: 'swiglu',
  mla: { qLoraRank: 1536, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 },
  moe: { experts: 256, topK: 8, ffnHidden: 2048, sharedExperts: 1, denseLayers: 3, dropless: true },
} as const;
