/**
 * Megatron-LM core_v0.19.0 exports of real priced plans, checked by running their launch script
 * (bash, a stand-in torchrun) and reading the command line it starts against independent oracles:
 * the release's flag table, the rules its source enforces, and the model the arguments build.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { estimate } from '../../src/planner/estimate.ts';
import { plan } from '../../src/planner/plan.ts';
import { PlanRequest } from '../../src/schema/index.ts';
import { runLaunchScript } from './launch-runner.ts';
import { type Checked, checkExport, estimated, requestOf } from './megatron-check.ts';
import { deepseekV3Model, llama405bLongModel, mixtral8x22bModel } from './models.ts';

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
/** Fine-grained experts: 16 of a quarter FFN, top-4, 2 shared experts, 2 leading dense blocks, dropless. */
const fineMoe = {
  ...llama,
  moe: { experts: 16, topK: 4, ffnHidden: 512, sharedExperts: 2, denseLayers: 2, dropless: true },
} as const;
/** DeepSeek-V3 in small: MLA (query latent), fine-grained MoE with a shared expert, one MTP module. */
const smallDeepseek = {
  kind: 'transformer',
  layers: 8,
  hidden: 1024,
  heads: 16,
  vocab: 32000,
  seqLen: 2048,
  activation: 'swiglu',
  mla: { qLoraRank: 384, kvLoraRank: 128, qkNopeHeadDim: 64, qkRopeHeadDim: 32, vHeadDim: 64 },
  moe: { experts: 8, topK: 2, ffnHidden: 512, sharedExperts: 1, denseLayers: 1, dropless: true },
  mtpLayers: 1,
} as const;

