import { describe, expect, it } from 'vitest';
import { resolveCluster } from '../../src/cluster/cluster.ts';
import { logicalMesh } from '../../src/cluster/mesh.ts';
import { KERNEL_LAUNCH_SEC } from '../../src/cost/kernel-rates.ts';
import { costContext, costOfOp } from '../../src/cost/op-cost.ts';
import { quantizedCastSec, quantizedFormat } from '../../src/cost/quantized-gemm.ts';
import { parseGraph } from '../../src/graph/index.ts';
import { buildTransformer } from '../../src/model/transformer.ts';
import { ClusterSpec, type OpGraphInput } from '../../src/schema/index.ts';
import { TransformerSpec } from '../../src/schema/model.ts';
import { LLAMA3_8B } from '../support/models.ts';

/*
 * One linear module, one cast of its input: Megatron-LM's linear_qkv writes q, k and v in one GEMM,
 * linear_fc1 a gated MLP's gate and up halves (a grouped one for experts), MLA's linear_q_up_proj,
 * linear_kv_down_proj and linear_kv_up_proj each head's rotary or value part with the rest
 * (core_v0.19.0 attention.py, mlp.py, multi_latent_attention.py). Transformer Engine quantizes a
 * module's input once. Oracle: the cast's bytes and kernels written out by hand.
 */

const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'H100-80GB', nodes: 1, gpusPerNode: 1 }));
const gpu = cluster.gpu;
const hbm = gpu.hbmGBps * 1e9 * gpu.efficiency.memory;

/** Two FP8 GEMMs reading x (b·s·h), the second fused with the first or not. */
function twoGemms(fused: boolean): OpGraphInput {
  const [b, s, h, f] = [1, 4096, 4096, 1024];
  return {
    tensors: [
      { name: 'x', shape: [b, s, h] },
      { name: 'wq', shape: [h, f], param: true },
      { name: 'wk', shape: [h, f], param: true },
      { name: 'q', shape: [b, s, f] },
      { name: 'k', shape: [b, s, f] },
    ],
    ops: [
      {
        name: 'q_proj',
        einsum: 'bsh,hf->bsf',
        inputs: ['x', 'wq'],
        output: 'q',
        kind: 'matmul',
        computeDtype: 'fp8',
      },
      {
        name: 'k_proj',
        einsum: 'bsh,hf->bsf',
        inputs: ['x', 'wk'],
        output: 'k',
        kind: 'matmul',
        computeDtype: 'fp8',
        ...(fused ? { fusedWith: 'q_proj' } : {}),
      },
    ],
  };
}

function kProjCost(fused: boolean) {
  const graph = parseGraph(twoGemms(fused));
  const ctx = costContext(graph, logicalMesh(cluster, [1, 1]), gpu, 'none');
  return costOfOp(graph.ops[1]!, { split: [null, null] }, false, ctx);
}

describe('a GEMM fused into another’s linear module', () => {
  it('casts no input of its own and its output gradient in the module’s kernels', () => {
    const [x, out] = [2 ** 27, 2 ** 25];
    const fp8 = quantizedFormat('fp8')!;
    expect(quantizedCastSec(fp8, x, out, gpu, 1, true)).toEqual({
      forwardSec: 0,
      // FP8's output gradient: amax read, cast read, the cast and its transpose written (2 + 2 + 2 a
      // bf16 element), no launch of its own.
      backwardSec: ((out / 2) * 6) / hbm,
    });
  });

  it('costs its op exactly the input cast less: 2.5 bytes an input byte and 3 kernels forward, the transpose and 4 kernels backward', () => {
    const [apart, fused] = [kProjCost(false), kProjCost(true)];
    const xBytes = 4096 * 4096 * 2;
    expect(apart.forwardSec - fused.forwardSec).toBeCloseTo((2.5 * xBytes) / hbm + 3 * KERNEL_LAUNCH_SEC, 12);
    // Backward: the saved FP8 input's transpose (1 byte read, 1 written an element) and the
    // gradient cast's four launches.
    expect(apart.backwardSec - fused.backwardSec).toBeCloseTo(xBytes / hbm + 4 * KERNEL_LAUNCH_SEC, 12);
  });

  it('is refused naming the field where the partner is missing, not a matmul, or reads other inputs', () => {
    const bad = (fusedWith: string, change: (g: OpGraphInput) => OpGraphInput = (g) => g) => {
      const g = twoGemms(false);
      const ops = g.ops.map((op, i) => (i === 1 ? { ...op, fusedWith } : op));
      expect(() => parseGraph(change({ ...g, ops }))).toThrow(/ops\[1\]\.fusedWith/);
    };
    bad('v_proj');
    bad('k_proj');
    bad('q_proj', (g) => ({ ...g, ops: g.ops.map((op, i) => (i === 0 ? { ...op, kind: 'other' } : op)) }));
    bad('q_proj', (g) => ({
      ...g,
      tensors: [...g.tensors, { name: 'x2', shape: [1, 4096, 4096] }],
      ops: g.ops.map((op, i) => (i === 1 ? { ...op, inputs: ['x2', 'wk'] } : op)),
    }));
  });
});

describe('the transformer’s fused modules', () => {
  const fusedOf = (spec: object, block = 1) => {
    const model = buildTransformer(TransformerSpec.parse(spec), { microBatch: 1, precision: 'fp8' });
    const layer = model.layers[block]!;
    const local = (name: string) => name.slice(layer.name.length + 1);
    return {
      pairs: Object.fromEntries(
        layer.graph.ops
          .filter((op) => op.fusedWith !== undefined)
          .map((op) => [local(op.name), local(op.fusedWith!)]),
      ),
      signatures: model.layers.map((l) => l.signature),
    };
  };

  it('linear_qkv and linear_fc1: k and v with q, up with gate; the blocks keep one signature', () => {
    const { pairs, signatures } = fusedOf({ ...LLAMA3_8B, layers: 3, vocab: 32000 });
    expect(pairs).toEqual({ k_proj: 'q_proj', v_proj: 'q_proj', up_proj: 'gate_proj' });
    expect(new Set(signatures.slice(1, 4)).size).toBe(1);
  });

  it('experts and shared experts: their up halves with their gates', () => {
    const moe = { experts: 8, topK: 2, ffnHidden: 1024, sharedExperts: 1, dropless: true };
    const { pairs } = fusedOf({ ...LLAMA3_8B, layers: 2, vocab: 32000, moe });
    expect(pairs).toMatchObject({ expert_up_proj: 'expert_gate_proj', shared_up_proj: 'shared_gate_proj' });
  });

  it('MLA: the rotary query with the query up projection, the rotary key with the latent, v with k', () => {
    const mla = { qLoraRank: 512, kvLoraRank: 256, qkNopeHeadDim: 64, qkRopeHeadDim: 32, vHeadDim: 64 };
    const { pairs } = fusedOf({ ...LLAMA3_8B, layers: 2, vocab: 32000, kvHeads: 32, mla });
    expect(pairs).toEqual({
      q_rope_proj: 'q_nope_proj',
      k_rope_proj: 'kv_down_proj',
      v_proj: 'k_nope_proj',
      up_proj: 'gate_proj',
    });
  });
});
