/**
 * torchtitan v0.2.2 exports of a varied set of plans, each parsed back from its TOML and checked
 * against the reference table of torchtitan's job_config.py and the rules its source enforces
 * (torchtitan-oracle.ts), and against the plan it was written from.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildExport } from '../../src/frameworks/index.ts';
import { plan } from '../../src/planner/plan.ts';
import {
  type Plan,
  PlanRequest,
  type PlanRequestInput,
  type StageOut,
  type Summary,
} from '../../src/schema/index.ts';
import { plannedStages, summaryOf } from '../exports/fixtures.ts';
import { requestFor } from './torchtitan-cases.ts';
import { type Config, type PlanFacts, parseAndCheck, ruleProblems } from './torchtitan-oracle.ts';

/** Blocks of each stage from its layer range: every layer but the embedding (0) and the head (L + 1). */
function blocksOf(stages: readonly StageOut[], layers: number): number[] {
  return stages.map((s) => Math.max(0, Math.min(s.layers[1], layers) - Math.max(s.layers[0], 1) + 1));
}

function facts(req: PlanRequest, summary: Summary, stages: readonly StageOut[]): PlanFacts {
  if (req.model.kind !== 'transformer') throw new Error('a transformer');
  const learned = req.model.positionEmbedding ?? (req.model.activation === 'gelu' ? 'learned' : 'rope');
  return {
    devices: summary.dp * summary.cp * summary.tp * summary.pp,
    layers: req.model.layers,
    blocksPerStage: blocksOf(stages, req.model.layers),
    virtualStages: summary.virtualStages,
    firstModules: learned === 'learned' ? ['tok_embeddings', 'pos_embeddings'] : ['tok_embeddings'],
    seqLen: req.model.seqLen,
    globalBatch: req.training.globalBatch,
  };
}

/** The export's TOML parsed back: no problem against the reference table or the release's rules. */
function checked(req: PlanRequest, summary: Summary, stages: readonly StageOut[]): Config {
  const out = buildExport('torchtitan', req, summary, stages);
  expect(out.notes.filter((n) => n.startsWith('Not'))).toEqual([]);
  expect(out.expressible).toBe(true);
  expect(out.release).toBe('torchtitan v0.2.2');
  const { config, problems } = parseAndCheck(out.files[0]!.content);
  expect(problems).toEqual([]);
  expect(ruleProblems(config, facts(req, summary, stages))).toEqual([]);
  // The object form is the same config as the file.
  expect(config).toEqual(out.config);
  return config;
}

/** [first, last] layer ranges of stages holding these block counts (layer 0 the embedding, L + 1 the head). */
function ranges(blocks: readonly number[]): [number, number][] {
  let next = 1;
  return blocks.map((n, i) => {
    const first = i === 0 ? 0 : next;
    next += n;
    return [first, i === blocks.length - 1 ? next : next - 1];
  });
}

/** FSDP over dp 4 with sequence-parallel tp 2 and no pipeline: the 8 blocks on one stage, microbatch 4. */
async function unpipelined(req: PlanRequest, fields: Partial<Summary>) {
  const summary = summaryOf({
    ...{ dp: 4, tp: 2, pp: 1, gpus: 8, microBatch: 4, microbatches: 1, sequenceParallel: true },
    ...fields,
  });
  const stages = await plannedStages(req, 4, ranges([8]), [1, 2], 'megatron-sp');
  return { summary, stages };
}

