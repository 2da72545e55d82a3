/**
 * Hybrid Mamba models (TransformerSpec.hybridPattern): the layers the pattern spells, the Mamba-2
 * mixer's parameters and kept activations against Megatron-Core's by hand, the SSD scan's FLOPs against
 * a walk of the chunked algorithm, context parallelism's exchanges by hand, and the refusals that name
 * the field.
 */
import { describe, expect, it } from 'vitest';
import { groupAxis, SOLO_AXIS } from '../../src/cluster/axis.ts';
import { resolveCluster } from '../../src/cluster/cluster.ts';
import { collectiveSec } from '../../src/cluster/collectives.ts';
import { logicalMesh } from '../../src/cluster/mesh.ts';
import { megatronStrategy } from '../../src/cost/megatron-layout.ts';
import { costContext, costOfOp } from '../../src/cost/op-cost.ts';
import { FRAMEWORKS } from '../../src/frameworks/index.ts';
import { parseGraph } from '../../src/graph/index.ts';
import { ssdScanFlops } from '../../src/graph/kernels.ts';
import { resolveDims } from '../../src/model/dims.ts';
import { buildTransformer } from '../../src/model/index.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { ClusterSpec, PlanRequest } from '../../src/schema/index.ts';
import { nemotron3NanoModel } from '../frameworks/models.ts';
import { build, relErr, spec } from './helpers.ts';

/** Nemotron 3 Nano 30B-A3B (Megatron-Bridge's recipe): 23 Mamba-2, 23 MoE and 6 attention layers. */
const NANO = nemotron3NanoModel;

/** A Mamba-2 mixer's parameters as Megatron-Core's MambaMixer holds them, with its layer's norm. */
function mambaLayerParams(
  h: number,
  m: { heads: number; headDim: number; stateDim: number; groups: number },
) {
  const inner = m.heads * m.headDim;
  const bc = 2 * m.groups * m.stateDim;
  const inProj = h * (2 * inner + bc + m.heads);
  const conv = (inner + bc) * (4 + 1); // d_conv 4 taps and a bias per channel
  const perHead = 3 * m.heads; // dt_bias, A_log, D
  return h + inProj + conv + perHead + inner + inner * h; // + grouped norm weight + out_proj
}

