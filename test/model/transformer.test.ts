import { describe, expect, it } from 'vitest';
import gptBlock from '../../examples/gpt-block.graph.json' with { type: 'json' };
import { parseGraph } from '../../src/graph/index.ts';
import { buildTransformer, graphSignature, type ModelLayer, wholeGraph } from '../../src/model/index.ts';
import { OpGraphSpec } from '../../src/schema/graph.ts';
import { issuesOf } from '../support/input-issues.ts';
import { build, spec, TINY_GPT, TINY_LLAMA } from './helpers.ts';

const TINY_MOE = { ...TINY_GPT, moe: { experts: 4, topK: 2 } } as const;
const TINY_LLAMA_MOE = { ...TINY_LLAMA, moe: { experts: 8, topK: 2, capacityFactor: 1 } } as const;

/** The layer's graph with its own prefix stripped and its residual input called `x`. */
function localNames(layer: ModelLayer): OpGraphSpec {
  const rename = (name: string) => (name === layer.input ? 'x' : name.replace(`${layer.name}.`, ''));
  const g = layer.graph;
  return {
    tensors: g.tensors.map((t) => ({ ...t, name: rename(t.name) })),
    ops: g.ops.map((op) => ({
      ...op,
      name: rename(op.name),
      ...(op.fusedWith === undefined ? {} : { fusedWith: rename(op.fusedWith) }),
      inputs: op.inputs.map(rename),
      output: rename(op.output),
    })),
  };
}

