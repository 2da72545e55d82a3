/**
 * DeepSpeed v0.16.4 exports of a varied set of plans, checked against the reference table read
 * from DeepSpeed's source (../shared/reference/frameworks/deepspeed-v0.16.4-config.json): every key
 * exists where it is written, every value is of the type the release reads, the batch rule and
 * "ZeRO ≤ 1 with the pipeline" hold, and the partition method named gives the plan's stages, with
 * per-layer parameter counts computed here from the model's sizes (closed forms).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipelineLayers } from '../../src/frameworks/deepspeed/layer-list.ts';
import { partitionBalanced, partitionUniform } from '../../src/frameworks/deepspeed/partition.ts';
import { deepspeed } from '../../src/frameworks/deepspeed/rules.ts';
import { buildExports, type RunShape } from '../../src/frameworks/index.ts';
import { resolveDims } from '../../src/model/dims.ts';
import type { Exports, PlanRequest, StageOut, Summary } from '../../src/schema/index.ts';
import {
  megatronLayout,
  mlpGraph,
  plannedStages,
  request,
  stagesOf,
  summaryOf,
} from '../exports/fixtures.ts';
import { dgxA100, gptModel, llamaModel } from './models.ts';

const REFERENCE = new URL(
  '../../../shared/reference/frameworks/deepspeed-v0.16.4-config.json',
  import.meta.url,
);
const reference = JSON.parse(readFileSync(REFERENCE, 'utf8')).schema as {
  top: Record<string, string>;
  zero: Record<string, string>;
  stages: number[];
  pipe: Record<string, string>;
  pipe_read: Record<string, string>;
};

type DeepSpeed = Exports['deepspeed'];
/** GPT-style: tied embeddings, learned positions, biases, LayerNorm, GELU (4h). */
const gpt = request({
  model: gptModel(8, 512, 4096),
  cluster: { ...dgxA100, nodes: 2 },
  training: { globalBatch: 64, precision: 'bf16' },
});
const gpt16 = request({ ...gpt, training: { ...gpt.training, precision: 'fp16' } });
/** Llama-style: untied, RoPE, RMSNorm, SwiGLU, GQA, a vocabulary worth five blocks. */
const llama = request({
  model: llamaModel(8, 512, 32000),
  cluster: { ...dgxA100, nodes: 2 },
  training: { globalBatch: 64, precision: 'fp16' },
});

/** Parameters of each layer of the PipelineModule list, from the model's sizes (closed forms). */
function layerParameters(req: PlanRequest): number[] {
  const m = req.model as Extract<PlanRequest['model'], { kind: 'transformer' }>;
  const h = m.hidden;
  if (m.activation === 'swiglu') {
    const kv = (m.kvHeads! * h) / m.heads;
    const f = Math.ceil(Math.floor((8 * h) / 3) / 256) * 256; // Llama's FFN rule
    const block = 2 * h * h + 2 * h * kv + 3 * h * f + 2 * h; // q, o; k, v; gate, up, down; 2 RMSNorms
    return [m.vocab * h, ...Array(m.layers).fill(block), h, m.vocab * h];
  }
  const embedding = m.vocab * h + m.seqLen * h; // token and learned position tables
  // SC'21: 12h² + 13h per block; the tied head builds the embedding module again.
  return [embedding, ...Array(m.layers).fill(12 * h * h + 13 * h), 2 * h, embedding];
}

interface Case {
  readonly name: string;
  readonly req: PlanRequest;
  readonly summary: Summary;
  readonly stages: StageOut[];
}

const gptCase = (name: string, blocks: number[], fields: Partial<Summary>): Case => {
  const pp = blocks.length;
  const dp = 16 / pp;
  return {
    name,
    // ZeRO-0 in fp16: in bf16 DeepSpeed runs its BF16_Optimizer, not ZeRO-0 (refused below).
    req: (fields.zero ?? 0) === 0 ? gpt16 : gpt,
    summary: summaryOf({ dp, pp, microBatch: 2, microbatches: 64 / (2 * dp), ...fields }),
    stages: stagesOf(blocks, megatronLayout(7, false), [1, 1]),
  };
};

