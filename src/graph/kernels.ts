/**
 * FLOPs of kernels an einsum does not show, shared by every producer of graphs (the transformer
 * builder, the ONNX importer) so the same kernel is counted the same way whoever writes it.
 */

/** Per-logit cost of softmax cross-entropy: max, subtract-and-exp, sum (Megatron's fused kernel). */
export const CROSS_ENTROPY_FLOPS_PER_LOGIT = 4;