/** Expert-parallel degrees Megatron runs, with selective recomputation of `modules`. */
function recomputing(modules: readonly string[]): object {
  return {
    tp: 2,
    pp: 2,
    dp: 4,
    ep: 4,
    sequenceParallel: true,
    recompute: 'selective',
    recomputeModules: modules,
  };
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
      'GQA with tp past the key/value heads: 2 groups over tp 4, sequence parallel',
      requestOf({ ...llama, kvHeads: 2 }, { tp: 4, pp: 2, dp: 2, sequenceParallel: true }),
      ({ ns }) => {
        expect(ns.values.get('num_query_groups')).toBe('2');
        expect(ns.values.get('tensor_model_parallel_size')).toBe('4');
      },
    ],
    [
      "fine-grained MoE recomputing the norms, the experts' activation, the shared experts and the dense MLPs",
      requestOf(fineMoe, recomputing(['layernorm', 'moe_act', 'shared_experts', 'mlp'])),
      ({ ns }) => expect(ns.values.get('moe_grouped_gemm')).toBe(true),
    ],
    [
      'fine-grained dropless MoE on the flex token dispatcher',
      requestOf(
        { ...fineMoe, moe: { ...fineMoe.moe, dispatcher: 'flex' } },
        { tp: 2, pp: 2, dp: 4, ep: 4, sequenceParallel: true },
      ),
      ({ ns }) => {
        expect(ns.values.get('moe_token_dispatcher_type')).toBe('flex');
        // On HybridEP, the backend priced (routing maps all-gathered, tokens sent once a node).
        expect(ns.values.get('moe_flex_dispatcher_backend')).toBe('hybridep');
      },
    ],
    [
      'MoE parallel folding: expert TP 1, expert parallelism over the tp ranks and dp',
      requestOf(fineMoe, { tp: 2, pp: 2, dp: 4, ep: 8, etp: 1, sequenceParallel: true }),
      ({ ns }) => {
        expect(ns.values.get('expert_model_parallel_size')).toBe('8');
        expect(ns.values.get('expert_tensor_parallel_size')).toBe('1');
      },
    ],
    [
      "small DeepSeek-V3 recomputing MLA's up projections and whole MoE layers",
      requestOf(smallDeepseek, recomputing(['mla_up_proj', 'moe'])),
      ({ ns }) => expect(ns.values.get('multi_latent_attention')).toBe(true),
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
      'Llama, the embedding and loss counted as a block each: interleaved chunks of unequal size',
      // (14 + 2) / (pp 2 · v 4) = 2 per chunk: [7, 7], the first and last chunk one block short.
      requestOf({ ...llama, layers: 14 }, { tp: 2, pp: 2, dp: 4, virtualStages: 4, stageLayers: [7, 7] }),
      ({ ns }) =>
        expect(ns.values.get('pipeline_model_parallel_layout')).toBe('Et|t*2|t*2|t*2|t*2|t*2|t*2|tL'),
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
    [
      'FlashAttention-2 kernels: the flash backend',
      requestOf({ ...llama, attention: 'flash2' }, { tp: 2, pp: 2, dp: 4, sequenceParallel: true }),
      ({ ns }) => expect(ns.values.get('attention_backend')).toBe('flash'),
    ],
    [
      'sliding-window attention on every other block (gpt-oss), context parallel over all-to-all by default',
      requestOf(
        { ...llama, slidingWindow: { size: 128, fullAttentionEvery: 2 } },
        { tp: 2, pp: 1, dp: 4, cp: 2, sequenceParallel: true },
      ),
      ({ ns }) => {
        expect(ns.values.get('window_size')).toBe('127,0');
        expect(ns.values.get('window_attn_skip_freq')).toBe('2');
        expect(ns.values.get('cp_comm_type')).toEqual(['a2a']);
      },
    ],
    [
      'sliding-window attention on every block (Mistral)',
      requestOf({ ...llama, slidingWindow: { size: 1024 } }, { tp: 2, pp: 2, dp: 4, sequenceParallel: true }),
      ({ ns }) => expect(ns.values.has('window_attn_skip_freq')).toBe(false),
    ],
    [
      'a window as long as the sequence windows nothing: full attention, no window argument',
      requestOf({ ...llama, slidingWindow: { size: 4096 } }, { tp: 2, pp: 2, dp: 4, sequenceParallel: true }),
      ({ ns }) => expect(ns.values.has('window_size')).toBe(false),
    ],
    [
      'heads wider than hidden / heads (Qwen3 style): --kv-channels',
      requestOf({ ...llama, headDim: 128 }, { tp: 2, pp: 2, dp: 4, sequenceParallel: true }),
      ({ ns }) => expect(ns.values.get('kv_channels')).toBe('128'),
    ],
    [
      'context parallelism 2 (ring P2P) with tensor and pipeline parallelism',
      requestOf(llama, { tp: 2, pp: 2, dp: 2, cp: 2, sequenceParallel: true }),
      ({ ns }) => {
        expect(ns.values.get('context_parallel_size')).toBe('2');
        expect(ns.values.get('cp_comm_type')).toEqual(['p2p']);
      },
    ],
    [
      'context parallelism by all-to-all: 8 query and 2 key/value heads per tp rank over cp 2',
      requestOf(llama, { tp: 2, pp: 1, dp: 4, cp: 2, cpCommType: 'a2a', sequenceParallel: true }),
      ({ ns }) => expect(ns.values.get('cp_comm_type')).toEqual(['a2a']),
    ],
    [
      'context parallelism by all-gather, no tensor parallelism',
      requestOf(llama, { tp: 1, pp: 2, dp: 2, cp: 4, cpCommType: 'allgather' }),
      ({ ns }) => expect(ns.values.get('cp_comm_type')).toEqual(['allgather']),
    ],
    [
      'expert parallelism 4: fine-grained dropless experts, shared experts, leading dense blocks',
      requestOf(fineMoe, { tp: 2, pp: 1, dp: 8, ep: 4, sequenceParallel: true }),
      ({ ns }) => {
        expect(ns.values.get('moe_token_dispatcher_type')).toBe('alltoall');
        expect(ns.values.get('moe_layer_freq')).toBe('([0]*2+[1]*6)');
        expect(ns.values.get('moe_shared_expert_intermediate_size')).toBe('1024');
        expect(ns.values.has('moe_pad_expert_input_to_capacity')).toBe(false);
      },
    ],
    [
      'MLA, MTP and FP8 with expert parallelism, uneven stages: the layout puts the MTP module with the head',
      requestOf(smallDeepseek, { tp: 1, pp: 4, dp: 4, ep: 4, stageLayers: [2, 3, 1, 2] }, 'fp8'),
      ({ ns }) => {
        expect(ns.values.get('pipeline_model_parallel_layout')).toBe('Et*2|t*3|t|t*2mL');
        expect(ns.values.get('fp8')).toBe('hybrid');
        expect(ns.values.has('group_query_attention')).toBe(false);
      },
    ],
    [
      'two MTP depths of one repeated module: --mtp-num-layers 2 --mtp-use-repeated-layer, one m in the layout a depth',
      requestOf(
        { ...smallDeepseek, mtpLayers: 2, mtpRepeatedLayer: true },
        { tp: 1, pp: 2, dp: 8, ep: 4, stageLayers: [4, 4] },
      ),
      ({ ns }) => {
        expect(ns.values.get('mtp_num_layers')).toBe('2');
        expect(ns.values.get('mtp_use_repeated_layer')).toBe(true);
      },
    ],
    [
      'MLA without a query latent (DeepSeek-V2-Lite style), even stages',
      requestOf(
        { ...smallDeepseek, mla: { ...smallDeepseek.mla, qLoraRank: null }, mtpLayers: 0 },
        { tp: 2, pp: 2, dp: 4, ep: 2, sequenceParallel: true },
      ),
      ({ ns }) => expect(ns.values.has('q_lora_rank')).toBe(false),
    ],
    [
      'squared ReLU (Nemotron) with top-1 routing: the softmax before the top-k',
      requestOf(
        { ...gpt, activation: 'squared-relu', bias: false, moe: { experts: 4, topK: 1, capacityFactor: 2 } },
        { tp: 2, pp: 1, dp: 8, ep: 2, sequenceParallel: true },
      ),
      ({ ns }) => {
        expect(ns.values.get('squared_relu')).toBe(true);
        expect(ns.values.get('moe_router_pre_softmax')).toBe(true);
      },
    ],
    [
      'FP8 weights kept and gathered in FP8 with the distributed optimizer: --fp8-param-gather',
      requestOf(llama, { tp: 2, pp: 2, dp: 4, zero: 1, fp8ParamGather: true }, 'fp8'),
      ({ ns }) => {
        expect(ns.values.get('fp8_param_gather')).toBe(true);
        expect(ns.values.get('use_distributed_optimizer')).toBe(true);
      },
    ],
    [
      'NVFP4 on B200, its weights kept and gathered in NVFP4: --fp4-format e2m1 --fp4-recipe nvfp4 --fp4-param-gather',
      requestOf(llama, { tp: 2, pp: 2, dp: 4, zero: 1, fp4ParamGather: true }, 'nvfp4', {
        gpu: 'B200-180GB',
        nodes: 2,
        gpusPerNode: 8,
      }),
      ({ ns }) => {
        expect(ns.values.get('fp4')).toBe('e2m1');
        expect(ns.values.get('fp4_recipe')).toBe('nvfp4');
        expect(ns.values.get('fp4_param_gather')).toBe(true);
        expect(ns.values.get('fp8')).toBeUndefined();
        expect(ns.values.get('bf16')).toBe(true);
      },
    ],
    [
      'MXFP8 on GB200, its weights gathered in MXFP8: --fp8-format e4m3 --fp8-recipe mxfp8 --fp8-param-gather',
      requestOf(llama, { tp: 2, pp: 2, dp: 4, zero: 1, fp8ParamGather: true }, 'mxfp8', {
        gpu: 'GB200-186GB',
        nodes: 2,
        gpusPerNode: 8,
      }),
      ({ ns }) => {
        expect(ns.values.get('fp8')).toBe('e4m3');
        expect(ns.values.get('fp8_recipe')).toBe('mxfp8');
        expect(ns.values.get('fp8_param_gather')).toBe(true);
        expect(ns.values.get('fp4')).toBeUndefined();
      },
    ],
    [
      'NVFP4 with its last blocks kept in bf16: --first-last-layers-bf16 with both counts written',
      PlanRequest.parse({
        ...requestOf(llama, { tp: 2, pp: 2, dp: 4, zero: 1 }, 'nvfp4', {
          gpu: 'B200-180GB',
          nodes: 2,
          gpusPerNode: 8,
        }),
        training: { globalBatch: 64, precision: 'nvfp4', bf16Layers: { first: 0, last: 3 } },
      }),
      ({ ns }) => {
        expect(ns.values.get('first_last_layers_bf16')).toBe(true);
        // TransformerConfig's start count defaults to 1: the export writes 0.
        expect(ns.values.get('num_layers_at_start_in_bf16')).toBe('0');
        expect(ns.values.get('num_layers_at_end_in_bf16')).toBe('3');
      },
    ],
    [
      'a SwiGLU priced unfused, as eager PyTorch runs it: --no-bias-swiglu-fusion',
      requestOf({ ...llama, activationFusion: false }, { tp: 2, pp: 2, dp: 4 }),
      ({ ns }) => expect(ns.values.get('bias_swiglu_fusion')).toBe(false),
    ],
    [
      'expert all-to-alls overlapped where priced: ep > 1 and interleaving',
      requestOf(fineMoe, {
        tp: 1,
        pp: 2,
        dp: 8,
        ep: 8,
        virtualStages: 2,
        overlapExpertParallelComm: true,
      }),
      ({ ns }) => expect(ns.values.get('overlap_moe_expert_parallel_comm')).toBe(true),
    ],
  ];
  for (const [name, request, extra] of cases) {
    it(name, async () => extra(checkExport(await estimated(request), request)));
  }

  it('says what to install for FlashAttention-2 kernels, and picks no backend for the fused default', async () => {
    const flash2 = (await estimated(requestOf({ ...llama, attention: 'flash2' }, { tp: 2, pp: 2, dp: 4 })))
      .exports!.megatron;
    expect(flash2.notes.some((n) => n.includes('install flash-attn 2'))).toBe(true);
    const fused = (await estimated(requestOf(llama, { tp: 2, pp: 2, dp: 4 }))).exports!.megatron;
    expect(fused.args.some((a) => a[0] === '--attention-backend')).toBe(false);
  });

  it('says that an RMSNorm priced as eager PyTorch composes it runs fused in Megatron-LM, and prices it slower', async () => {
    const at = async (normFusion: boolean) =>
      estimated(requestOf({ ...llama, normFusion }, { tp: 2, pp: 2, dp: 4 }));
    const [eager, fused] = [await at(false), await at(true)];
    const composed = (p: typeof eager) =>
      p.exports!.megatron.notes.filter((n) => /Transformer Engine's fused RMSNorm/.test(n));
    expect(composed(eager)).toHaveLength(1);
    expect(composed(fused)).toEqual([]);
    expect(eager.summary!.stepTimeSec).toBeGreaterThan(fused.summary!.stepTimeSec);
  });

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
  for (const file of [
    'gpt3-175b-1024xa100.request.json',
    'llama3-70b-256xh100.request.json',
    'gpt-oss-120b-64xb200.request.json',
  ]) {
    it(`${file}: an expressible export that runs as planned`, async () => {
      const input = JSON.parse(await readFile(new URL(`../../examples/${file}`, import.meta.url), 'utf8'));
      const request = PlanRequest.parse({ ...input, options: { target: 'megatron' } });
      checkExport(await plan(request), request);
    }, 60_000);
  }
});