async function llamaCase(name: string, layersPerStage: number[], fields: Partial<Summary>): Promise<Case> {
  const pp = layersPerStage.length;
  const dp = 16 / pp;
  const ranges = layersPerStage.map((n, s): [number, number] => {
    const first = layersPerStage.slice(0, s).reduce((a, b) => a + b, 0);
    return [first, first + n - 1];
  });
  const stages = await plannedStages(llama, 1, ranges, [1, 1], 'megatron');
  return {
    name,
    req: llama,
    summary: summaryOf({ dp, pp, microBatch: 1, microbatches: 64 / dp, ...fields }),
    stages,
  };
}

const expressible: Case[] = [
  ...([0, 1, 2, 3] as const).map((zero) => gptCase(`pp 1, ZeRO-${zero}`, [8], { zero })),
  gptCase('pp 2, ZeRO-0, full recomputation', [4, 4], { zero: 0, recompute: 'full' }),
  gptCase('pp 2, ZeRO-1, selective recomputation', [4, 4], { zero: 1, recompute: 'selective' }),
  gptCase('pp 4, ZeRO-1 (type:TransformerBlock)', [2, 2, 2, 2], { zero: 1 }),
  gptCase('pp 2, ZeRO-0, the split only uniform gives', [5, 3], { zero: 0 }),
  gptCase('pp 1, ZeRO-2, full recomputation', [8], { zero: 2, recompute: 'full' }),
];

/** Every key where the release reads it, with the type it reads. */
function checkConfig(config: Record<string, unknown>): void {
  for (const key of Object.keys(config)) expect(reference.top, key).toHaveProperty([key]);
  for (const key of ['train_batch_size', 'train_micro_batch_size_per_gpu', 'gradient_accumulation_steps']) {
    expect(Number.isInteger(config[key]) && (config[key] as number) > 0, key).toBe(true);
  }
  const precisions = ['bf16', 'fp16'].filter((k) => k in config);
  expect(precisions).toHaveLength(1);
  expect(config[precisions[0]!]).toEqual({ enabled: true });
  const zero = config.zero_optimization as Record<string, unknown>;
  // Counts (the stage, ZeRO-3's prefetch, live-parameter and reuse budgets in elements) are integers.
  const counts = [
    'stage',
    'stage3_prefetch_bucket_size',
    'stage3_max_live_parameters',
    'stage3_max_reuse_distance',
  ];
  for (const [key, value] of Object.entries(zero)) {
    expect(reference.zero, key).toHaveProperty([key]);
    if (counts.includes(key)) expect(Number.isInteger(value) && (value as number) >= 0, key).toBe(true);
    else expect(typeof value, key).toBe('boolean');
  }
  expect(reference.stages).toContain(zero.stage);
  const pipeline = (config.pipeline ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(pipeline)) {
    // Only what pipe/engine.py reads: `stages` and `partition` are defaults nobody reads.
    expect(reference.pipe_read, key).toHaveProperty([key]);
    expect(typeof value, key).toBe(key === 'use_reentrant' ? 'boolean' : 'number');
  }
}

/** The plan's layers per stage, from its stages. */
const plannedLayers = (stages: readonly StageOut[]) => stages.map((s) => s.layers[1] - s.layers[0] + 1);

/** What DeepSpeed's method computes over the layer list, as the plan's layers per stage. */
function cutOf(
  method: string,
  weights: readonly number[],
  stages: number,
): { parts: number[]; cut: number[] } {
  const parts =
    method === 'uniform'
      ? partitionUniform(weights.length, stages)
      : method === 'parameters'
        ? partitionBalanced(weights, stages)
        : partitionBalanced(
            weights.map((_, i) => (i > 0 && i < weights.length - 2 ? 1 : 0)),
            stages,
          );
  const sizes = parts.slice(1).map((end, s) => end - parts[s]!);
  // The final norm and the head (the list's last two layers) are the plan's head layer.
  return { parts, cut: sizes.map((n, s) => (s === stages - 1 ? n - 1 : n)) };
}

