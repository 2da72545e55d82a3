/**
 * The importer against PyTorch itself: every fixture was exported by torch.onnx.export and its FLOPs
 * counted by a TorchDispatchMode over the ATen kernels PyTorch ran (scripts/onnx-fixtures.py), an
 * oracle that shares no code with the importer.
 */
import { describe, expect, it } from 'vitest';
import { repeatedBlocks } from '../../src/graph/blocks.ts';
import { buildGraph } from '../../src/graph/graph.ts';
import { importOnnx } from '../../src/import/index.ts';
import { fixtureBytes, TORCH_COUNTS } from './fixtures.ts';

function imported(name: string) {
  const count = TORCH_COUNTS[name]!;
  const { graph } = importOnnx(fixtureBytes(count.file), {
    batch: count.batch,
    dims: count.dims,
    precision: 'bf16',
    ...('seq' in count.dims ? { sequenceDim: 'seq' } : {}),
  });
  return { count, graph: buildGraph(graph) };
}

describe('imported FLOPs against PyTorch', () => {
  it.each(Object.keys(TORCH_COUNTS))('%s: forward FLOPs per sample within 2% of PyTorch', (name) => {
    const { count, graph } = imported(name);
    const total = graph.ops.reduce((s, op) => s + op.flops, 0) / count.batch;
    expect(Math.abs(total / count.flopsPerSample - 1)).toBeLessThan(0.02);
    // Contractions alone are PyTorch's count to the FLOP, bias epilogues aside (< 0.1%).
    const contractions = graph.ops
      .filter((op) => op.kind === 'matmul' || op.kind === 'attention')
      .reduce((s, op) => s + op.flops, 0);
    expect(Math.abs(contractions / count.batch / count.flopsPerSample - 1)).toBeLessThan(0.001);
  });

  it('binds the batch dim: FLOPs scale with the samples bound to it', () => {
    const count = TORCH_COUNTS.gpt!;
    const flops = (batch: number) =>
      buildGraph(
        importOnnx(fixtureBytes(count.file), { batch, dims: count.dims, precision: 'bf16' }).graph,
      ).ops.reduce((s, op) => s + op.flops, 0);
    // Within a hair: the learned positions' lookup does not depend on the batch.
    expect(flops(6) / (3 * flops(2))).toBeCloseTo(1, 4);
  });

  it('counts the parameters PyTorch has, less what the export folded or copied', () => {
    for (const name of ['llama', 'vit']) {
      const { count, graph } = imported(name);
      const params = [...graph.tensors.values()].filter((t) => t.param).reduce((s, t) => s + t.numel, 0);
      expect(params).toBe(count.params);
    }
  });
});

describe('imported structure', () => {
  it("gives a Wide-ResNet's stride-1 3×3 convolutions a one-row halo on both spatial dims, its 1×1 and strided ones none", () => {
    const { graph } = imported('wide-resnet');
    const convs = graph.ops.filter((op) => op.name.endsWith('/Conv'));
    const same3x3 = convs.filter((op) => op.einsum.inputs[1]!.length === 4 && op.einsum.output.length === 4);
    const haloed = same3x3.filter((op) => op.halo.size > 0);
    expect(haloed.length).toBeGreaterThan(8);
    for (const op of haloed) {
      const spatial = op.einsum.output.slice(2);
      expect(Object.fromEntries(op.halo)).toEqual({ [spatial[0]!]: 1, [spatial[1]!]: 1 });
      expect(op.einsum.inputs[0]!.slice(2)).toBe(spatial);
    }
    // A strided 3×3 reads windows across rows whose output has rows of its own: no halo, no split.
    for (const op of same3x3.filter((o) => o.halo.size === 0))
      expect(op.einsum.inputs[0]!.slice(2)).not.toBe(op.einsum.output.slice(2));
    for (const op of convs.filter((o) => o.einsum.inputs[1]!.length === 2)) expect(op.halo.size).toBe(0);
  });

  it('lowers a GPT block op for op as the transformer builder writes one', () => {
    const { graph } = imported('gpt');
    const einsums = graph.ops.map((op) => `${op.kind} ${op.einsum.inputs.join(',')}->${op.einsum.output}`);
    // Column-parallel projections split heads, attention is one fused kernel, the MLP is fc, GELU, fc.
    expect(einsums).toContain('matmul bsh,hnd->bsnd');
    expect(einsums.some((e) => /^attention bsnd,btnd,btn.->bns.$/.test(e))).toBe(true);
    // The export's masked_fill(~tril) makes it causal, as the builder's attention is.
    expect(graph.ops.find((op) => op.kind === 'attention')?.causal).toBe(true);
    expect(einsums).toContain('matmul bsh,hf->bsf');
    expect(einsums).toContain('elementwise bsf->bsf');
    expect(einsums).toContain('matmul bsf,fh->bsh');
    expect(einsums).toContain('norm bsh,h,h->bsh');
  });

  it('keeps grouped-query heads as (kv heads, group) and RMSNorm as one norm', () => {
    const { graph } = imported('llama');
    const q = graph.ops.find((op) => op.name.endsWith('attn/q/MatMul'))!;
    expect(q.einsum.output.slice(0, 4)).toBe('bsgr');
    const norms = graph.ops.filter((op) => op.kind === 'norm');
    expect(norms).toHaveLength(7);
    expect([...norms[0]!.reducedDims]).toEqual(['h']);
  });

  it('fuses the LayerNorms opset 14 spells out (ReduceMean, Sub, Pow, Sqrt, Div) into norms', () => {
    const norms = imported('gpt-opset14').graph.ops.filter((op) => op.kind === 'norm');
    // Two per block and the final one, each `bsh,h,h->bsh` normalising over h.
    expect(norms.map((op) => `${op.einsum.inputs.join(',')}->${op.einsum.output}`)).toEqual(
      new Array(5).fill('bsh,h,h->bsh'),
    );
  });

  it.each([
    ['gpt', 4],
    ['gpt-opset14', 2],
    ['llama', 3],
    ['vit', 4],
  ])('%s: finds its %i blocks as one repeated run', (name, blocks) => {
    const runs = repeatedBlocks(imported(name).graph);
    expect(runs.map((r) => r.copies)).toEqual([blocks]);
  });

  it("wide-resnet: finds each stage's identical bottlenecks", () => {
    const runs = repeatedBlocks(imported('wide-resnet').graph);
    // torchvision's stages of 3, 4, 6, 3 blocks: the first of each has a shortcut convolution.
    expect(runs.map((r) => r.copies)).toEqual([2, 3, 5, 2]);
  });
});
