import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../src/graph/index.ts';
import { wholeGraph } from '../../src/model/index.ts';
import { build, relErr, TINY_GPT, TINY_LLAMA } from './helpers.ts';

interface Gpt {
  readonly name: string;
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly microBatch: number;
}

/**
 * GPT-3 175B (Brown et al. 2020) and rows of Narayanan et al. SC'21 Table 1 (seq 2048, vocab
 * 51,200; microbatch from its run_table_1.sh, as pinned in ../shared/reference/published-runs.json).
 */
const GPTS: readonly Gpt[] = [
  { name: 'GPT-3 175B', layers: 96, hidden: 12288, heads: 96, microBatch: 1 },
  { name: 'SC21 1.7B', layers: 24, hidden: 2304, heads: 24, microBatch: 16 },
  { name: 'SC21 39B', layers: 48, hidden: 8192, heads: 64, microBatch: 4 },
  { name: 'SC21 1T', layers: 128, hidden: 25600, heads: 160, microBatch: 1 },
];
const SEQ = 2048;
const VOCAB = 51200;

const gptModel = (g: Gpt) =>
  build({ layers: g.layers, hidden: g.hidden, heads: g.heads, vocab: VOCAB, seqLen: SEQ }, g.microBatch);

describe("GPT against SC'21", () => {
  it.each(GPTS)('$name: 3 × forward FLOPs within 1% of eq. 3 without recomputation', (g) => {
    const { layers: l, hidden: h, microBatch: B } = g;
    const eq3 = 72 * B * SEQ * l * h * h * (1 + SEQ / (6 * h) + VOCAB / (12 * l * h));
    expect(relErr(3 * gptModel(g).forwardFlops, eq3)).toBeLessThan(0.01);
  });

  it.each(GPTS)(
    '$name: parameters exactly 12·l·h² + 13·l·h + V·h + s·h + 2h, as Megatron-LM builds it',
    (g) => {
      // Per block: q, k, v, output, fc1, fc2 with biases (12h² + 10h) and two LayerNorms (4h); the
      // token and learned position tables; the final LayerNorm; the head tied to the token table.
      const { layers: l, hidden: h } = g;
      expect(gptModel(g).params).toBe(12 * l * h * h + 13 * l * h + VOCAB * h + SEQ * h + 2 * h);
    },
  );

  it('GPT-3 has 175 billion parameters (within 1%)', () => {
    expect(relErr(gptModel(GPTS[0]!).params, 175e9)).toBeLessThan(0.01);
  });

  it('counts the tied table once in params but keeps a copy in the head layer', () => {
    const model = build(TINY_GPT);
    const graph = parseGraph(wholeGraph(model));
    const tensorParams = [...graph.tensors.values()].reduce((n, t) => n + (t.param ? t.numel : 0), 0);
    expect(tensorParams - model.params).toBe(TINY_GPT.vocab * TINY_GPT.hidden);
    const untied = build({ ...TINY_GPT, tiedEmbeddings: false });
    expect(untied.params - model.params).toBe(TINY_GPT.vocab * TINY_GPT.hidden);
  });
});

interface Llama {
  readonly name: string;
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly ffnHidden: number;
  readonly vocab: number;
  readonly seqLen: number;
}

/** Llama 2 (Touvron et al. 2023) and Llama 3 (Meta's model card / config.json). */
const LLAMAS: readonly Llama[] = [
  {
    name: 'Llama-2-7B',
    layers: 32,
    hidden: 4096,
    heads: 32,
    kvHeads: 32,
    ffnHidden: 11008,
    vocab: 32000,
    seqLen: 4096,
  },
  {
    name: 'Llama-3-70B',
    layers: 80,
    hidden: 8192,
    heads: 64,
    kvHeads: 8,
    ffnHidden: 28672,
    vocab: 128256,
    seqLen: 8192,
  },
];

/** Parameters of the matmuls: q, o (h²), k, v (h·g·d), gate, up, down (h·f) per layer; the LM head. */
function matmulParams(m: Llama): number {
  const kv = (m.hidden / m.heads) * m.kvHeads;
  return (
    m.layers * (2 * m.hidden * m.hidden + 2 * m.hidden * kv + 3 * m.hidden * m.ffnHidden) + m.vocab * m.hidden
  );
}