function checkExport(c: Case, out: DeepSpeed): void {
  expect(out.expressible, out.notes.join('\n')).toBe(true);
  expect(out.release).toBe('DeepSpeed v0.16.4');
  checkConfig(out.config);
  const { config } = out;
  const devices = c.summary.dp * c.summary.pp;
  // runtime/config.py _batch_assertion, DeepSpeed's data-parallel world being devices / stages.
  expect(config.train_batch_size).toBe(
    (config.train_micro_batch_size_per_gpu as number) *
      (config.gradient_accumulation_steps as number) *
      (devices / c.summary.pp),
  );
  expect(config.train_batch_size).toBe(c.req.training.globalBatch);
  const zero = (config.zero_optimization as { stage: number }).stage;
  expect(zero).toBe(c.summary.zero);
  if (c.summary.pp === 1) {
    expect(out.pipelineModule).toBeNull();
    return;
  }
  expect(zero).toBeLessThanOrEqual(1); // pipe/engine.py: ZeRO-2 and 3 refused
  const module = out.pipelineModule!;
  expect(module.num_stages).toBe(c.summary.pp);
  const { parts, cut } = cutOf(module.partition_method, layerParameters(c.req), c.summary.pp);
  expect(module.parts).toEqual(parts);
  expect(cut).toEqual(plannedLayers(c.stages));
  expect(module.activation_checkpoint_interval).toBe(c.summary.recompute === 'full' ? 1 : 0);
}

