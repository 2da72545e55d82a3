import { describe, expect, it } from 'vitest';
import { buildExports } from '../../src/frameworks/index.ts';
import { planModel } from '../../src/model/planned.ts';
import { Exports } from '../../src/schema/index.ts';
import { megatronLayout, mlpGraph, op, plannedStages, request, stagesOf, summaryOf } from './fixtures.ts';

const dgxA100 = { gpu: 'A100-80GB', gpusPerNode: 8, intraNodeGBps: 300, interNodeGBps: 25 };

/**
 * GPT-3 175B as Megatron-LM's examples/gpt3/train_gpt3_175b_distributed.sh runs it (tp 8, pp 16,
 * micro batch 1, global batch 1536, fp16) on 1,024 GPUs, with selective recomputation, sequence
 * parallelism, the distributed optimizer and 2 interleaved model chunks per rank.
 */
const gpt3 = request({
  model: { kind: 'transformer', layers: 96, hidden: 12288, heads: 96, vocab: 51200, seqLen: 2048 },
  cluster: { ...dgxA100, nodes: 128 },
  training: { globalBatch: 1536, precision: 'fp16' },
});
const gpt3Summary = summaryOf({
  dp: 8,
  tp: 8,
  pp: 16,
  microBatch: 1,
  microbatches: 192,
  virtualStages: 2,
  recompute: 'selective',
  zero: 1,
  sequenceParallel: true,
  schedule: 'interleaved',
});
const gpt3Stages = stagesOf(Array(16).fill(6), megatronLayout(95, true), [1, 8]);

describe('GPT-3 175B on 1,024 GPUs (tp 8, pp 16, dp 8)', () => {
  const exports = buildExports(gpt3, gpt3Summary, gpt3Stages);

  it('Megatron-LM: the published arguments plus the chosen extras, in order', () => {
    expect(exports.megatron.expressible).toBe(true);
    // biome-ignore format: one flag and its value per line
    const expected = [
      '--tensor-model-parallel-size', '8',
      '--pipeline-model-parallel-size', '16',
      '--num-layers-per-virtual-pipeline-stage', '3', // 96 blocks / (16 stages × 2 chunks)
      '--sequence-parallel',
      '--micro-batch-size', '1',
      '--global-batch-size', '1536',
      '--recompute-granularity', 'selective',
      '--recompute-modules', 'core_attn',
      '--use-distributed-optimizer',
      '--overlap-grad-reduce', // the gradient reduction is priced overlapped
      '--overlap-param-gather',
      '--num-layers', '96',
      '--hidden-size', '12288',
      '--num-attention-heads', '96',
      '--ffn-hidden-size', '49152',
      '--normalization', 'LayerNorm',
      '--position-embedding-type', 'learned_absolute',
      '--seq-length', '2048',
      '--max-position-embeddings', '2048',
      '--attention-dropout', '0.1',
      '--hidden-dropout', '0.1',
      '--padded-vocab-size', '51200',
      '--fp16',
    ];
    expect(exports.megatron.args).toEqual(expected);
    expect(exports.megatron.command).toBe(`pretrain_gpt.py ${expected.join(' ')}`);
    expect(exports.megatron.notes.join('\n')).toMatch(/1024 \/ \(tp 8 × pp 16\) = 8/);
  });

  it('DeepSpeed: no tensor parallelism of its own, so tp 8 is not expressible there', () => {
    expect(exports.deepspeed.expressible).toBe(false);
    expect(exports.deepspeed.notes[0]).toMatch(/DeepSpeed v0\.16\.4.*no Megatron-style tensor parallelism/);
    expect(exports.deepspeed).toMatchObject({ config: {}, pipelineModule: null, files: [] });
  });

  it('torchtitan: trains in bf16, not fp16 (and cannot tie the embedding to a head 16 stages away)', () => {
    expect(exports.torchtitan.expressible).toBe(false);
    expect(exports.torchtitan.files).toEqual([]);
    expect(exports.torchtitan.notes[0]).toMatch(/torchtitan v0\.2\.2.*not fp16/);
  });

  it('JAX: axes named by role, replicas folded into data, a spec for every parameter of every layer, interleaved chunks', () => {
    const { jax } = exports;
    expect(jax.meshAxes).toEqual(['data', 'model']);
    expect(jax.meshShape).toEqual([8, 8]);
    // Column-parallel fc1 (h, f) with f split on axis 1; row-parallel fc2 (f, h); heads split in wq.
    expect(jax.partitionSpecs['block0.w_fc1']).toEqual([null, 'model']);
    expect(jax.partitionSpecs['block95.w_fc2']).toEqual(['model', null]);
    expect(jax.partitionSpecs['block17.wq']).toEqual([null, 'model', null]);
    expect(jax.partitionSpecs['block17.ln1_scale']).toEqual([null]);
    expect(jax.partitionSpecs['embedding.table']).toEqual(['model', null]);
    expect(jax.partitionSpecs['head.table']).toEqual(['model', null]);
    // 8 parameters per block in the fixture's ops, the embedding table, the head's norm and table.
    expect(Object.keys(jax.partitionSpecs)).toHaveLength(96 * 8 + 1 + 2);
    // 2 chunks of 3 blocks per stage; stage 15 runs virtual stages 15 (blocks 45–47) and 31 (93–95, head).
    expect(jax.stages[15]).toEqual({
      stage: 15,
      layers: [91, 97],
      layerNames: ['block90', 'head'],
      meshShape: [8, 8],
      chunks: [
        [46, 48],
        [94, 97],
      ],
    });
    expect(jax.stages[0]!.chunks).toEqual([
      [0, 3],
      [49, 51],
    ]);
    // ZeRO-1 over the 8 replicas: the optimizer state of fc1 (h, f/8) splits h over "data" too.
    expect(jax.stateSpecs?.['block0.w_fc1']).toEqual(['data', 'model']);
  });

  it('is a valid Exports (the plan schema) (exporters and plan share one schema)', () => {
    expect(() => Exports.parse(exports)).not.toThrow();
    expect(Exports.parse(exports)).toEqual(exports);
  });

  it('passing the planner’s layers changes nothing (metamorphic)', () => {
    const layers = planModel(gpt3.model, { microBatch: 1, precision: 'fp16' }).layers;
    expect(buildExports(gpt3, gpt3Summary, gpt3Stages, layers)).toEqual(exports);
  });
});

