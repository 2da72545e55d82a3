/** Small models and the cluster the framework tests plan on. */
import type { PlanRequestInput } from '../../src/schema/index.ts';
import { DEEPSEEK_V3 } from '../model/helpers.ts';

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

/** DeepSeek-V3's shape (671B, 37B active): MLA, 256 fine-grained experts + 1 shared, 3 dense layers, one MTP module. */
export const deepseekV3Model: ModelInput = {
  kind: 'transformer',
  name: 'DeepSeek-V3',
  ...DEEPSEEK_V3,
  mtpLayers: 1,
};

/** Llama 3.1 405B at its 131,072-token context. */
export const llama405bLongModel: ModelInput = {
  kind: 'transformer',
  layers: 126,
  hidden: 16384,
  heads: 128,
  kvHeads: 8,
  ffnHidden: 53248,
  vocab: 128256,
  seqLen: 131072,
  activation: 'swiglu',
};

/** Mixtral 8x22B's shape: 8 experts of the dense FFN's size, top-2. */
export const mixtral8x22bModel: ModelInput = {
  kind: 'transformer',
  layers: 56,
  hidden: 6144,
  heads: 48,
  kvHeads: 8,
  ffnHidden: 16384,
  vocab: 32768,
  seqLen: 4096,
  activation: 'swiglu',
  moe: { experts: 8, topK: 2 },
};

/**
 * Nemotron 3 Nano 30B-A3B as Megatron-Bridge's recipe builds it (recipes/nemotronh/h100/
 * nemotron_3_nano.py at 4ab94dfad3): 23 Mamba-2, 23 MoE and 6 attention layers.
 */
export const nemotron3NanoModel = {
  kind: 'transformer',
  name: 'Nemotron 3 Nano',
  layers: 52,
  hidden: 2688,
  heads: 32,
  kvHeads: 2,
  headDim: 128,
  ffnHidden: 1856,
  vocab: 131072,
  seqLen: 8192,
  activation: 'squared-relu',
  hybridPattern: 'MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME',
  mamba: { heads: 64, headDim: 64, stateDim: 128, groups: 8 },
  moe: { experts: 128, topK: 6, ffnHidden: 1856, sharedExperts: 1, sharedFfnHidden: 3712, dropless: true },
} as const satisfies ModelInput;