describe('DeepSpeed v0.16.4 exports of plans it runs', () => {
  for (const c of expressible) {
    it(`${c.name}: every key and value as the release reads it, the batch rule, the split`, () => {
      checkExport(c, buildExports(c.req, c.summary, c.stages).deepspeed);
    });
  }

  it("Llama with a big vocabulary: 'parameters' alone gives 1, 6, 1 blocks, and names it", async () => {
    const c = await llamaCase('pp 3 by parameters', [2, 6, 2], { zero: 1 });
    const out = buildExports(c.req, c.summary, c.stages).deepspeed;
    checkExport(c, out);
    expect(out.pipelineModule?.partition_method).toBe('parameters');
    expect(out.config.fp16).toEqual({ enabled: true });
  });

  it('overlap_comm is on exactly where gradients are priced as overlapped', () => {
    const zero = (c: Case, parallel?: PlanRequest['parallel']) =>
      buildExports({ ...c.req, ...(parallel ? { parallel } : {}) }, c.summary, c.stages).deepspeed.config
        .zero_optimization;
    expect(zero(expressible[0]!)).toEqual({ stage: 0 }); // ZeRO-0: no ZeRO optimizer, reduced after backward
    expect(zero(expressible[1]!)).toMatchObject({ stage: 1, overlap_comm: true });
    expect(zero(expressible[1]!, { overlapGradReduce: false })).toMatchObject({ overlap_comm: false });
    expect(zero(expressible[3]!)).toMatchObject({ stage: 3, overlap_comm: true });
    expect(zero(expressible[5]!)).toMatchObject({ stage: 1, overlap_comm: false }); // pipeline: after the last microbatch
  });

  it('ZeRO-3 prefetches the largest layer whole and keeps two live, as its working set is priced', () => {
    const zero3 = buildExports(expressible[3]!.req, expressible[3]!.summary, expressible[3]!.stages).deepspeed
      .config.zero_optimization;
    // The GPT block of hidden 512 (tied embeddings of 4,096 × 512 are smaller): 12·h² weights + 13·h
    // biases and norm parameters.
    const block = 12 * 512 ** 2 + 13 * 512;
    expect(zero3).toMatchObject({
      stage: 3,
      stage3_prefetch_bucket_size: block,
      stage3_max_live_parameters: 1e9,
    });
    const zero1 = buildExports(expressible[1]!.req, expressible[1]!.summary, expressible[1]!.stages).deepspeed
      .config.zero_optimization as Record<string, unknown>;
    expect(zero1).not.toHaveProperty('stage3_prefetch_bucket_size');
  });

  it("names the method that gives the plan's split: uniform where only it does", () => {
    const c = expressible.find((e) => e.name.includes('only uniform'))!;
    expect(buildExports(c.req, c.summary, c.stages).deepspeed.pipelineModule?.partition_method).toBe(
      'uniform',
    );
  });

  it('full recomputation through the pipeline engine checkpoints the transformer blocks alone, as priced', () => {
    const c = expressible[4]!;
    const out = buildExports(c.req, c.summary, c.stages).deepspeed;
    expect(out.config.pipeline).toEqual({ activation_checkpoint_interval: 1, use_reentrant: false });
    const module = out.pipelineModule!;
    // v0.16.4 pipe/module.py _is_checkpointable for a module other than GPTModelPipe, one layer per
    // checkpoint: a class checkpointable_layers names, or without that list any layer with parameters.
    const checkpointable = (l: { className: string; parameters: number }) =>
      module.checkpointable_layers === null
        ? l.parameters > 0
        : module.checkpointable_layers.includes(l.className);
    if (c.req.model.kind !== 'transformer') throw new Error('a transformer case');
    const layers = pipelineLayers(resolveDims(c.req.model, { microBatch: 2, precision: 'bf16' }));
    const blocks = c.req.model.layers;
    // Embedding, blocks, final norm, head: the blocks are checkpointed, the rest runs once.
    expect(layers.map(checkpointable)).toEqual([false, ...Array(blocks).fill(true), false, false]);
    expect(out.files[1]!.content).toContain('checkpointable_layers=["TransformerBlock"],');
    // Without recomputation there is nothing to limit.
    const none = buildExports(expressible[6]!.req, expressible[6]!.summary, expressible[6]!.stages).deepspeed;
    expect(none.pipelineModule!.checkpointable_layers).toBeNull();
    expect(none.files[1]!.content).not.toContain('checkpointable_layers');
  });

  it('names the priced attention and prediction modules in the model dict: latent attention, MTP depths of one repeated module', async () => {
    if (llama.model.kind !== 'transformer') throw new Error('a transformer request');
    const deepseekLike = request({
      ...llama,
      model: {
        ...llama.model,
        mla: { qLoraRank: null, kvLoraRank: 256, qkNopeHeadDim: 64, qkRopeHeadDim: 32, vHeadDim: 64 },
        mtpLayers: 2,
        mtpRepeatedLayer: true,
        moe: { experts: 8, topK: 2, ffnHidden: 256, sharedExperts: 1, sharedFfnHidden: 512, denseLayers: 1 },
      },
    });
    const summary = summaryOf({ dp: 16, pp: 1, microBatch: 1, microbatches: 4 });
    const scriptOf = async (req: PlanRequest) =>
      buildExports(req, summary, await plannedStages(req, 1, [[0, 7]], [1, 1], 'megatron')).deepspeed
        .files[1]!.content;
    const script = await scriptOf(deepseekLike);
    expect(script).toContain(
      '"mla": {"q_lora_rank": None, "kv_lora_rank": 256, "qk_nope_head_dim": 64, "qk_rope_head_dim": 32, "v_head_dim": 64},',
    );
    expect(script).toContain('"mtp_layers": 2,');
    expect(script).toContain('"mtp_repeated_layer": True,');
    expect(script).toMatch(
      /"moe": \{"experts": 8, "top_k": 2, "ffn_hidden": 256, "shared_experts": 1, "shared_ffn_hidden": 512, "dense_layers": 1, /,
    );
    const plain = await scriptOf(llama);
    expect(plain).toContain('"mla": None,');
    expect(plain).toContain('"mtp_layers": 0,');
  });

  it('writes ds_config.json as the config, and a training script Python compiles', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshplan-ds-'));
    const scripts = expressible.map((c, i) => {
      const out = buildExports(c.req, c.summary, c.stages).deepspeed;
      expect(out.files.map((f) => f.path)).toEqual(['ds_config.json', 'train_deepspeed.py']);
      expect(JSON.parse(out.files[0]!.content)).toEqual(out.config);
      const script = out.files[1]!.content;
      // The model dict says how its gated activation was priced, for the model code to match.
      if (c.req.model.kind === 'transformer') {
        expect(script).toContain(`"fused_activation": ${c.req.model.activationFusion ? 'True' : 'False'}`);
        expect(script).toContain(`"fused_norm": ${c.req.model.normFusion ? 'True' : 'False'}`);
      }
      if (out.pipelineModule !== null) {
        expect(script).toContain(`partition_method="${out.pipelineModule.partition_method}"`);
        expect(script).toContain(`assert model.partitions() == [${out.pipelineModule.parts.join(', ')}]`);
      }
      const path = join(dir, `train_deepspeed_${i}.py`);
      writeFileSync(path, script);
      return path;
    });
    execFileSync('python3', ['-m', 'py_compile', ...scripts]);
  });
});

