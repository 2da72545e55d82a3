/**
 * Today's models against closed forms (issue 13): DeepSeek-V3's published parameter counts, MoE
 * FLOPs from the active parameters, multi-head latent attention against DeepSeek-V2's formulas, and
 * the bytes context and expert parallelism move, as Megatron-LM moves them.
 */
import { describe, expect, it } from 'vitest';
import { groupAxis } from '../../src/cluster/axis.ts';
import { resolveCluster } from '../../src/cluster/cluster.ts';
import type { MeshAxis } from '../../src/cluster/mesh.ts';
import { logicalMesh } from '../../src/cluster/mesh.ts';
import { costContext, costOfOp } from '../../src/cost/op-cost.ts';
import { type OpGraph, parseGraph } from '../../src/graph/index.ts';
import { buildTransformer, wholeGraph } from '../../src/model/index.ts';
import { ClusterSpec } from '../../src/schema/index.ts';
import { build, DEEPSEEK_V3, relErr, spec } from './helpers.ts';

/** Every op of the whole model, parsed. */
const opsOf = (model: ReturnType<typeof build>): OpGraph['ops'] => parseGraph(wholeGraph(model)).ops;
const flopsOf = (ops: OpGraph['ops'], pattern: RegExp) =>
  ops.filter((op) => pattern.test(op.name)).reduce((sum, op) => sum + op.flops, 0);

describe('DeepSeek-V3 against its paper', () => {
  it('has 671B parameters, and 685B with its multi-token prediction module (within 1%)', () => {
    expect(relErr(build(DEEPSEEK_V3).params, 671e9)).toBeLessThan(0.01);
    expect(relErr(build({ ...DEEPSEEK_V3, mtpLayers: 1 }).params, 685e9)).toBeLessThan(0.01);
  });

  it('activates 37B parameters per token (within 3%): all but the unrouted experts', () => {
    const { layers, hidden: h, moe } = DEEPSEEK_V3;
    const routed = (layers - moe.denseLayers) * moe.experts * 3 * h * moe.ffnHidden;
    const active = build(DEEPSEEK_V3).params - routed * (1 - moe.topK / moe.experts);
    expect(relErr(active, 37e9)).toBeLessThan(0.03);
  });
});

describe('MoE FLOPs from the active parameters', () => {
  // A small DeepSeek-shaped model (MLA, shared expert, leading dense layer), dropless routing.
  const small = {
    layers: 3,
    hidden: 256,
    heads: 4,
    vocab: 1000,
    seqLen: 64,
    activation: 'swiglu',
    ffnHidden: 512,
    mla: { qLoraRank: 96, kvLoraRank: 64, qkNopeHeadDim: 32, qkRopeHeadDim: 16, vHeadDim: 32 },
    moe: { experts: 8, topK: 2, ffnHidden: 128, sharedExperts: 1, denseLayers: 1, dropless: true },
  } as const;

  it('the forward pass costs 2 FLOPs per active weight and token, plus attention over the sequence (within 1%)', () => {
    const b = 2;
    const model = build(small, b);
    const tokens = b * small.seqLen;
    const { layers, hidden: h, heads: n, mla, moe, vocab } = small;
    const routed = (layers - moe.denseLayers) * moe.experts * 3 * h * moe.ffnHidden;
    // Active parameters that multiply a token: not the embedding table, which is a lookup.
    const active = model.params - routed * (1 - moe.topK / moe.experts) - vocab * h;
    // Scores and context over every key (the graph counts the full s × s, as SC'21 does).
    const attention =
      layers * 2 * tokens * small.seqLen * n * (mla.qkNopeHeadDim + mla.qkRopeHeadDim + mla.vHeadDim);
    expect(relErr(model.forwardFlops, 2 * active * tokens + attention)).toBeLessThan(0.01);
  });

  it('dropless routing runs exactly topK expert MLPs per token, however many experts there are', () => {
    const b = 2;
    const tokens = b * small.seqLen;
    for (const experts of [4, 8, 16]) {
      const ops = opsOf(build({ ...small, moe: { ...small.moe, experts } }, b));
      const expertFlops = flopsOf(ops, /^block1\.expert_(gate|up|down)_proj$/);
      expect(expertFlops).toBe(2 * tokens * small.moe.topK * 3 * small.hidden * small.moe.ffnHidden);
    }
  });
});