describe('torchtitan exports of a varied set, read back against job_config.py and its rules', () => {
  const req8 = requestFor({}, 1, 16);

  it('ZeRO-1 (FSDP the pipeline keeps gathered) with tp 2 and a 1F1B pipeline, full recompute', async () => {
    const summary = summaryOf({
      ...{ dp: 2, tp: 2, pp: 2, gpus: 8, microBatch: 1, microbatches: 8 },
      ...{ zero: 1, sequenceParallel: true, recompute: 'full' },
    });
    const stages = await plannedStages(req8, 1, ranges([4, 4]), [1, 2], 'megatron-sp');
    const config = checked(req8, summary, stages);
    expect(config.parallelism).toMatchObject({
      data_parallel_shard_degree: 2,
      // Resharding after forward would only regather for each microbatch's backward.
      fsdp_reshard_after_forward: 'never',
      tensor_parallel_degree: 2,
      pipeline_parallel_schedule: '1F1B',
    });
    expect(config.activation_checkpoint).toEqual({ mode: 'full' });
    // Pipelined: a rank's batch is its 8 microbatches of 1 sequence; 16 = 8 × dp 2, no accumulation.
    expect(config.training).toMatchObject({ local_batch_size: 8, global_batch_size: 16 });
  });

  it('ZeRO-2 (FSDP, kept gathered) without a pipeline, selective recompute as torchtitan’s "none"', async () => {
    const { summary, stages } = await unpipelined(req8, { zero: 2, recompute: 'selective' });
    const config = checked(req8, summary, stages);
    expect(config.parallelism).toMatchObject({
      data_parallel_shard_degree: 4,
      fsdp_reshard_after_forward: 'never',
    });
    expect(config.activation_checkpoint).toEqual({ mode: 'none' });
    expect(config.parallelism).not.toHaveProperty('module_fqns_per_model_part');
  });

  it('per-op recomputation as selective checkpointing with the "op" policy', async () => {
    const { summary, stages } = await unpipelined(req8, { zero: 3, recompute: 'per-op' });
    const config = checked(req8, summary, stages);
    expect(config.activation_checkpoint).toEqual({ mode: 'selective', selective_ac_option: 'op' });
  });

  it('DDP (ZeRO-0) at tp = pp = 1 with gradient accumulation', async () => {
    const summary = summaryOf({ dp: 8, gpus: 8, microBatch: 1, microbatches: 2, zero: 0 });
    const stages = await plannedStages(req8, 1, ranges([8]), [1, 1], 'megatron');
    const config = checked(req8, summary, stages);
    expect(config.parallelism).toMatchObject({
      data_parallel_replicate_degree: 8,
      data_parallel_shard_degree: 1,
    });
    // Two accumulation steps of one sequence per rank: 16 = 1 × 8 × 2.
    expect(config.training).toMatchObject({ local_batch_size: 1 });
  });

  it('Interleaved1F1B: 2 model parts per rank, part k·pp + i on rank i', async () => {
    const summary = summaryOf({
      ...{ dp: 2, tp: 2, pp: 2, gpus: 8, microBatch: 1, microbatches: 8, virtualStages: 2 },
      ...{ zero: 1, sequenceParallel: true, schedule: 'interleaved' },
    });
    const stages = await plannedStages(req8, 1, ranges([4, 4]), [1, 2], 'megatron-sp');
    const config = checked(req8, summary, stages);
    expect(config.parallelism!.pipeline_parallel_schedule).toBe('Interleaved1F1B');
    expect(config.parallelism!.module_fqns_per_model_part).toEqual([
      ['tok_embeddings', 'layers.0', 'layers.1'],
      ['layers.2', 'layers.3'],
      ['layers.4', 'layers.5'],
      ['layers.6', 'layers.7', 'norm', 'output'],
    ]);
  });

  it('uneven stages, an embedding-only first stage and GPipe, on 16 GPUs', async () => {
    const req16 = requestFor({}, 2, 16);
    const summary = summaryOf({
      ...{ dp: 2, tp: 2, pp: 4, gpus: 16, microBatch: 1, microbatches: 8 },
      ...{ zero: 1, sequenceParallel: true, schedule: 'gpipe' },
    });
    const stages = await plannedStages(req16, 1, ranges([0, 3, 4, 1]), [1, 2], 'megatron-sp');
    const config = checked(req16, summary, stages);
    expect(config.parallelism!.module_fqns_per_model_part).toEqual([
      ['tok_embeddings'],
      ['layers.0', 'layers.1', 'layers.2'],
      ['layers.3', 'layers.4', 'layers.5', 'layers.6'],
      ['layers.7', 'norm', 'output'],
    ]);
  });

  it('a GPT-style model (GELU, LayerNorm, learned positions, untied) cut in two: the position table goes first', async () => {
    const gpt = requestFor({ layers: 4, kvHeads: 16, activation: 'gelu', tiedEmbeddings: false }, 1, 16);
    const summary = summaryOf({
      ...{ dp: 2, tp: 2, pp: 2, gpus: 8, microBatch: 1, microbatches: 8 },
      ...{ zero: 1, sequenceParallel: true },
    });
    const stages = await plannedStages(gpt, 1, ranges([2, 2]), [1, 2], 'megatron-sp');
    const config = checked(gpt, summary, stages);
    expect(config.model).toEqual({ name: 'meshplan_gpt', flavor: 'planned' });
    expect(config.experimental).toEqual({ custom_import: 'meshplan_gpt' });
    expect(config.parallelism!.module_fqns_per_model_part).toEqual([
      ['tok_embeddings', 'pos_embeddings', 'layers.0', 'layers.1'],
      ['layers.2', 'layers.3', 'norm', 'output'],
    ]);
  });

  it('async TP only where the plan prices the overlap, with the torch.compile it needs', async () => {
    const withOverlap = PlanRequest.parse({ ...req8, parallel: { overlapTensorParallelComm: true } });
    const { summary, stages } = await unpipelined(withOverlap, { zero: 3 });
    const config = checked(withOverlap, summary, stages);
    expect(config.parallelism!.enable_async_tensor_parallel).toBe(true);
    expect(config.compile).toEqual({ enable: true, components: ['model', 'loss'] });
    expect(checked(req8, summary, stages).parallelism!.enable_async_tensor_parallel).toBe(false);
  });

  it('compiles the model and the loss in bf16 without async TP too: the fused kernels the plan prices', async () => {
    const { summary, stages } = await unpipelined(req8, { zero: 3 });
    expect(checked(req8, summary, stages).compile).toEqual({ enable: true, components: ['model', 'loss'] });
  });
});