describe('buildTransformer: graphs', () => {
  it('builds a GPT block op for op as the hand-written example (which leaves biases and the norm shift out)', () => {
    const model = build(
      {
        layers: 2,
        hidden: 4096,
        heads: 32,
        vocab: 51200,
        seqLen: 2048,
        attention: 'eager',
        bias: false,
        norm: 'rmsnorm',
      },
      8,
    );
    const block = localNames(model.layers[1]!);
    const example = OpGraphSpec.parse(gptBlock);
    expect(block.ops).toEqual(example.ops);
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect([...block.tensors].sort(byName)).toEqual([...example.tensors].sort(byName));
  });

  it.each([
    ['GPT', TINY_GPT],
    ['Llama (GQA, SwiGLU)', TINY_LLAMA],
    ['GPT-MoE', TINY_MOE],
    ['Llama-MoE', TINY_LLAMA_MOE],
    ['GPT with GQA, untied, RMSNorm', { ...TINY_GPT, kvHeads: 1, tiedEmbeddings: false, norm: 'rmsnorm' }],
  ])('%s: every layer and the whole graph pass parseGraph', (_, fields) => {
    const model = build(fields, 2);
    expect(model.layers.map((l) => l.kind)).toEqual(['embedding', 'block', 'block', 'block', 'head']);
    expect(model.layers.map((l) => l.name)).toEqual(['embedding', 'block0', 'block1', 'block2', 'head']);
    for (const layer of model.layers) {
      const g = parseGraph(layer.graph);
      for (const t of g.tensors.values()) {
        if (t.name !== layer.input) expect(t.name.startsWith(`${layer.name}.`)).toBe(true);
      }
      for (const op of g.ops) expect(op.name.startsWith(`${layer.name}.`)).toBe(true);
      if (layer.input !== null) {
        const input = g.tensors.get(layer.input)!;
        expect(input.param || input.producer !== null).toBe(false);
      }
      expect(g.tensors.get(layer.output)!.producer).not.toBeNull();
    }
    const whole = parseGraph(wholeGraph(model));
    expect(whole.ops).toHaveLength(model.layers.reduce((n, l) => n + l.graph.ops.length, 0));
    expect(whole.ops.reduce((sum, op) => sum + op.flops, 0)).toBeCloseTo(model.forwardFlops, -3);
    model.layers.slice(1).forEach((layer, i) => {
      expect(layer.input).toBe(model.layers[i]!.output);
      expect(whole.tensors.get(layer.input!)!.producer).not.toBeNull();
    });
  });

  it('fuses attention into one FlashAttention op that stores no s×s tensor', () => {
    const block = build(TINY_LLAMA).layers[1]!.graph;
    const attention = block.ops.find((o) => o.name === 'block0.attention')!;
    expect(attention.einsum).toBe('bsgrd,btgd,btgd->bsgrd');
    expect(attention.reducedDims).toEqual(['t', 'd']);
    const { seqLen: s, hidden } = TINY_LLAMA;
    expect(attention.flops).toBe(4 * s * s * hidden);
    expect(block.tensors.some((t) => t.shape.filter((d) => d === s).length > 1)).toBe(false);
  });

  it('writes Llama attention with grouped query heads and an ungated SwiGLU MLP', () => {
    const block = build({ ...TINY_LLAMA, attention: 'eager' }).layers[1]!.graph;
    const einsum = (op: string) => block.ops.find((o) => o.name === `block0.${op}`)?.einsum;
    expect(einsum('q_proj')).toBe('bsh,hgrd->bsgrd');
    expect(einsum('k_proj')).toBe('bsh,hgd->bsgd');
    expect(einsum('attn_scores')).toBe('bsgrd,btgd->bgrst');
    expect(einsum('attn_context')).toBe('bgrst,btgd->bsgrd');
    expect(einsum('out_proj')).toBe('bsgrd,grdh->bsh');
    expect(einsum('gate_proj')).toBe('bsh,hf->bsf');
    // Megatron's bias-SwiGLU fusion (its default): one kernel from the gate and up projections.
    expect(einsum('swiglu')).toBe('bsf,bsf->bsf');
    expect(einsum('down_proj')).toBe('bsf,fh->bsh');
    expect(block.ops.some((o) => o.kind === 'dropout')).toBe(false);
    const eager = build({ ...TINY_LLAMA, activationFusion: false }).layers[1]!.graph;
    const eagerEinsum = (op: string) => eager.ops.find((o) => o.name === `block0.${op}`)?.einsum;
    expect(eagerEinsum('silu')).toBe('bsf->bsf');
    expect(eagerEinsum('glu_mul')).toBe('bsf,bsf->bsf');
    expect(eagerEinsum('swiglu')).toBeUndefined();
  });

  it('writes an MoE block as router, top-k, dispatch, per-expert MLP and combine', () => {
    const moe = build(TINY_MOE, 2);
    const block = moe.layers[1]!.graph;
    const op = (name: string) => block.ops.find((o) => o.name === `block0.${name}`)!;
    const tensor = (name: string) => block.tensors.find((t) => t.name === `block0.${name}`)!;
    const [b, s, h, e, topK] = [2, 32, 64, 4, 2];
    const c = Math.ceil((topK * b * s * 1.25) / e);
    // The router scores every expert (x); the expert weights hold this device's experts (e).
    expect(op('router').einsum).toBe('bsh,hx->bsx');
    expect(op('top_k').einsum).toBe('bsx,bsk->bsk');
    expect(op('dispatch')).toMatchObject({ einsum: 'bsh,bsk,ec->ech', flops: b * s * topK * h });
    expect(op('expert_fc1').einsum).toBe('ech,ehf->ecf');
    expect(op('expert_fc2').einsum).toBe('ecf,efh->ech');
    // Megatron-Core's experts scale the activation by each slot's router weight, sent along with
    // the tokens; the combine is then a plain sum that keeps only its index map for backward.
    expect(op('dispatch_weights').einsum).toBe('bsk,bsk,ec->ec');
    expect(op('expert_weight_mul').einsum).toBe('ecf,ec->ecf');
    expect(op('combine')).toMatchObject({
      einsum: 'ech,bsk->bsh',
      flops: b * s * topK * h,
      savedInputs: [1],
    });
    // Scaled at the combine instead (torchtitan, Hugging Face): the weights are the combine's operand.
    const atCombine = build({ ...TINY_MOE, moe: { ...TINY_MOE.moe, routerWeights: 'combine' } }, 2);
    const combined = atCombine.layers[1]!.graph.ops.find((o) => o.name === 'block0.combine')!;
    expect(combined).toMatchObject({ einsum: 'ech,bsk,bsk->bsh', flops: 2 * b * s * topK * h });
    expect(combined.savedInputs).toBeUndefined();
    expect(atCombine.layers[1]!.graph.ops.some((o) => o.name.endsWith('weight_mul'))).toBe(false);
    // Index-based routing: the indices and slots are int32, a few bytes per token, no b·s·e·c mask.
    expect(tensor('route_indices')).toMatchObject({ shape: [b, s, topK], dtype: 'int32', param: false });
    expect(tensor('expert_slots')).toMatchObject({ shape: [e, c], dtype: 'int32', param: false });
    expect(tensor('w_expert_fc1')).toMatchObject({ shape: [e, h, 4 * h], param: true });
  });

  it.each([
    ['ep 2, 2 experts per device: a copy of every slot each way', 2, 2, 'alltoall'],
    ['ep 4, 1 expert per device: nothing to sort', 4, 0, 'alltoall'],
    ['no expert parallelism: no all-to-all dispatcher', 1, 0, 'alltoall'],
    ['ep 2 on the flex dispatcher, which sorts nothing', 2, 0, 'flex'],
  ])(
    'sorts the received tokens by local expert and back (Megatron sort_chunks_by_idxs), %s',
    (_, ep, copies, dispatcher) => {
      const moe = { ...TINY_MOE.moe, dispatcher };
      const built = buildTransformer(spec({ ...TINY_MOE, moe }), {
        microBatch: 2,
        precision: 'bf16',
        expertParallel: ep,
      });
      const block = built.layers[1]!.graph;
      const sorts = block.ops.filter((o) => o.kind === 'reshape' && o.einsum === 'ech->ech');
      expect(sorts).toHaveLength(copies);
      const [b, s, topK, experts] = [2, 32, 2, 4];
      // Each device's local experts hold ep · (its share of the routed copies): every slot is copied.
      const slotShape = [experts / ep, Math.ceil((topK * b * s * ep * 1.25) / experts), 64];
      for (const op of sorts)
        expect(block.tensors.find((t) => t.name === op.output)!.shape).toEqual(slotShape);
    },
  );

  it('applies the schema defaults: FFN size, norm, tying, KV heads', () => {
    const shape = (fields: Record<string, unknown>, tensor: string) =>
      build({ ...fields, layers: 1 }).layers[1]!.graph.tensors.find((t) => t.name === `block0.${tensor}`)!
        .shape;
    const llama7b = { hidden: 4096, heads: 32, vocab: 32000, seqLen: 16, activation: 'swiglu' };
    expect(shape(llama7b, 'w_gate')).toEqual([4096, 11008]);
    expect(shape({ ...llama7b, hidden: 8192, heads: 64 }, 'w_up')).toEqual([8192, 22016]);
    expect(shape({ ...llama7b, ffnHidden: 14336 }, 'w_down')).toEqual([14336, 4096]);
    expect(shape({ ...TINY_GPT }, 'w_fc1')).toEqual([64, 256]);
    expect(shape({ ...TINY_GPT }, 'wk')).toEqual([64, 4, 16]);
    expect(build(TINY_GPT).tied).toEqual({ embedding: 'embedding.table', head: 'head.table' });
    expect(build(TINY_LLAMA).tied).toBeNull();
    expect(build({ ...TINY_LLAMA, tiedEmbeddings: true }).tied).not.toBeNull();
  });

  it('wholeGraph of a layer range is a stage graph that starts from the previous output', () => {
    const model = build(TINY_GPT);
    const stage = wholeGraph(model, { first: 2, last: 4 });
    const g = parseGraph(stage);
    const input = g.tensors.get(model.layers[1]!.output)!;
    expect(input.producer).toBeNull();
    expect(input.consumers.length).toBeGreaterThan(0);
    expect(g.ops.at(-1)!.name).toBe('head.cross_entropy');
    expect(() => wholeGraph(model, { first: 3, last: 5 })).toThrow(RangeError);
  });

  it('wholeGraph merges a layer whose input has its own name onto the previous output', () => {
    const model = build(TINY_GPT);
    const [embedding, block] = model.layers as [ModelLayer, ModelLayer];
    const rename = (t: string) => (t === block.input ? 'block0.x_in' : t);
    const renamed: ModelLayer = {
      ...block,
      input: 'block0.x_in',
      graph: {
        tensors: block.graph.tensors.map((t) => ({ ...t, name: rename(t.name) })),
        ops: block.graph.ops.map((op) => ({ ...op, inputs: op.inputs.map(rename) })),
      },
    };
    const g = parseGraph(wholeGraph({ name: 'm', layers: [embedding, renamed] }));
    expect(g.tensors.has('block0.x_in')).toBe(false);
    expect(g.tensors.get(embedding.output)!.consumers.map((u) => g.ops[u.op]!.name)).toContain('block0.ln1');
  });
});