describe('what DeepSpeed v0.16.4 cannot run', () => {
  const notes = (c: Case) => {
    const out = buildExports(c.req, c.summary, c.stages).deepspeed;
    expect(out).toMatchObject({ expressible: false, config: {}, pipelineModule: null, files: [] });
    return out.notes.join('\n');
  };

  it('ZeRO-2 and ZeRO-3 with the pipeline engine', () => {
    for (const zero of [2, 3]) {
      expect(notes(gptCase('pp 2', [4, 4], { zero }))).toMatch(new RegExp(`ZeRO-${zero} cannot be combined`));
    }
  });

  it('bf16 without ZeRO, which runs BF16_Optimizer (sharded float32 weights and Adam state, float32 gradients)', () => {
    const bf16 = { ...gptCase('pp 1, ZeRO-0', [8], { zero: 0 }), req: gpt };
    expect(notes(bf16)).toMatch(/BF16_Optimizer.*not ZeRO-0/);
  });

  it('a cut none of the partition methods gives (uneven middle stages)', () => {
    expect(notes(gptCase('pp 4 uneven', [1, 3, 2, 2], { zero: 1 }))).toMatch(
      /none of its partition methods .* gives 1, 3, 2, 2 transformer blocks/,
    );
  });

  it('FP8: its config has no such section (runtime/config.py reads fp16 and bf16 only)', () => {
    const base = gptCase('pp 1, fp8', [8], { zero: 1 });
    const fp8 = {
      ...base,
      req: { ...base.req, training: { ...base.req.training, precision: 'fp8' as const } },
    };
    expect(notes(fp8)).toMatch(/no FP8 setting/);
  });

  it('interleaving and GPipe', () => {
    expect(notes(gptCase('interleaved', [4, 4], { virtualStages: 2, schedule: 'interleaved' }))).toMatch(
      /no interleaved/,
    );
    expect(notes(gptCase('gpipe', [4, 4], { schedule: 'gpipe' }))).toMatch(/not GPipe/);
  });

  it('a general operator graph: its own nn.Module with pp = 1, no PipelineModule layer list for pp > 1', async () => {
    const mlp = request({
      model: mlpGraph(8),
      cluster: { ...dgxA100, nodes: 1 },
      training: { globalBatch: 8 },
    });
    const one = await plannedStages(mlp, 1, [[0, 1]], [1, 1], 'megatron');
    const single = buildExports(mlp, summaryOf({ dp: 8, microBatch: 1, zero: 2 }), one).deepspeed;
    expect(single.expressible, single.notes.join('\n')).toBe(true);
    checkConfig(single.config);
    expect(single.files[1]!.content).toContain('model = Model()');
    const two = await plannedStages(
      mlp,
      1,
      [
        [0, 0],
        [1, 1],
      ],
      [1, 1],
      'megatron',
    );
    const piped = buildExports(
      mlp,
      summaryOf({ dp: 4, pp: 2, microBatch: 1, microbatches: 2, zero: 1 }),
      two,
    );
    expect(piped.deepspeed.expressible).toBe(false);
    expect(piped.deepspeed.notes[0]).toMatch(/PipelineModule layer list/);
  });

  it('a batch that does not split into whole microbatches per rank', () => {
    const c = gptCase('pp 1', [8], { zero: 1 });
    expect(notes({ ...c, summary: { ...c.summary, microbatches: 3 } })).toMatch(
      /not the requested global batch/,
    );
  });
});

