import type { TransformerDims } from './dims.ts';
import type { OpOptions } from './graph-builder.ts';

/** A linear layer's matmul: at the FP8 rate under FP8 training (Transformer Engine's linear layers). */
export function linear(dims: TransformerDims): OpOptions {
  return dims.gemmDtype === dims.dtype
    ? { kind: 'matmul' }
    : { kind: 'matmul', computeDtype: dims.gemmDtype };
}
