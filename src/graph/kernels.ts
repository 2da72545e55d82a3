/**
 * FLOPs of kernels an einsum does not show, shared by every producer of graphs (the transformer
 * builder, the ONNX importer) so the same kernel is counted the same way whoever writes it.
 */

/** Per-logit cost of softmax cross-entropy: max, subtract-and-exp, sum (Megatron's fused kernel). */
export const CROSS_ENTROPY_FLOPS_PER_LOGIT = 4;

/** The shape of one chunked state-space scan (Mamba-2's SSD) on one device. */
export interface ScanShape {
  /** Tokens it scans: sequences × positions. */
  readonly tokens: number;
  readonly heads: number;
  readonly headDim: number;
  /** Groups sharing B and C among those heads. */
  readonly groups: number;
  readonly stateDim: number;
  readonly chunkSize: number;
}

/**
 * Forward FLOPs of the SSD algorithm (Dao & Gu 2024, §6), contraction by contraction: each group's
 * C·Bᵀ within its chunk (2·Q·N a token), each head's masked product of those scores with x (the
 * causal half of 2·Q·P), its chunk state Bᵀ·x (2·N·P) and the output's read of the carried state
 * C·h (2·N·P). The state passing between chunks and the gating are a few FLOPs an element.
 */
export function ssdScanFlops(s: ScanShape): number {
  const perToken =
    2 * s.chunkSize * s.stateDim * s.groups +
    s.chunkSize * s.headDim * s.heads +
    4 * s.stateDim * s.headDim * s.heads;
  return s.tokens * perToken;
}