describe('stageCuts: exactly the cuts the partition methods give', () => {
  it('counts the parameters of each layer as PyTorch counts the modules (closed forms)', () => {
    for (const req of [gpt, llama]) {
      const spec = req.model as Extract<PlanRequest['model'], { kind: 'transformer' }>;
      const model = resolveDims(spec, { microBatch: 4, precision: req.training.precision });
      expect(pipelineLayers(model).map((l) => l.parameters)).toEqual(layerParameters(req));
    }
  });

  it('for GPT and Llama on 2 to 6 stages, each method recomputed here over the layer list', () => {
    for (const req of [gpt, llama]) {
      const spec = req.model as Extract<PlanRequest['model'], { kind: 'transformer' }>;
      const model = resolveDims(spec, { microBatch: 1, precision: req.training.precision });
      const weights = layerParameters(req);
      for (let pp = 2; pp <= 6; pp++) {
        const expected = new Set(
          ['type:TransformerBlock', 'uniform', 'parameters'].flatMap((method) => {
            const { cut } = cutOf(method, weights, pp);
            return cut.every((n) => n > 0) ? [cut.join(',')] : [];
          }),
        );
        const shape: RunShape = {
          model,
          precision: req.training.precision,
          devices: 16,
          tp: 1,
          pp,
          cp: 1,
          cpCommType: 'p2p',
          ep: 1,
          etp: 1,
          dp: 1,
          sequenceParallel: false,
          zero: 1,
          quantizedParamGather: false,
          zero3Prefetch: true,
          recompute: 'none',
          recomputeModules: ['core_attn'],
          schedule: '1f1b',
          virtualStages: 1,
          microbatches: 8,
          rankMicroBatch: 1,
          globalBatch: 8,
          blocksPerStage: null,
          layouts: { kind: 'megatron' },
        };
        expect(new Set(deepspeed.stageCuts(shape)!.map((c) => c.join(',')))).toEqual(expected);
      }
    }
  });
});

/**
 * DeepSpeed v0.16.4's ZeRO-3 release rule replayed (partitioned_param_coordinator.py: a submodule's
 * parameters are gathered when it runs unless still held, and released after it unless the trace
 * reuses them within `maxReuse` elements; the prefetcher, which may only hold more, left out), over a
 * GPT model run forward and then, block by block, recomputed and run backward. Returns how many times
 * each block's parameters are gathered in one step, in units of the block.
 */
function gathersPerBlock(h: number, blocks: number, maxReuse: number): number {
  // A GPT block's submodules in forward order (LayerNorms stay whole: under the persistence threshold).
  const forward = [3 * h * h + 3 * h, h * h + h, 4 * h * h + 4 * h, 4 * h * h + h].map((numel, i) => ({
    i,
    numel,
  }));
  const trace: { id: string; numel: number }[] = [];
  const visit = (b: number, order: typeof forward) =>
    trace.push(...order.map(({ i, numel }) => ({ id: `${b}.${i}`, numel })));
  for (let b = 0; b < blocks; b++) visit(b, forward);
  for (let b = blocks - 1; b >= 0; b--) {
    visit(b, forward); // the recomputation
    visit(b, [...forward].reverse()); // the backward
  }
  const held = new Set<string>();
  let gathered = 0;
  trace.forEach(({ id, numel }, t) => {
    if (!held.has(id)) gathered += numel;
    held.add(id);
    let traversed = 0;
    for (const later of trace.slice(t + 1)) {
      if (traversed >= maxReuse) break;
      if (later.id === id) return; // reused soon enough: kept
      traversed += later.numel;
    }
    held.delete(id);
  });
  const block = forward.reduce((sum, s) => sum + s.numel, 0);
  return gathered / (blocks * block);
}

describe('ZeRO-3 gathers as priced under recomputation', () => {
  // GPT-3 175B's block: 1.8 billion parameters, past DeepSpeed's default reuse distance of 1e9.
  const big = request({
    model: gptModel(8, 12288, 51200),
    cluster: { ...dgxA100, nodes: 2 },
    training: { globalBatch: 64, precision: 'bf16' },
  });
  const summary = summaryOf({ dp: 16, pp: 1, microBatch: 2, microbatches: 2, zero: 3, recompute: 'full' });
  const zero3 = buildExports(big, summary, stagesOf([8], megatronLayout(7, false), [1, 1])).deepspeed.config
    .zero_optimization as Record<string, number>;

  it('the default reuse distance would gather a recomputed GPT-3 block a third time (the oracle sees it)', () => {
    expect(gathersPerBlock(12288, 4, 1e9)).toBeGreaterThan(2.5);
    // A block of a 1.3B model (h = 2048, 50M parameters) is kept for its backward at the default.
    expect(gathersPerBlock(2048, 4, 1e9)).toBeLessThanOrEqual(2);
  });

  it('the exported reuse distance keeps each recomputed block for its backward: two gathers, as priced', () => {
    expect(zero3.stage3_max_reuse_distance).toBeGreaterThan(1e9);
    expect(gathersPerBlock(12288, 4, zero3.stage3_max_reuse_distance!)).toBeLessThanOrEqual(2);
  });
});