const llamaModel = (m: Llama) => build({ ...m, activation: 'swiglu' });

describe('Llama against closed forms', () => {
  it.each(LLAMAS)(
    '$name: 3 × forward FLOPs within 1% of 6·N′·T + 12·l·h·s·T (PaLM App. B; N′ without the input embedding)',
    (m) => {
      const tokens = m.seqLen;
      const palm = 6 * matmulParams(m) * tokens + 12 * m.layers * m.hidden * m.seqLen * tokens;
      expect(relErr(3 * llamaModel(m).forwardFlops, palm)).toBeLessThan(0.01);
    },
  );

  it('Llama-3-70B has 70.6 billion parameters (within 1%)', () => {
    expect(relErr(llamaModel(LLAMAS[1]!).params, 70.6e9)).toBeLessThan(0.01);
  });

  it('Llama-2-7B has 6.74 billion parameters (within 1%)', () => {
    expect(relErr(llamaModel(LLAMAS[0]!).params, 6.74e9)).toBeLessThan(0.01);
  });
});

describe('MoE', () => {
  const base = { ...TINY_GPT, layers: 2 };
  /** FLOPs of the whole graph's ops whose names match. */
  const opFlops = (model: ReturnType<typeof build>, pattern: RegExp) =>
    parseGraph(wholeGraph(model))
      .ops.filter((op) => pattern.test(op.name))
      .reduce((sum, op) => sum + op.flops, 0);

  it.each([
    ['GELU', base, 2],
    ['SwiGLU', { ...TINY_LLAMA, layers: 2 }, 3],
  ] as const)('%s: parameters are the dense part plus e expert MLPs and a router', (_, fields, matrices) => {
    const [e, h, l] = [8, fields.hidden, fields.layers];
    const dense = build(fields);
    const moe = build({ ...fields, moe: { experts: e, topK: 2 } });
    const f = dense.layers[1]!.graph.tensors.find(
      (t) => t.name === 'block0.w_up' || t.name === 'block0.w_fc1',
    )!.shape[1]!;
    // GPT's MLP has a bias on each linear layer (f + h parameters), every expert's too.
    const mlp = matrices * h * f + (matrices === 2 ? f + h : 0);
    expect(moe.params).toBe(dense.params - l * mlp + l * (e * mlp + h * e));
  });

  it('Mixtral 8x7B has 46.7 billion parameters (within 1%)', () => {
    const mixtral = build({
      layers: 32,
      hidden: 4096,
      heads: 32,
      kvHeads: 8,
      ffnHidden: 14336,
      vocab: 32000,
      seqLen: 4096,
      activation: 'swiglu',
      moe: { experts: 8, topK: 2 },
    });
    expect(relErr(mixtral.params, 46.7e9)).toBeLessThan(0.01);
  });

  it('expert FLOPs scale with topK × capacity factor, not with the expert count', () => {
    const B = 4;
    const tokens = B * base.seqLen;
    const denseMlp = opFlops(build(base, B), /\.fc[12]$/);
    expect(denseMlp).toBe(base.layers * 2 * 2 * tokens * base.hidden * 4 * base.hidden);
    for (const [experts, topK, capacityFactor] of [
      [4, 1, 1],
      [8, 1, 1],
      [8, 2, 1],
      [16, 2, 1.5],
    ] as const) {
      const moe = build({ ...base, moe: { experts, topK, capacityFactor } }, B);
      expect(opFlops(moe, /\.expert_fc[12]$/) / denseMlp).toBeCloseTo(topK * capacityFactor, 9);
    }
  });

  it('more experts leave the forward FLOPs almost unchanged; a larger topK raises them', () => {
    const flops = (experts: number, topK: number) =>
      build({ ...base, moe: { experts, topK } }, 4).forwardFlops;
    expect(relErr(flops(16, 2), flops(4, 2))).toBeLessThan(0.01);
    expect(flops(16, 4) / flops(16, 2)).toBeGreaterThan(1.3);
  });
});