const MOE = { experts: 8, topK: 2, ffnHidden: 512, dropless: true };
const MLA = { qLoraRank: 256, kvLoraRank: 128, qkNopeHeadDim: 64, qkRopeHeadDim: 32, vHeadDim: 64 };

describe('torchtitan exports with context and expert parallelism, MoE, MLA and FP8', () => {
  const exported = (req: PlanRequest, summary: Summary, stages: readonly StageOut[]) =>
    buildExport('torchtitan', req, summary, stages);

  it('cp 2 with tp 2 and FSDP over dp 2: a ring of key/value shards (alltoall rotation), FSDP over dp·cp', async () => {
    const req = requestFor({}, 1, 16);
    const summary = summaryOf({
      ...{ dp: 2, cp: 2, tp: 2, pp: 1, gpus: 8, microBatch: 8, microbatches: 1 },
      ...{ zero: 3, sequenceParallel: true },
    });
    const stages = await plannedStages(req, 8, ranges([8]), [1, 2], 'megatron-sp');
    const config = checked(req, summary, stages);
    expect(config.parallelism).toMatchObject({
      data_parallel_shard_degree: 2,
      context_parallel_degree: 2,
      context_parallel_rotate_method: 'alltoall',
      fsdp_reshard_after_forward: 'always',
    });
    const gather = PlanRequest.parse({ ...req, parallel: { cpCommType: 'allgather' } });
    expect(checked(gather, summary, stages).parallelism!.context_parallel_rotate_method).toBe('allgather');
    const ulysses = exported(PlanRequest.parse({ ...req, parallel: { cpCommType: 'a2a' } }), summary, stages);
    expect(ulysses.expressible).toBe(false);
    expect(ulysses.notes[0]).toMatch(/no all-to-all over heads/);
  });

  it('an ep 2 dropless MoE with grouped-query attention: torchtitan’s qwen3 registered with the planned experts', async () => {
    const req = requestFor({ moe: { ...MOE, sharedExperts: 1 } }, 1, 16);
    const summary = summaryOf({
      ...{ dp: 4, tp: 2, ep: 2, pp: 1, gpus: 8, microBatch: 4, microbatches: 1 },
      ...{ zero: 3, sequenceParallel: true },
    });
    const stages = await plannedStages(req, 4, ranges([8]), [1, 2], 'megatron-sp');
    const out = exported(req, summary, stages);
    const config = checked(req, summary, stages);
    expect(config.parallelism).toMatchObject({ expert_parallel_degree: 2, expert_tensor_parallel_degree: 2 });
    expect(config.model).toEqual({ name: 'meshplan_qwen3', flavor: 'planned' });
    expect(config.experimental).toEqual({ custom_import: 'meshplan_qwen3' });
    expect(out.files.map((f) => f.path)).toEqual(['torchtitan.toml', 'meshplan_qwen3.py']);
    const module = out.files[1]!.content;
    for (const kwarg of [
      'num_experts=8',
      'num_shared_experts=1',
      'top_k=2',
      'moe_inter_dim=512',
      'qk_norm=False',
    ])
      expect(module).toContain(kwarg);
    expect(module).toContain('pipelining_fn=pipeline_llm');
  });

  it('MLA with leading dense blocks and experts, cut into 2 stages: deepseek_v3 with SDPA', async () => {
    const req = requestFor({ mla: MLA, moe: { ...MOE, denseLayers: 2, sharedExperts: 2 } }, 1, 16);
    const summary = summaryOf({
      ...{ dp: 2, tp: 2, ep: 2, pp: 2, gpus: 8, microBatch: 1, microbatches: 8 },
      ...{ zero: 1, sequenceParallel: true },
    });
    const stages = await plannedStages(req, 1, ranges([4, 4]), [1, 2], 'megatron-sp');
    const config = checked(req, summary, stages);
    expect(config.model).toEqual({ name: 'meshplan_deepseek_v3', flavor: 'planned' });
    const module = exported(req, summary, stages).files[1]!.content;
    for (const kwarg of ['n_dense_layers=2', 'q_lora_rank=256', 'kv_lora_rank=128', 'attn_type="sdpa"'])
      expect(module).toContain(kwarg);
  });

  it('FP8: the registered float8 converter with tensorwise scaling, head and router left in bf16, compiled', async () => {
    const dense = PlanRequest.parse({
      ...requestFor({}, 1, 16),
      training: { globalBatch: 16, precision: 'fp8' },
    });
    const { summary, stages } = await unpipelined(dense, { zero: 3 });
    const config = checked(dense, summary, stages);
    expect(config.model!.converters).toEqual(['quantize.linear.float8']);
    expect(config.quantize).toEqual({
      linear: { float8: { recipe_name: 'tensorwise', filter_fqns: ['output', 'router.gate'] } },
    });
    expect(config.compile).toEqual({ enable: true, components: ['model', 'loss'] });

    const moe = PlanRequest.parse({ ...dense, model: { ...dense.model, moe: MOE } });
    const moeStages = await plannedStages(moe, 4, ranges([8]), [1, 2], 'megatron-sp');
    const moeConfig = checked(moe, { ...summary, ep: 2 }, moeStages);
    expect(moeConfig.model!.converters).toEqual(['quantize.linear.float8', 'quantize.grouped_mm.float8']);
    expect(moeConfig.quantize!.grouped_mm).toEqual({ float8: { fqns: ['experts'] } });
  });

  it('FP8 with blocks kept in bf16: Float8Linear filters each by its name, dot-terminated', async () => {
    const dense = PlanRequest.parse({
      ...requestFor({}, 1, 16),
      training: { globalBatch: 16, precision: 'fp8', bf16Layers: { first: 1, last: 1 } },
    });
    const { summary, stages } = await unpipelined(dense, { zero: 3 });
    const config = checked(dense, summary, stages);
    const last = dense.model.kind === 'transformer' ? dense.model.layers - 1 : -1;
    const filter = ['output', 'router.gate', 'layers.0.', `layers.${last}.`];
    expect(config.quantize).toEqual({
      linear: { float8: { recipe_name: 'tensorwise', filter_fqns: filter } },
    });
    // torchao's filter (torchtitan components/quantization/float8.py) skips a module whose name holds
    // any entry: block 0's projections and the last block's, none of another block's.
    const skipped = (fqn: string) => filter.some((f) => fqn.includes(f));
    expect(skipped('layers.0.attention.wq')).toBe(true);
    expect(skipped(`layers.${last}.feed_forward.w1`)).toBe(true);
    expect(skipped('layers.1.attention.wq')).toBe(false);
  });
});