describe('exports at the scale of today’s runs', () => {
  const at = (gpu: string, nodes: number) => ({ gpu, nodes, gpusPerNode: 8 });
  it('Llama 3.1 405B at 131,072 tokens on 16,384 H100: cp 16 × tp 8 × pp 16', async () => {
    const request = requestOf(
      llama405bLongModel,
      {
        tp: 8,
        pp: 16,
        dp: 8,
        cp: 16,
        sequenceParallel: true,
        recompute: 'full',
        stageLayers: [7, ...Array(14).fill(8), 7],
      },
      'bf16',
      at('H100-80GB', 2048),
      128,
    );
    const { ns } = checkExport(await estimated(request), request);
    expect(ns.values.get('context_parallel_size')).toBe('16');
  });

  it('DeepSeek-V3 on 2,048 H800 in FP8: ep 64 × pp 16, MLA, MTP, 3 dense blocks', async () => {
    const request = requestOf(
      deepseekV3Model,
      { tp: 1, pp: 16, dp: 128, ep: 64, recompute: 'full', stageLayers: [3, ...Array(14).fill(4), 2] },
      'fp8',
      at('H800-80GB', 256),
      15360,
    );
    const { ns } = checkExport(await estimated(request), request);
    expect(ns.values.get('moe_layer_freq')).toBe('([0]*3+[1]*58)');
    expect(ns.values.get('expert_model_parallel_size')).toBe('64');
  });

  it('a Mixtral-8x22B-shaped MoE on 256 B200: ep 8 with etp = tp 2', async () => {
    const request = requestOf(
      mixtral8x22bModel,
      { tp: 2, pp: 4, dp: 32, ep: 8, sequenceParallel: true },
      'bf16',
      at('B200-180GB', 32),
      1024,
    );
    const { ns } = checkExport(await estimated(request), request);
    expect(ns.values.get('expert_tensor_parallel_size')).toBe('2');
  });
});