describe('hybrid Mamba models', () => {
  it('builds one mixer a layer as the pattern spells it', () => {
    const model = build(NANO);
    const blocks = model.layers.filter((l) => l.kind === 'block');
    expect(blocks).toHaveLength(52);
    const kinds = blocks.map((l) => {
      const names = l.graph.ops.map((o) => o.name.split('.').at(-1));
      if (names.includes('ssd_scan')) return 'M';
      if (names.includes('attention')) return '*';
      if (names.includes('dispatch')) return 'E';
      return '-';
    });
    expect(kinds.join('')).toBe(NANO.hybridPattern);
  });

  it('drops out a Mamba mixer’s output where the model drops out its branches (MambaLayer’s hidden dropout)', () => {
    const ops = (dropout: boolean) =>
      build({ ...NANO, seqLen: 256, vocab: 1024, dropout }).layers[1]!.graph.ops.map((o) => o.name);
    expect(ops(true)).toContain('block0.mixer_dropout');
    expect(ops(false)).not.toContain('block0.mixer_dropout');
  });

  it('holds the parameters Megatron-Core gives its layers (30B total, Megatron-Bridge: "30B parameters in total")', () => {
    const h = NANO.hidden;
    const mamba = 23 * mambaLayerParams(h, NANO.mamba);
    const attention = 6 * (h + h * (32 * 128) + 2 * h * (2 * 128) + 32 * 128 * h);
    const expert = 2 * h * 1856;
    const moe = 23 * (h + h * 128 + 128 * expert + 2 * h * 3712);
    const embeddings = 2 * 131072 * h + h;
    const byHand = mamba + attention + moe + embeddings;
    expect(relErr(build(NANO).params, byHand)).toBeLessThan(1e-6);
    expect(relErr(byHand, 31.6e9)).toBeLessThan(0.02);
  });

  it('holds Nemotron 3 Super’s checkpoint, element for element (latent MoE, one MTP block run at both depths)', () => {
    // Megatron-Bridge's verification card of nvidia/NVIDIA-Nemotron-3-Super-120B-A12B counts
    // 123,611,033,088 elements (examples/model_verification_cards/nemotron-3-super-120b-a12b/card.yaml
    // at 4ab94dfad3), with its one MTP block ('*E', repeated for both depths); of them each MoE layer's
    // 512 router expert biases are buffers the load balancer sets, not trained parameters.
    const superSpec = {
      layers: 88,
      hidden: 4096,
      heads: 32,
      kvHeads: 2,
      headDim: 128,
      ffnHidden: 2688,
      vocab: 131072,
      seqLen: 8192,
      activation: 'squared-relu',
      mtpLayers: 2,
      mtpRepeatedLayer: true,
      hybridPattern:
        'MEMEMEM*EMEMEMEM*EMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEM*EMEMEMEME',
      mamba: { heads: 128, headDim: 64, stateDim: 128, groups: 8 },
      moe: {
        experts: 512,
        topK: 22,
        ffnHidden: 2688,
        sharedExperts: 1,
        sharedFfnHidden: 5376,
        latentSize: 1024,
        dropless: true,
      },
    };
    const moeLayers = 40 + 1;
    const model = build(superSpec);
    expect(model.params).toBe(123_611_033_088 - moeLayers * 512);
    // Both depths compute: the second runs the first one's weights, with its own activations.
    const head = model.layers.at(-1)!.graph;
    const second = head.ops.filter((o) => o.name.startsWith('head.mtp1_'));
    expect(second.length).toBeGreaterThan(10);
    const weights = new Set(head.tensors.filter((t) => t.param).map((t) => t.name));
    const read = second.flatMap((o) => o.inputs.filter((i) => weights.has(i)));
    expect(read.length).toBeGreaterThan(10);
    expect(read.filter((w) => !w.includes('mtp0_') && w !== 'head.table')).toEqual([]);
    // Unrepeated, each depth holds a block of its own: one more attention and MoE block's weights.
    const separate = build({ ...superSpec, mtpRepeatedLayer: false }).params;
    expect(separate - model.params).toBeGreaterThan(2.5e9);
  });

  it('refuses a repeated multi-token prediction layer without one, naming the field', () => {
    const parsed = PlanRequest.safeParse({
      model: { ...NANO, mtpRepeatedLayer: true },
      cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 },
      training: { globalBatch: 8, precision: 'bf16' },
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toContain('model.mtpRepeatedLayer');
  });

  it('prices the SSD scan at the FLOPs a walk of the chunked algorithm performs', () => {
    // The chunked SSD, contraction by contraction, counting a multiply-add as 2 FLOPs.
    const shape = { tokens: 2 * 512, heads: 8, headDim: 16, groups: 2, stateDim: 32, chunkSize: 64 };
    let flops = 0;
    const chunks = shape.tokens / shape.chunkSize;
    for (let c = 0; c < chunks; c++) {
      for (let g = 0; g < shape.groups; g++)
        for (let i = 0; i < shape.chunkSize; i++)
          for (let j = 0; j < shape.chunkSize; j++) flops += 2 * shape.stateDim; // C_i · B_j
      for (let hd = 0; hd < shape.heads; hd++) {
        for (let i = 0; i < shape.chunkSize; i++) {
          for (let j = 0; j <= i; j++) flops += 2 * shape.headDim; // masked scores × x_j
          flops += 2 * shape.stateDim * shape.headDim; // C_i · carried state
          flops += 2 * shape.stateDim * shape.headDim; // B_i ⊗ x_i into the chunk's state
        }
      }
    }
    // The causal half counted as Q·P a token (the walk's diagonal adds Q/2 more terms a row).
    const diagonal = chunks * shape.heads * shape.chunkSize * 2 * shape.headDim * 0.5;
    expect(relErr(ssdScanFlops(shape), flops - diagonal)).toBeLessThan(1e-9);
  });

  it('keeps what Megatron-Core keeps for a Mamba layer’s backward', () => {
    const b = 1;
    const s = 256;
    const small = { ...NANO, seqLen: s, vocab: 1024 };
    const dims = resolveDims(spec(small), { microBatch: b, precision: 'bf16' });
    const model = buildTransformer(spec(small), { microBatch: b, precision: 'bf16' });
    const graph = parseGraph(model.layers[1]!.graph); // block0: M
    const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'H100-80GB', nodes: 1, gpusPerNode: 1 }));
    const ctx = costContext(graph, logicalMesh(cluster, [1, 1]), cluster.gpu, 'none');
    const kept = graph.ops.reduce(
      (sum, op) => sum + costOfOp(op, { split: [null, null] }, false, ctx).activationBytes,
      0,
    );
    const m = dims.mamba!;
    const inner = m.heads * m.headDim;
    const packed = m.heads * (2 * m.headDim + 1 + (2 * m.groups * m.stateDim) / m.heads);
    // The norm's input (the residual stream), in_proj's input, the packed z x B C dt, the scan's
    // output, the grouped norm's input and out_proj's, in bf16.
    const elements = b * s * (2 * dims.hidden + packed + 3 * inner);
    expect(kept).toBe(2 * elements);
  });

  it('splits the mixer by heads under Megatron tensor parallelism', () => {
    const model = build({ ...NANO, seqLen: 256, vocab: 1024 });
    const graph = parseGraph(model.layers[1]!.graph);
    const split = (name: string) =>
      megatronStrategy(graph.ops.find((o) => o.name === `block0.${name}`)!, {
        tp: 2,
        sequenceParallel: false,
      }).split[1];
    for (const name of ['in_proj', 'zxbcdt_transpose', 'ssd_scan', 'ssm_norm', 'out_proj'])
      expect(split(name)).toBe('a');
  });

  it('refuses a pattern that does not fit the spec, naming the field', () => {
    const issues = (fields: Record<string, unknown>) => {
      try {
        spec(fields);
        return [];
      } catch (error) {
        return (error as { issues: { path: (string | number)[] }[] }).issues.map((i) => i.path.join('.'));
      }
    };
    expect(issues({ ...NANO, layers: 50 })).toContain('hybridPattern');
    expect(issues({ ...NANO, mamba: undefined })).toContain('mamba');
    expect(issues({ ...NANO, hybridPattern: undefined })).toContain('hybridPattern');
    expect(issues({ ...NANO, hybridPattern: `${NANO.hybridPattern.slice(0, 51)}X` })).toContain(
      'hybridPattern',
    );
    expect(issues({ ...NANO, mamba: { ...NANO.mamba, groups: 6 } })).toContain('mamba.groups');
  });

  it('knows which recompute modules a pattern has (a dense MLP only where it has - layers)', () => {
    const request = (pattern: string, modules: string[]) =>
      PlanRequest.safeParse({
        model: { ...NANO, layers: pattern.length, hybridPattern: pattern },
        cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 },
        training: { globalBatch: 8, precision: 'bf16' },
        parallel: { recompute: 'selective', recomputeModules: modules },
      }).success;
    expect(request('MEM*E', ['mlp'])).toBe(false);
    expect(request('ME-*E', ['mlp'])).toBe(true);
    expect(request('MEME', ['core_attn'])).toBe(false);
    expect(request('MEM*E', ['core_attn', 'moe_act'])).toBe(true);
  });

  it('runs context parallelism as Megatron-Core’s Mamba mixer does: the packed projection all-to-all to whole-sequence heads, the output back', () => {
    const [b, s, cp] = [1, 8192, 2];
    const mamba = { heads: 32, headDim: 64, stateDim: 128, groups: 8 };
    const model = { ...NANO, layers: 1, hybridPattern: 'M', mamba, moe: undefined, vocab: 1024, seqLen: s };
    const ops = (degree: number) =>
      buildTransformer(spec(model), {
        microBatch: b,
        precision: 'bf16',
        contextParallel: { degree, commType: 'p2p' },
      }).layers[1]!.graph;
    // cp 1 leaves the mixer as it was; cp 2 adds the exchanges and Megatron's copies around the scan.
    expect(
      ops(1)
        .ops.map((o) => o.name.split('.')[1])
        .filter((n) => n!.startsWith('cp_')),
    ).toEqual([]);
    const graph = parseGraph(ops(cp));
    const names = graph.ops.map((o) => o.name.split('.')[1]);
    expect(names.slice(names.indexOf('in_proj'), names.indexOf('ssm_norm') + 1)).toEqual([
      'in_proj',
      'cp_to_heads',
      'cp_concat',
      'cp_sequence_order',
      'zxbcdt_transpose',
      'ssd_scan',
      'ssm_out_transpose',
      'cp_balance_order',
      'cp_to_sequence',
      'ssm_norm',
    ]);
    const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 }));
    const cpAxis = groupAxis(cluster, cp, 1, false);
    const ctx = costContext(graph, logicalMesh(cluster, [1, 1]), cluster.gpu, 'none', {
      cp: cpAxis,
      ep: SOLO_AXIS,
    });
    const exchanged = (name: string) => {
      const op = graph.ops.find((o) => o.name.endsWith(`.${name}`))!;
      return costOfOp(op, { split: [null, null] }, false, ctx).exchange;
    };
    // A device's s/cp tokens: z, x, B, C and dt of every head in, x's width of every head out.
    const tokens = (b * s) / cp;
    const packed =
      tokens * (2 * mamba.heads * mamba.headDim + 2 * mamba.groups * mamba.stateDim + mamba.heads) * 2;
    const output = tokens * mamba.heads * mamba.headDim * 2;
    const toHeads = collectiveSec('all-to-all', cpAxis, packed * cp);
    const toSequence = collectiveSec('all-to-all', cpAxis, output * cp);
    expect(exchanged('cp_to_heads')).toMatchObject({ forwardSec: toHeads, backwardSec: toHeads });
    expect(exchanged('cp_to_sequence')).toMatchObject({ forwardSec: toSequence, backwardSec: toSequence });
    for (const copy of ['cp_concat', 'cp_sequence_order', 'cp_balance_order'])
      expect(exchanged(copy)).toMatchObject({ forwardSec: 0, backwardSec: 0 });
    expect(exchanged('ssd_scan')).toMatchObject({ forwardSec: 0, backwardSec: 0 });
  });

  it('plans Nemotron 3 Nano with context parallelism, which Megatron-LM alone builds', async () => {
    const request = {
      model: { ...NANO, seqLen: 32768 },
      cluster: { gpu: 'B200-180GB', nodes: 2, gpusPerNode: 8 },
      training: { globalBatch: 16, precision: 'bf16' },
      parallel: { tp: 1, pp: 1, dp: 8, cp: 2, ep: 8, microBatch: 1, recompute: 'full' },
      options: { target: 'megatron' },
    };
    const plan = await estimate(request);
    expect(plan.summary?.stepTimeSec).toBeGreaterThan(0);
    expect(plan.breakdown?.cpCommSec).toBeGreaterThan(0);
    expect(plan.exports?.megatron.args.join(' ')).toContain('--context-parallel-size 2');
    expect(plan.exports?.megatron.notes.join(' ')).toMatch(/whole sequence of 1\/2 of its heads/);
    const dims = resolveDims(spec(NANO), { microBatch: 1, precision: 'bf16' });
    expect(FRAMEWORKS.megatron.builds(dims).ok).toBe(true);
    for (const framework of [FRAMEWORKS.torchtitan, FRAMEWORKS.deepspeed, FRAMEWORKS.jax]) {
      const verdict = framework.builds(dims);
      expect(verdict.ok).toBe(false);
      if (!verdict.ok) expect(verdict.reason).toMatch(/hybridPattern/);
    }
  });
});
