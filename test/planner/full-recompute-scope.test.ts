import { describe, expect, it } from 'vitest';
import { resolveCluster } from '../../src/cluster/cluster.ts';
import { logicalMesh } from '../../src/cluster/mesh.ts';
import { planModel } from '../../src/model/planned.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { LayerSolver } from '../../src/planner/layer-solver.ts';
import { ClusterSpec, TransformerSpec } from '../../src/schema/index.ts';

/*
 * Full recomputation checkpoints the transformer blocks only: the embedding and the output layer with
 * its loss run forward once and keep what their backward needs. The oracle is SC'21's hardware FLOP
 * count (Narayanan et al. 2021 §5.1), 96·B·s·l·h²·(1 + s/(6h) + V/(16·l·h)): four passes of every
 * block (forward, recomputation, two backward) and three of the logit layer, against the model FLOPs
 * 72·B·s·l·h²·(1 + s/(6h) + V/(12·l·h)) of three passes of both.
 */
const [layers, h, heads, vocab, s] = [96, 12288, 96, 51200, 2048];
const spec = {
  kind: 'transformer',
  name: 'GPT-3 175B',
  layers,
  hidden: h,
  heads,
  vocab,
  seqLen: s,
  activation: 'gelu',
} as const;
const clusterSpec = { gpu: 'A100-80GB', nodes: 128, gpusPerNode: 8, intraNodeGBps: 300, interNodeGBps: 25 };

describe('full recomputation leaves the embedding and the output layer alone', () => {
  it("prices SC'21's hardware FLOPs: blocks four passes, the logit layer three", async () => {
    const plan = await estimate({
      model: spec,
      cluster: clusterSpec,
      training: { globalBatch: 1536, precision: 'fp16', optimizer: 'adam' },
      parallel: { tp: 8, pp: 16, dp: 8, microBatch: 1, recompute: 'full', zero: 0 },
    });
    const sc21Hardware = 96 * s * layers * h * h * (1 + s / (6 * h) + vocab / (16 * layers * h));
    const sc21Model = 72 * s * layers * h * h * (1 + s / (6 * h) + vocab / (12 * layers * h));
    const summary = plan.summary!;
    // The graph counts norms, biases and softmaxes the closed forms leave out: well under 1%.
    expect(summary.hardwareTflopsPerDevice / summary.tflopsPerDevice).toBeCloseTo(
      sc21Hardware / sc21Model,
      3,
    );
  });

  it('the head is priced as without recomputation, a block with its forward again', async () => {
    const cluster = resolveCluster(ClusterSpec.parse(clusterSpec));
    const model = planModel(TransformerSpec.parse(spec), { microBatch: 1, precision: 'bf16' });
    const head = model.layers.at(-1)!;
    const block = model.layers[1]!;
    expect([head.checkpointed, block.checkpointed, model.layers[0]!.checkpointed]).toEqual([
      false,
      true,
      false,
    ]);
    const solver = new LayerSolver({ cluster, deadlineMs: Date.now() + 60_000 });
    const mesh = logicalMesh(cluster, [1, 8]);
    const price = (layer: typeof head, recompute: 'none' | 'full') =>
      solver.price(layer, mesh, 'megatron', recompute);
    const [headFull, headNone] = [(await price(head, 'full'))!, (await price(head, 'none'))!];
    expect(headFull.backwardComputeSec).toBe(headNone.backwardComputeSec);
    // The head keeps what its backward needs: the final norm's and the LM head's inputs (s·h, two
    // bytes each), the loss's fp32 softmax of the s·V/8 logits on a device, the int32 labels.
    expect(headFull.activationBytes).toBe(headNone.activationBytes);
    expect(headFull.activationBytes).toBe(2 * (s * h * 2) + s * (vocab / 8) * 4 + s * 4);
    const [blockFull, blockNone] = [(await price(block, 'full'))!, (await price(block, 'none'))!];
    expect(blockFull.backwardComputeSec).toBeCloseTo(
      blockNone.backwardComputeSec + blockNone.forwardComputeSec,
      9,
    );
    // Only the block's input stays: s·b·h two-byte elements.
    expect(blockFull.activationBytes).toBe(s * h * 2);
  });
});