describe('the search with --target torchtitan and pinned context or expert parallelism', () => {
  async function planned(model: Parameters<typeof requestFor>[0], parallel: PlanRequestInput['parallel']) {
    const base = requestFor(model, 2, 16);
    const req = PlanRequest.parse({ ...base, parallel, options: { ...base.options, target: 'torchtitan' } });
    const answer = await plan(req);
    expect(answer.summary).not.toBeNull();
    const out = answer.exports!.torchtitan;
    expect(out.notes.filter((n) => n.startsWith('Not'))).toEqual([]);
    const { config, problems } = parseAndCheck(out.files[0]!.content);
    expect(problems).toEqual([]);
    expect(ruleProblems(config, facts(req, answer.summary!, answer.stages))).toEqual([]);
    return { summary: answer.summary!, config };
  }

  it('an ep 2 dropless MoE on 16 A100: a plan torchtitan runs, its degrees in the job config', async () => {
    const { summary, config } = await planned({ moe: MOE }, { ep: 2 });
    expect(summary.ep).toBe(2);
    expect(config.parallelism).toMatchObject({ expert_parallel_degree: 2 });
  });

  it("says when the plan kept less than torchtitan's experts keep, and not when priced as torchtitan runs", async () => {
    const planned = async (
      routerWeights: 'activation' | 'combine' | undefined,
      activationFusion: boolean,
    ) => {
      const moe = routerWeights === undefined ? MOE : { ...MOE, routerWeights };
      const base = requestFor({ moe, activationFusion }, 2, 16);
      const req = PlanRequest.parse({
        ...base,
        parallel: { ep: 2 },
        options: { ...base.options, target: 'torchtitan' },
      });
      return plan(req);
    };
    const keptMore = (notes: readonly string[]) => notes.filter((n) => /keeps them for backward/.test(n));
    // Asked for explicitly, Megatron-Core's weighting is priced, and the export says what differs.
    expect(keptMore((await planned('activation', true)).exports!.torchtitan.notes)).toHaveLength(1);
    expect(keptMore((await planned('combine', true)).exports!.torchtitan.notes)).toEqual([]);
    // Left unset, a torchtitan target prices torchtitan's own: the experts' outputs, kept.
    const unset = await planned(undefined, true);
    expect(keptMore(unset.exports!.torchtitan.notes)).toEqual([]);
    const combined = await planned('combine', true);
    expect(unset.summary!.peakMemoryBytes).toBe(combined.summary!.peakMemoryBytes);
    const eager = (await planned('combine', false)).exports!.torchtitan.notes;
    expect(eager.filter((n) => /SwiGLU as eager PyTorch runs it/.test(n))).toHaveLength(1);
    expect(eager.filter((n) => /RMSNorm as eager PyTorch composes it/.test(n))).toEqual([]);
  });

  it('says when the plan priced RMSNorm as eager PyTorch composes it, which the compiled config outruns', async () => {
    const notesOf = async (normFusion: boolean) => {
      const base = requestFor({ normFusion }, 2, 16);
      const req = PlanRequest.parse({ ...base, options: { ...base.options, target: 'torchtitan' } });
      return (await plan(req)).exports!.torchtitan.notes;
    };
    const composed = (notes: readonly string[]) =>
      notes.filter((n) => /RMSNorm as eager PyTorch composes it/.test(n));
    expect(composed(await notesOf(false))).toHaveLength(1);
    expect(composed(await notesOf(true))).toEqual([]);
  });

  it('cp 2 on 16 A100: a plan torchtitan runs, with its ring exchange', async () => {
    const { summary, config } = await planned({ seqLen: 8192 }, { cp: 2 });
    expect(summary.cp).toBe(2);
    expect(config.parallelism).toMatchObject({
      context_parallel_degree: 2,
      context_parallel_rotate_method: 'alltoall',
    });
  });
});

