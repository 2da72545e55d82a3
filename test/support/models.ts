/** Llama 3 8B at 8k tokens (torchtitan's and Meta's shape): tests spread it and override what they vary. */
export const LLAMA3_8B = {
  kind: 'transformer',
  layers: 32,
  hidden: 4096,
  heads: 32,
  kvHeads: 8,
  ffnHidden: 14336,
  vocab: 128256,
  seqLen: 8192,
  activation: 'swiglu',
  attention: 'flash',
} as const;