describe('what Megatron-LM cannot express', () => {
  const gpt = request({
    model: { kind: 'transformer', layers: 24, hidden: 2048, heads: 16, vocab: 51200, seqLen: 2048 },
    cluster: { ...dgxA100, nodes: 4 },
    training: { globalBatch: 64 },
  });
  const summary = summaryOf({ tp: 8, pp: 4, dp: 1, microBatch: 1, microbatches: 64, sequenceParallel: true });
  const layout = megatronLayout(23, true);

  it('uneven stages whose middle stages differ: a --pipeline-model-parallel-layout', () => {
    const out = buildExports(gpt, summary, stagesOf([5, 7, 6, 6], layout, [1, 8]));
    expect(out.megatron.expressible).toBe(true);
    expect(out.megatron.args.slice(4, 6)).toEqual(['--pipeline-model-parallel-layout', 'Et*5|t*7|t*6|t*6L']);
    expect(out.megatron.command).toContain(`--pipeline-model-parallel-layout 'Et*5|t*7|t*6|t*6L'`);
    expect(out.deepspeed.expressible).toBe(false);
  });

  it('uneven first and last stages fit --decoder-first/last-pipeline-num-layers', () => {
    const out = buildExports(gpt, summary, stagesOf([5, 6, 6, 7], layout, [1, 8]));
    expect(out.megatron.expressible).toBe(true);
    expect(out.megatron.args.slice(4, 8)).toEqual([
      '--decoder-first-pipeline-num-layers',
      '5',
      '--decoder-last-pipeline-num-layers',
      '7',
    ]);
    expect(out.megatron.args).not.toContain('--pipeline-model-parallel-layout');
  });

  it('an op laid out differently on the tensor-parallel axis', () => {
    const rowFc1 = {
      ...layout,
      block: layout.block.map((o) =>
        o.op === 'block0.fc1' ? { ...o, strategy: { ...o.strategy, axis1: 'h' } } : o,
      ),
    };
    const out = buildExports(gpt, summary, stagesOf([6, 6, 6, 6], rowFc1, [1, 8]));
    expect(out.megatron.expressible).toBe(false);
    expect(out.megatron.notes.join('\n')).toContain('block0.fc1 splits h (Megatron: f)');
    expect(out.torchtitan.expressible).toBe(false);
    expect(out.jax.expressible).toBe(true);
  });

  it('ZeRO-3: Megatron-FSDP; torchtitan has no data-parallel ranks to shard over; DeepSpeed’s pipeline refuses it', () => {
    const out = buildExports(gpt, { ...summary, zero: 3 }, stagesOf([6, 6, 6, 6], layout, [1, 8]));
    expect(out.megatron.expressible).toBe(true);
    expect(out.megatron.command).toContain(
      '--use-megatron-fsdp --data-parallel-sharding-strategy optim_grads_params --use-distributed-optimizer --ckpt-format fsdp_dtensor',
    );
    expect(out.deepspeed.expressible).toBe(false);
    // DeepSpeed refuses tp 8 before it gets to ZeRO-3 with its pipeline (test/frameworks/deepspeed-*).
    // dp = 1: no FSDP, and torchtitan turns mixed precision off with TP or PP unless FSDP is on.
    expect(out.torchtitan.expressible).toBe(false);
    expect(out.torchtitan.notes.join('\n')).toMatch(/would train in float32/);
  });

  it('2-D tensor parallelism: JAX writes a dim split over both axes as a tuple of axes', () => {
    const twoD = {
      ...layout,
      block: [
        op('block0.fc1', 'matmul', ['h', 'f'], { 'block0.x_norm2': 'R R S0', 'block0.w_fc1': 'S0 S1' }),
        op('block0.fc2', 'matmul', ['f', 'f'], { 'block0.gelu_out': 'R R S01', 'block0.w_fc2': 'S01 R' }),
      ],
    };
    const out = buildExports(gpt, { ...summary, tp: 8, pp: 4 }, stagesOf([6, 6, 6, 6], twoD, [2, 4]));
    expect(out.megatron.expressible).toBe(false);
    expect(out.megatron.notes.join('\n')).toMatch(/2-D tensor parallelism/);
    expect(out.jax.meshAxes).toEqual(['model0', 'model1']);
    expect(out.jax.partitionSpecs['block3.w_fc1']).toEqual(['model0', 'model1']);
    expect(out.jax.partitionSpecs['block3.w_fc2']).toEqual([['model0', 'model1'], null]);
  });
});

