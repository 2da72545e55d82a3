/**
 * Megatron-LM core_v0.19.0 exports of real priced plans, checked by running their launch script
 * (bash, a stand-in torchrun) and reading the command line it starts against independent oracles:
 * the release's flag table, the rules its source enforces, and the model the arguments build.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { resolveDims } from '../../src/model/dims.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { plan } from '../../src/planner/plan.ts';
import { type Plan, PlanRequest, type PlanRequestInput } from '../../src/schema/index.ts';
import { runLaunchScript } from './launch-runner.ts';
import { gradientBytes, modelOf, type Namespace, parseArgs } from './megatron-oracle.ts';
import { ruleProblems } from './megatron-rules-oracle.ts';

const cluster = { gpu: 'H100-80GB', nodes: 2, gpusPerNode: 8 };
const gpt = { kind: 'transformer', layers: 8, hidden: 1024, heads: 16, vocab: 51200, seqLen: 1024 } as const;
const llama = {
  kind: 'transformer',
  layers: 8,
  hidden: 1024,
  heads: 16,
  kvHeads: 4,
  vocab: 32000,
  seqLen: 2048,
  activation: 'swiglu',
} as const;
const moe = { ...llama, moe: { experts: 8, topK: 2, capacityFactor: 1.5 } } as const;

function requestOf(model: PlanRequestInput['model'], parallel: object, precision = 'bf16'): PlanRequest {
  return PlanRequest.parse({
    model,
    cluster,
    training: { globalBatch: 64, precision },
    parallel: { microBatch: 1, ...parallel },
    options: { target: 'megatron' },
  });
}

/** The model the request prices, in the oracle's terms (dropout on is Megatron's 0.1 on both). */
function pricedModel(request: PlanRequest) {
  if (request.model.kind !== 'transformer') throw new Error('a transformer request');
  const d = resolveDims(request.model, { microBatch: 1, precision: request.training.precision });
  return {
    layers: d.layers,
    hidden: d.hidden,
    heads: d.heads,
    headDim: d.headDim,
    kvHeads: d.kvHeads,
    ffnHidden: d.ffnHidden,
    vocab: d.vocab,
    seqLen: d.seqLen,
    activation: d.activation,
    norm: d.norm,
    tiedEmbeddings: d.tiedEmbeddings,
    positionEmbedding: d.positionEmbedding,
    bias: d.bias,
    attentionDropout: d.dropout ? 0.1 : 0,
    hiddenDropout: d.dropout ? 0.1 : 0,
    experts:
      d.moe === null
        ? null
        : {
            experts: d.moe.experts,
            topK: d.moe.topK,
            ffnHidden: d.moe.ffnHidden,
            sharedFfnHidden: d.moe.sharedExperts * d.moe.sharedFfnHidden,
            moeLayers: Array.from({ length: d.layers }, (_, i) => (i < d.moe!.denseLayers ? 0 : 1)),
            dropless: d.moe.dropless,
          },
    capacityFactor: d.moe === null || d.moe.dropless ? Number.NaN : d.moe.capacityFactor,
    mla: d.mla,
    mtpLayers: d.mtpLayers,
  };
}

interface Checked {
  readonly ns: Namespace;
  readonly dp: number;
  readonly connections: string | null;
}