describe('buildTransformer: signatures', () => {
  it('gives all blocks of a dense model one signature, distinct from embedding and head', () => {
    for (const fields of [TINY_GPT, TINY_LLAMA, TINY_MOE]) {
      const [embedding, ...rest] = build(fields).layers;
      const head = rest.pop()!;
      expect(new Set(rest.map((l) => l.signature)).size).toBe(1);
      expect([embedding!.signature, head.signature]).not.toContain(rest[0]!.signature);
      expect(embedding!.signature).not.toBe(head.signature);
    }
  });

  it('changes with any size or structure that changes the graph', () => {
    const blockSignature = (fields: Record<string, unknown>, microBatch = 1) =>
      build(fields, microBatch).layers[1]!.signature;
    const base = blockSignature(TINY_GPT);
    expect(blockSignature({ ...TINY_GPT, layers: 7 })).toBe(base);
    expect(blockSignature({ ...TINY_GPT, hidden: 128 })).not.toBe(base);
    expect(blockSignature({ ...TINY_GPT, seqLen: 64 })).not.toBe(base);
    expect(blockSignature(TINY_GPT, 2)).not.toBe(base);
    expect(blockSignature({ ...TINY_GPT, kvHeads: 2 })).not.toBe(base);
    expect(blockSignature(TINY_MOE)).not.toBe(base);
    expect(blockSignature({ ...TINY_MOE, moe: { experts: 8, topK: 2 } })).not.toBe(blockSignature(TINY_MOE));
  });
});

