import { z } from 'zod';
import { Optimizer, Precision } from './vocabulary.ts';

/**
 * Blocks at the model's two ends that keep their linear layers' GEMMs in bf16 under a quantized
 * precision (fp8, mxfp8, nvfp4): the first `first` and the last `last` of the model's blocks, counted
 * over the whole model as Megatron-Core counts layers (a hybrid model's every Mamba, attention, MLP or
 * MoE layer is one), not per pipeline stage. Megatron-LM's --first-last-layers-bf16 with
 * --num-layers-at-start-in-bf16 and --num-layers-at-end-in-bf16 (fp8_utils.py and fp4_utils.py
 * get_*_context, core_v0.19.0); NVIDIA's NVFP4 recipes keep a model's last layers so.
 */
export const Bf16Layers = z
  .object({
    first: z.number().int().min(0).max(1e6).default(0),
    last: z.number().int().min(0).max(1e6).default(0),
  })
  .strict();
export type Bf16Layers = z.infer<typeof Bf16Layers>;

export const TrainingSpec = z
  .object({
    /** Sequences per optimizer step. */
    globalBatch: z.number().int().positive().max(1e9),
    /** Sequences per microbatch; the planner searches it when absent. */
    microBatch: z.number().int().positive().max(1e9).optional(),
    precision: Precision.default('bf16'),
    /** Blocks that keep bf16 GEMMs under a quantized precision; none when absent. */
    bf16Layers: Bf16Layers.optional(),
    optimizer: Optimizer.default('adam'),
    /** Tokens to train on in total; with it every plan's summary says how many days that takes. */
    tokens: z.number().positive().max(1e18).optional(),
  })
  .strict();
export type TrainingSpec = z.infer<typeof TrainingSpec>;