/** Runs the export's launch script on node 0 and checks what it starts against every oracle. */
function checkExport(p: Plan, request: PlanRequest): Checked {
  const m = p.exports!.megatron;
  expect(m.notes.filter((n) => n.startsWith('Not'))).toEqual([]);
  expect(m.expressible).toBe(true);
  expect(m.release).toBe('Megatron-LM core_v0.19.0');
  const nodes = String(Math.max(1, p.summary!.gpus / cluster.gpusPerNode));
  const run = runLaunchScript(m.files[0]!.content, { NNODES: nodes, NODE_RANK: '0', MASTER_ADDR: 'node0' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.script).toBe('./pretrain_gpt.py');
  const world = Number(run.torchrun.get('--nnodes')) * Number(run.torchrun.get('--nproc_per_node'));
  expect(world).toBe(p.summary!.gpus);
  // The plan's arguments, then the synthetic data and schedule of the script's defaults.
  expect(run.args.slice(0, m.args.length)).toEqual(m.args);
  const ns = parseArgs(run.args);
  expect(ns.problems).toEqual([]);
  expect(ruleProblems(ns, world, run.connections)).toEqual([]);
  expect(modelOf(ns)).toEqual(pricedModel(request));
  // DESIGN.md §4 prices mixed-precision Adam with 2-byte gradients.
  expect(gradientBytes(ns)).toBe(2);
  const s = p.summary!;
  const tp = Number(ns.values.get('tensor_model_parallel_size'));
  const pp = Number(ns.values.get('pipeline_model_parallel_size'));
  const micro = Number(ns.values.get('micro_batch_size'));
  const cp = Number(ns.values.get('context_parallel_size') ?? 1);
  const ep = Number(ns.values.get('expert_model_parallel_size') ?? 1);
  const etp = Number(ns.values.get('expert_tensor_parallel_size') ?? tp);
  expect([tp, pp, world / (tp * pp * cp), cp]).toEqual([s.tp, s.pp, s.dp, s.cp]);
  if (ns.values.has('num_experts')) expect([ep, etp]).toEqual([s.ep, s.etp]);
  expect(ns.values.get('cp_comm_type') ?? ['p2p']).toEqual([
    s.cp > 1 ? (request.parallel?.cpCommType ?? 'p2p') : 'p2p',
  ]);
  expect(Number(ns.values.get('global_batch_size')) / (micro * s.dp)).toBe(s.microbatches);
  expect(ns.values.get('sequence_parallel') === true).toBe(s.sequenceParallel && s.tp > 1);
  expect(ns.values.get('recompute_granularity') ?? 'none').toBe(s.recompute);
  return { ns, dp: world / (tp * pp * cp), connections: run.connections };
}

async function estimated(request: PlanRequest): Promise<Plan> {
  const p = await estimate(request);
  expect(p.summary).not.toBeNull();
  return p;
}

describe('exports of varied plans run as Megatron-LM core_v0.19.0 reads them', () => {
  const cases: readonly [string, PlanRequest, (c: Checked) => void][] = [
    [
      'GPT (biases, dropout, learned positions, tied), DDP',
      requestOf(gpt, { tp: 2, pp: 2, dp: 4, zero: 0 }),
      ({ ns }) => expect(ns.values.has('use_distributed_optimizer')).toBe(false),
    ],
    [
      'GPT, distributed optimizer, sequence parallel, selective recompute, fp16',
      requestOf(
        gpt,
        { tp: 4, pp: 2, dp: 2, zero: 1, sequenceParallel: true, recompute: 'selective' },
        'fp16',
      ),
      ({ ns }) => {
        expect(ns.values.get('use_distributed_optimizer')).toBe(true);
        expect(ns.values.get('recompute_modules')).toEqual(['core_attn']);
        expect(ns.values.get('fp16')).toBe(true);
      },
    ],
    [
      'Llama, ZeRO-2 as Megatron-FSDP',
      requestOf(llama, { tp: 2, pp: 1, dp: 8, zero: 2, sequenceParallel: true }),
      ({ ns, connections }) => {
        expect(ns.values.get('data_parallel_sharding_strategy')).toBe('optim_grads');
        expect(connections).toBeNull();
      },
    ],
    [
      'Llama, ZeRO-3 as Megatron-FSDP with pipelining, full recompute',
      requestOf(llama, { tp: 2, pp: 2, dp: 4, zero: 3, sequenceParallel: true, recompute: 'full' }),
      ({ ns }) => expect(ns.values.get('data_parallel_sharding_strategy')).toBe('optim_grads_params'),
    ],
    [
      'Llama, interleaved: 2 model chunks per rank',
      requestOf(llama, { tp: 2, pp: 2, dp: 4, virtualStages: 2 }),
      ({ ns }) => expect(ns.values.get('num_layers_per_virtual_pipeline_stage')).toBe('2'),
    ],
    [
      'GPT, uneven first and last stages',
      requestOf(gpt, { tp: 2, pp: 4, dp: 2, stageLayers: [1, 3, 3, 1] }),
      ({ ns }) => {
        expect(ns.values.get('decoder_first_pipeline_num_layers')).toBe('1');
        expect(ns.values.get('decoder_last_pipeline_num_layers')).toBe('1');
      },
    ],
    [
      'Llama, uneven middle stages: a layout string',
      requestOf(llama, { tp: 2, pp: 4, dp: 2, stageLayers: [2, 3, 1, 2] }),
      ({ ns }) => expect(ns.values.get('pipeline_model_parallel_layout')).toBe('Et*2|t*3|t|t*2L'),
    ],
    [
      'Llama, uneven and interleaved: a layout string of 8 virtual stages',
      requestOf(
        { ...llama, layers: 16 },
        { tp: 2, pp: 4, dp: 2, virtualStages: 2, stageLayers: [2, 6, 4, 4] },
      ),
      ({ ns }) =>
        expect(ns.values.get('pipeline_model_parallel_layout')).toBe('Et|t*3|t*2|t*2|t|t*3|t*2|t*2L'),
    ],
    [
      'MoE with sequence parallelism, capacity as priced',
      requestOf(moe, { tp: 2, pp: 2, dp: 4, sequenceParallel: true }),
      ({ ns }) => {
        expect(ns.values.get('moe_grouped_gemm')).toBe(true);
        expect(ns.values.get('expert_tensor_parallel_size')).toBe('2');
      },
    ],
    [
      'eager attention, tensor-parallel overlap asked for, gradient reduction after backward',
      requestOf(
        { ...llama, attention: 'eager' },
        {
          tp: 4,
          pp: 1,
          dp: 4,
          sequenceParallel: true,
          overlapTensorParallelComm: true,
          overlapGradReduce: false,
        },
      ),
      ({ ns }) => {
        expect(ns.values.get('attention_backend')).toBe('unfused');
        expect(ns.values.get('tp_comm_overlap')).toBe(true);
        expect(ns.values.has('overlap_grad_reduce')).toBe(false);
      },
    ],
  ];
  for (const [name, request, extra] of cases) {
    it(name, async () => extra(checkExport(await estimated(request), request)));
  }

  it('the gradient reduction priced overlapped is turned on, with the parameter gather', async () => {
    const request = requestOf(llama, { tp: 2, pp: 2, dp: 4, zero: 1 });
    const { ns } = checkExport(await estimated(request), request);
    expect([ns.values.get('overlap_grad_reduce'), ns.values.get('overlap_param_gather')]).toEqual([
      true,
      true,
    ]);
  });

  it('the command line reads back, through bash, as the arguments', async () => {
    const m = (await estimated(requestOf(llama, { tp: 2, pp: 4, dp: 2, stageLayers: [2, 3, 1, 2] }))).exports!
      .megatron;
    const words = spawnSync('bash', ['-c', `printf '%s\\0' ${m.command}`], { encoding: 'utf8' }).stdout;
    expect(words.split('\0').slice(0, -1)).toEqual(['pretrain_gpt.py', ...m.args]);
  });

  it('the launch script refuses another node count', async () => {
    const m = (await estimated(requestOf(gpt, { tp: 2, pp: 2, dp: 4 }))).exports!.megatron;
    const run = runLaunchScript(m.files[0]!.content, { NNODES: '4', NODE_RANK: '0', MASTER_ADDR: 'node0' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/runs on 2 node\(s\) of 8 GPUs, not NNODES=4/);
  });
});

describe('the README examples with --target megatron', () => {
  for (const file of ['gpt3-175b-1024xa100.request.json', 'llama3-70b-256xh100.request.json']) {
    it(`${file}: an expressible export that runs as planned`, async () => {
      const input = JSON.parse(await readFile(new URL(`../../examples/${file}`, import.meta.url), 'utf8'));
      const request = PlanRequest.parse({ ...input, options: { target: 'megatron' } });
      checkExport(await plan(request), request);
    }, 60_000);
  }
});