describe('graphSignature', () => {
  it('ignores names and the order tensors are listed in, but no other field', () => {
    const block = build(TINY_GPT).layers[1]!;
    const renamed = localNames(block);
    expect(graphSignature({ ...renamed, tensors: [...renamed.tensors].reverse() })).toBe(block.signature);
    const change = (i: number, fields: Record<string, unknown>) =>
      graphSignature({
        ...block.graph,
        ops: block.graph.ops.map((op, j) => (j === i ? { ...op, ...fields } : op)),
      });
    expect(change(0, { selectiveRecompute: true })).not.toBe(block.signature);
    expect(change(0, { flops: 1 })).not.toBe(block.signature);
    expect(change(0, { kind: 'other' })).not.toBe(block.signature);
    // A fused op's partner counts by its place: another partner is another graph.
    const k = block.graph.ops.findIndex((op) => op.fusedWith !== undefined);
    const other = block.graph.ops.find(
      (op, j) => j !== k && op.kind === 'matmul' && op.name !== block.graph.ops[k]!.fusedWith,
    )!;
    expect(change(k, { fusedWith: other.name })).not.toBe(block.signature);
    const asParam = block.graph.tensors.map((t) => (t.name === block.input ? { ...t, param: true } : t));
    expect(graphSignature({ ...block.graph, tensors: asParam })).not.toBe(block.signature);
  });
});

describe('buildTransformer: bad input', () => {
  it('names the field of an inconsistent spec', () => {
    const bad = { ...spec(TINY_GPT), kvHeads: 3 };
    expect(issuesOf(() => buildTransformer(bad, { microBatch: 1, precision: 'bf16' }))[0]!.path).toBe(
      'kvHeads',
    );
    const misspelt = { ...spec(TINY_GPT), hiden: 64 };
    expect(issuesOf(() => buildTransformer(misspelt, { microBatch: 1, precision: 'bf16' }))[0]!.path).toBe(
      'hiden',
    );
    const moe = {
      ...spec(TINY_GPT),
      moe: {
        experts: 2,
        topK: 4,
        capacityFactor: 1,
        sharedExperts: 0,
        denseLayers: 0,
        dropless: false,
        routerWeights: 'activation' as const,
      },
    };
    expect(issuesOf(() => buildTransformer(moe, { microBatch: 1, precision: 'bf16' }))[0]!.path).toBe(
      'moe.topK',
    );
  });

  it('names a sliding window that windows nothing, or one on latent attention', () => {
    const pathOf = (extra: object) =>
      issuesOf(() =>
        buildTransformer({ ...spec(TINY_GPT), ...extra }, { microBatch: 1, precision: 'bf16' }),
      )[0]!.path;
    expect(pathOf({ slidingWindow: { size: 16, fullAttentionEvery: 1 } })).toBe(
      'slidingWindow.fullAttentionEvery',
    );
    expect(pathOf({ slidingWindow: { size: 0 } })).toBe('slidingWindow.size');
    const mla = { qLoraRank: null, kvLoraRank: 32, qkNopeHeadDim: 16, qkRopeHeadDim: 8, vHeadDim: 16 };
    expect(pathOf({ mla, slidingWindow: { size: 16 } })).toBe('slidingWindow');
  });

  it('names a bad build option', () => {
    const issues = issuesOf(() => buildTransformer(spec(TINY_GPT), { microBatch: 0.5, precision: 'bf16' }));
    expect(issues.map((i) => i.path)).toEqual(['microBatch']);
  });
});
