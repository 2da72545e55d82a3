import { describe, expect, it } from 'vitest';
import { resolveCluster } from '../../src/cluster/cluster.ts';
import { logicalMesh } from '../../src/cluster/mesh.ts';
import { planModel } from '../../src/model/planned.ts';
import { LayerSolver } from '../../src/planner/layer-solver.ts';
import { ClusterSpec, TransformerSpec } from '../../src/schema/index.ts';

/*
 * What the output layer keeps for its backward, against a closed form written from the frameworks'
 * code: the final norm its input and the output GEMM its input (s·h two-byte elements each), the loss
 * the fp32 softmax it computed from the upcast logits (Megatron-LM's cross_entropy.py upcasts with
 * .float() and saves exp_logits; PyTorch's log-softmax saves its fp32 output), four bytes for each of
 * the s·V/t logits a device holds, and the labels (s int32). The bf16 logits themselves are not kept.
 */
const [s, h, vocab] = [2048, 12288, 51200];
const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 }));
const model = planModel(
  TransformerSpec.parse({ kind: 'transformer', layers: 4, hidden: h, heads: 96, vocab, seqLen: s }),
  { microBatch: 1, precision: 'bf16' },
);

describe('the output layer keeps its inputs and the loss its fp32 softmax', () => {
  it.each([1, 8])('tp %i: 2·(s·h·2) + s·(V/t)·4 + s·4 bytes', async (t) => {
    const solver = new LayerSolver({ cluster, deadlineMs: Date.now() + 60_000 });
    const head = model.layers.at(-1)!;
    const price = (await solver.price(head, logicalMesh(cluster, [1, t]), 'megatron', 'none'))!;
    expect(price.activationBytes).toBe(2 * (s * h * 2) + s * (vocab / t) * 4 + s * 4);
  });
});