/** Llama 3's published sizes (Meta's model card): hidden, layers, heads, KV heads, FFN. */
const LLAMA3_70B = { hidden: 8192, layers: 80, heads: 64, kvHeads: 8, ffnHidden: 28672, vocab: 128256 };

describe('the README examples with --target torchtitan', () => {
  const example = (file: string): unknown =>
    JSON.parse(readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8'));

  async function targeted(file: string): Promise<{ req: PlanRequest; answer: Plan }> {
    const input = example(file) as PlanRequestInput;
    const req = PlanRequest.parse({ ...input, options: { ...input.options, target: 'torchtitan' } });
    return { req, answer: await plan(req) };
  }

  function checkedPlan(req: PlanRequest, answer: Plan): Config {
    expect(answer.summary).not.toBeNull();
    const out = answer.exports!.torchtitan;
    expect(out.notes.filter((n) => n.startsWith('Not'))).toEqual([]);
    expect(out.expressible).toBe(true);
    const { config, problems } = parseAndCheck(out.files[0]!.content);
    expect(problems).toEqual([]);
    expect(ruleProblems(config, facts(req, answer.summary!, answer.stages))).toEqual([]);
    return config;
  }

  it('Llama 3 70B on 256 H100: torchtitan’s own 70B flavor, no companion file', async () => {
    const { req, answer } = await targeted('llama3-70b-256xh100.request.json');
    const config = checkedPlan(req, answer);
    expect(req.model).toMatchObject(LLAMA3_70B);
    expect(config.model).toEqual({ name: 'llama3', flavor: '70B' });
    expect(answer.exports!.torchtitan.files.map((f) => f.path)).toEqual(['torchtitan.toml']);
  });

  it('GPT-3 175B on 1,024 A100: meshplan’s GPT model through custom_import, on one stage (tied embeddings)', async () => {
    const { req, answer } = await targeted('gpt3-175b-1024xa100.request.json');
    const config = checkedPlan(req, answer);
    expect(answer.summary!.pp).toBe(1);
    expect(config.experimental).toEqual({ custom_import: 'meshplan_gpt' });
    expect(answer.exports!.torchtitan.files.map((f) => f.path)).toEqual([
      'torchtitan.toml',
      'meshplan_gpt.py',
      'meshplan_gpt_model.py',
      'meshplan_gpt_parallelize.py',
    ]);
  });
});