describe('multi-head latent attention against DeepSeek-V2 (arXiv 2405.04434 §2.1)', () => {
  const model = build(DEEPSEEK_V3);
  const ops = opsOf(model);
  const { hidden: h, heads: n, seqLen: s, mla } = DEEPSEEK_V3;
  const { qLoraRank: dq, kvLoraRank: dc, qkNopeHeadDim: dn, qkRopeHeadDim: dr, vHeadDim: dv } = mla;

  it('projects through the latents with eqs. 12–19: per token 2·(h·d′c + d′c·n·(dn + dr) + h·(dc + dr) + dc·n·(dn + dv) + n·dv·h) FLOPs', () => {
    const perToken = 2 * (h * dq + dq * n * (dn + dr) + h * (dc + dr) + dc * n * (dn + dv) + n * dv * h);
    const projections = flopsOf(ops, /^block5\.(q_down|q_nope|q_rope|kv_down|k_rope|k_nope|v|out)_proj$/);
    expect(projections).toBe(perToken * s);
  });

  it('attends with (dn + dr)-wide queries and keys and dv-wide values over all s keys', () => {
    expect(flopsOf(ops, /^block5\.attention$/)).toBe(2 * s * s * n * (dn + dr + dv));
  });

  it('caches (dc + dr) elements per token and layer, 576 for DeepSeek-V3 (Table 1), against 2·n·dh for MHA', () => {
    const graph = parseGraph(wholeGraph(model));
    const latent = graph.tensors.get('block5.kv_down')!.shape.at(-1)!;
    const ropeKey = graph.tensors.get('block5.k_rope')!.shape.at(-1)!;
    expect(latent + ropeKey).toBe(dc + dr);
    expect(latent + ropeKey).toBe(576);
    expect(2 * n * (dn + dr)).toBeGreaterThan(50 * (latent + ropeKey));
  });
});

/** One outer group of `size` consecutive devices inside one 8-GPU NVLink domain. */
function group(size: number): MeshAxis {
  const node = resolveCluster(ClusterSpec.parse({ gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 }));
  return groupAxis(node, size, 1, false);
}

/** The cost of `opName` in a model built for cp, ep, on one device (the ops' own exchanges only). */
function exchangeOf(fields: Record<string, unknown>, build: { cp?: number; ep?: number }, opName: string) {
  const cp = build.cp ?? 1;
  const ep = build.ep ?? 1;
  const model = buildTransformer(spec(fields), {
    microBatch: 1,
    precision: 'bf16',
    contextParallel: { degree: cp, commType: 'p2p' },
    expertParallel: ep,
  });
  const graph = parseGraph(wholeGraph(model));
  const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'H100-80GB', nodes: 1, gpusPerNode: 1 }));
  const ctx = costContext(graph, logicalMesh(cluster, [1, 1]), cluster.gpu, 'none', {
    cp: group(cp),
    ep: group(ep),
  });
  const op = graph.ops.find((o) => o.name === opName)!;
  return costOfOp(op, { split: [null, null] }, false, ctx).exchange.transfers;
}

describe('what context and expert parallelism move', () => {
  const llama = {
    layers: 2,
    hidden: 1024,
    heads: 16,
    kvHeads: 4,
    vocab: 1000,
    seqLen: 8192,
    activation: 'swiglu',
  } as const;

  it('ring context parallelism: cp − 1 key/value blocks of s/cp tokens forward, and blocks with their gradients backward (Megatron-LM)', () => {
    const cp = 4;
    const headDim = llama.hidden / llama.heads;
    const kvBlock = 2 * (llama.seqLen / cp) * llama.kvHeads * headDim * 2;
    const transfers = exchangeOf(llama, { cp }, 'block0.attention');
    expect(transfers.map((t) => [t.phase, t.kind, t.bytes])).toEqual([
      ['forward', 'send-recv', (cp - 1) * kvBlock],
      ['backward', 'send-recv', (cp - 1) * 2 * kvBlock],
    ]);
  });

  it('expert dispatch: each device sends tokens · topK · h · bytes · (ep − 1)/ep in each all-to-all (dropless)', () => {
    const ep = 8;
    const moe = { ...llama, seqLen: 4096, moe: { experts: 16, topK: 2, dropless: true } };
    const tokens = moe.seqLen;
    for (const name of ['block0.dispatch', 'block0.combine']) {
      const transfers = exchangeOf(moe, { ep }, name);
      expect(transfers.map((t) => t.kind)).toEqual(['all-to-all', 'all-to-all']);
      for (const t of transfers) {
        // A transfer's bytes are the group's total: every device's share.
        const sentByOne = (t.bytes / ep) * ((ep - 1) / ep);
        expect(sentByOne).toBe(tokens * moe.moe.topK * moe.hidden * 2 * ((ep - 1) / ep));
      }
    }
  });
});