describe('layouts from the planner’s own pipeline (LayerSolver → describeOps)', () => {
  const llama = request({
    model: {
      kind: 'transformer',
      layers: 4,
      hidden: 1024,
      heads: 16,
      kvHeads: 4,
      vocab: 32000,
      seqLen: 512,
      activation: 'swiglu',
    },
    cluster: { ...dgxA100, nodes: 1 },
    training: { globalBatch: 16, precision: 'bf16' },
  });
  const summary = summaryOf({ tp: 4, pp: 2, dp: 1, microBatch: 2, microbatches: 8, sequenceParallel: true });
  const split: [number, number][] = [
    [0, 2],
    [3, 5],
  ];

  it('Megatron’s own layout is recognised as Megatron’s, with the Llama flags', async () => {
    const stages = await plannedStages(llama, 2, split, [1, 4], 'megatron-sp');
    const out = buildExports(llama, summary, stages);
    expect(out.megatron.notes.filter((n) => n.startsWith('Not expressible'))).toEqual([]);
    const args = out.megatron.args;
    // biome-ignore format: one flag and its value per line
    expect(args.slice(args.indexOf('--num-layers'))).toEqual([
      '--num-layers', '4',
      '--hidden-size', '1024',
      '--num-attention-heads', '16',
      '--group-query-attention', '--num-query-groups', '4',
      '--ffn-hidden-size', '2816', // Llama's rule: 8/3 · 1024 = 2730, rounded up to a multiple of 256
      '--swiglu',
      '--normalization', 'RMSNorm',
      '--position-embedding-type', 'rope',
      '--seq-length', '512',
      '--max-position-embeddings', '512',
      '--disable-bias-linear',
      '--attention-dropout', '0',
      '--hidden-dropout', '0',
      '--untie-embeddings-and-output-weights',
      '--padded-vocab-size', '32000',
      '--bf16',
      '--grad-reduce-in-bf16',
    ]);
  });

  it('without sequence parallelism the same layouts are not Megatron’s with it (metamorphic)', async () => {
    const stages = await plannedStages(llama, 2, split, [1, 4], 'megatron');
    expect(buildExports(llama, { ...summary, sequenceParallel: false }, stages).megatron.expressible).toBe(
      true,
    );
    expect(buildExports(llama, summary, stages).megatron.expressible).toBe(false);
  });
});

describe('a general operator graph', () => {
  const mlp = request({
    model: mlpGraph(4),
    cluster: { ...dgxA100, nodes: 1 },
    training: { globalBatch: 4 },
  });

  it('has no Megatron-LM or torchtitan model, but JAX specs under its own tensor names', async () => {
    const stages = await plannedStages(mlp, 4, [[0, 1]], [1, 2], 'megatron');
    const out = buildExports(mlp, summaryOf({ tp: 2, microBatch: 4 }), stages);
    expect(out.megatron).toMatchObject({ expressible: false, args: [], command: '' });
    expect(out.torchtitan.expressible).toBe(false);
    expect(out.deepspeed.expressible).toBe(false);
    expect(out.jax.partitionSpecs).toEqual({ w1: [null, 'model'], w2: ['model', null] });
  });
});
