import type { GpuSpec } from '../schema/index.ts';
import { memoryKernelSec } from './kernel-rates.ts';

/*
 * The Adam step streams, per parameter it owns: fp32 master, m, v and the gradient in and the three
 * fp32 states plus the bf16 weight out — about 30 bytes — so it is HBM-bound. Frameworks run it as
 * fused multi-tensor kernels, so its launches are few: one is charged.
 */
export const ADAM_BYTES_TOUCHED_PER_PARAM = 30;

/** The optimizer step over the parameters a device owns (all of them, or its ZeRO shard). */
export function optimizerStepSec(elementsOwned: number, gpu: GpuSpec): number {
  return memoryKernelSec(elementsOwned * ADAM_BYTES_TOUCHED_PER_PARAM, gpu);
}