describe('what Megatron-LM cannot run is refused with the reason', () => {
  const refusal = async (request: PlanRequest) => {
    const m = (await estimate({ ...request, options: { ...request.options, target: 'any' } })).exports!
      .megatron;
    expect(m.expressible).toBe(false);
    return m.notes.join(' ');
  };

  it('GeGLU has no command-line form', async () => {
    const geglu = { ...llama, activation: 'geglu' } as const;
    expect(await refusal(requestOf(geglu, { tp: 2, pp: 1, dp: 8 }))).toMatch(/no GeGLU.*quick-geglu/);
  });

  it('a sliding window under the context-parallel p2p ring', async () => {
    const request = requestOf(
      { ...llama, slidingWindow: { size: 128, fullAttentionEvery: 2 } },
      { tp: 2, pp: 1, dp: 4, cp: 2, cpCommType: 'p2p', sequenceParallel: true },
    );
    expect(await refusal(request)).toMatch(/sliding window only with the all-to-all or all-gather exchange/);
  });

  it('an all-to-all context exchange whose heads do not split over cp', async () => {
    // 4 key/value heads over tp 4 leave one per rank, which cp 2 cannot split.
    const request = requestOf(llama, {
      tp: 4,
      pp: 1,
      dp: 2,
      cp: 2,
      cpCommType: 'a2a',
      sequenceParallel: true,
    });
    expect(await refusal(request)).toMatch(/cp_comm_type a2a.*cp = 2/);
  });
});
