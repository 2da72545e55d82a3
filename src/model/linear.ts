import type { TransformerDims } from './dims.ts';
import type { OpOptions } from './graph-builder.ts';

/**
 * A linear layer's matmul: at the FP8 rate under FP8 training (Transformer Engine's linear layers);
 * `fusedWith`, the local name of the matmul whose module it is part of (OpSpec.fusedWith).
 */
export function linear(dims: TransformerDims, fusedWith?: string): OpOptions {
  return {
    kind: 'matmul',
    ...(dims.gemmDtype === dims.dtype ? {} : { computeDtype: dims.gemmDtype }),
    ...(fusedWith === undefined ? {} : { fusedWith }),
  };
}
