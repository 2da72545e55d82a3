/**
 * A plan as Megatron-LM core_v0.19.0 runs it: `pretrain_gpt.py` arguments (`pretrain_hybrid.py` for
 * a hybrid Mamba model) that build the priced model with the plan's parallelism, schedule, memory
 * savings and overlaps, and a launch script.
 */
import { parseCluster } from '../../cluster/index.ts';
import type { TransformerDims } from '../../model/dims.ts';
import type { Exports, Precision, ZeroStage } from '../../schema/index.ts';
import type { ExportContext } from '../context.ts';
import { type RunShape, type RuntimePolicy, requestedOverlaps } from '../framework.ts';
import { shapeOfPlan } from '../shape.ts';
import { type Arg, argv } from './args.ts';
import { hybridPatternArg } from './hybrid-args.ts';
import { launchScript, shellWord } from './launch.ts';
import { bf16LayerArgs, modelArgs } from './model-args.ts';
import { megatronNotes } from './notes.ts';
import { pipelineArgs } from './pipeline.ts';
import { MEGATRON_RELEASE, megatron } from './rules.ts';

type MegatronExport = Exports['megatron'];

/** Selective recomputes the plan's modules (Megatron's default: core_attn); full, every layer from its input. */
function recomputeArgs(shape: RunShape): readonly Arg[] {
  switch (shape.recompute) {
    case 'none':
    // torchtitan's per-op policy has no Megatron-LM argument; the rules refuse such a plan and
    // exportOf replaces this export with the reason.
    case 'per-op':
      return [];
    case 'selective': {
      const [first, ...rest] = shape.recomputeModules;
      return [
        ['--recompute-granularity', 'selective'],
        ['--recompute-modules', first ?? 'core_attn', ...rest],
      ];
    }
    case 'full':
      return [
        ['--recompute-granularity', 'full'],
        ['--recompute-method', 'uniform'],
        ['--recompute-num-layers', 1],
      ];
  }
}

/**
 * Megatron's parallel degrees (it derives dp from the world size) and where the blocks go: the
 * pipeline arguments of a GPT model, or a hybrid model's pattern cut into its stages. Context
 * parallelism names its exchange: ring P2P of key/value blocks, all-to-all of heads, or all-gather.
 */
function parallelArgs(shape: RunShape, dims: TransformerDims, blocks: readonly number[]): Arg[] {
  return [
    ['--tensor-model-parallel-size', shape.tp],
    ['--pipeline-model-parallel-size', shape.pp],
    ...(shape.cp > 1
      ? ([
          ['--context-parallel-size', shape.cp],
          ['--cp-comm-type', shape.cpCommType],
        ] as const)
      : []),
    ...(dims.hybridPattern === null
      ? pipelineArgs(blocks, shape.virtualStages, dims.mtpLayers)
      : [hybridPatternArg(dims, blocks, shape.virtualStages)]),
    // Megatron turns sequence parallelism off at tp = 1 (validate_args): it is not said there.
    ...(shape.sequenceParallel && shape.tp > 1 ? [['--sequence-parallel'] as const] : []),
  ];
}

/**
 * Mixed precision with the 2-byte gradients the plan prices: with bf16 Megatron would otherwise
 * accumulate and reduce gradients in fp32 (validate_args), twice the memory and traffic.
 */
const PRECISION_ARGS: Readonly<Record<Precision, readonly Arg[]>> = {
  bf16: [['--bf16'], ['--grad-reduce-in-bf16']],
  fp16: [['--fp16']],
  // FP8 GEMMs inside bf16 training: E4M3 forward, E5M2 gradients, per-tensor current scaling.
  fp8: [['--bf16'], ['--grad-reduce-in-bf16'], ['--fp8-format', 'hybrid'], ['--fp8-recipe', 'tensorwise']],
  // MXFP8 GEMMs inside bf16 training: E4M3 with E8M0 scales per 32 (Megatron-Bridge's bf16_with_mxfp8_mixed).
  mxfp8: [['--bf16'], ['--grad-reduce-in-bf16'], ['--fp8-format', 'e4m3'], ['--fp8-recipe', 'mxfp8']],
  // NVFP4 GEMMs inside bf16 training: Transformer Engine's NVFP4BlockScaling (validate_args: TE ≥ 2.7).
  nvfp4: [['--bf16'], ['--grad-reduce-in-bf16'], ['--fp4-format', 'e2m1'], ['--fp4-recipe', 'nvfp4']],
};

/**
 * ZeRO as Megatron shards it: 1 is the distributed optimizer (optimizer state sharded, gradients
 * reduce-scattered); 2 and 3 are Megatron-FSDP, which also shards gradients (and parameters), needs
 * the distributed optimizer and checkpoints only as fsdp_dtensor (validate_args).
 */
function shardingArgs(zero: ZeroStage): Arg[] {
  if (zero === 0) return [];
  if (zero === 1) return [['--use-distributed-optimizer']];
  return [
    ['--use-megatron-fsdp'],
    ['--data-parallel-sharding-strategy', zero === 2 ? 'optim_grads' : 'optim_grads_params'],
    ['--use-distributed-optimizer'],
    ['--ckpt-format', 'fsdp_dtensor'],
  ];
}

/**
 * The overlaps the plan was priced with. --overlap-param-gather needs --overlap-grad-reduce and a
 * sharded optimizer (validate_args): it hides the parameter all-gather of ZeRO ≥ 1 as the priced
 * overlapped reduction assumes.
 */
function overlapArgs(policy: RuntimePolicy, zero: ZeroStage, dp: number): Arg[] {
  const args: Arg[] = [];
  if (policy.gradientReduction === 'overlapped' && dp > 1) {
    args.push(['--overlap-grad-reduce']);
    if (zero >= 1) args.push(['--overlap-param-gather']);
  }
  if (policy.tensorParallelOverlap) args.push(['--tp-comm-overlap']);
  if (policy.expertParallelOverlap) args.push(['--overlap-moe-expert-parallel-comm']);
  return args;
}

/** Nodes × GPUs per node that torchrun starts: whole nodes, or part of one. */
function nodesOf(devices: number, gpusPerNode: number): { nodes: number; gpusPerNode: number } | string {
  if (devices <= gpusPerNode) return { nodes: 1, gpusPerNode: devices };
  return devices % gpusPerNode === 0
    ? { nodes: devices / gpusPerNode, gpusPerNode }
    : `its ${devices} GPUs are not whole nodes of ${gpusPerNode}`;
}

/**
 * What the GPUs cannot run. Grouped GEMM kernels need compute capability 8.0 (validate_args): the
 * GPUs with bf16 tensor cores. The hybrid stack spec builds its experts as grouped GEMMs whatever
 * the arguments say (hybrid_layer_specs.py), where the GPT model falls back to one GEMM per expert.
 */
function gpuProblems(shape: RunShape, gpu: string, groupedGemm: boolean): string[] {
  if (groupedGemm) return [];
  const m = shape.model;
  const hybridExperts = m !== null && m.hybridPattern !== null && m.moe !== null;
  return [
    // TransformerConfig.__post_init__: "moe_act in recompute_modules is only supported with moe_grouped_gemm."
    ...(shape.recompute === 'selective' && shape.recomputeModules.includes('moe_act')
      ? [`recomputing moe_act needs --moe-grouped-gemm, which ${gpu} cannot run`]
      : []),
    ...(hybridExperts
      ? [
          `the hybrid model's MoE layers are grouped GEMMs (hybrid_layer_specs.py), which ${gpu} cannot run (compute capability 8.0 or newer)`,
        ]
      : []),
  ];
}

function notExpressible(problems: readonly string[]): MegatronExport {
  return {
    expressible: false,
    release: MEGATRON_RELEASE,
    args: [],
    command: '',
    files: [],
    notes: problems.map((p) => `Not expressible in ${MEGATRON_RELEASE}: ${p}.`),
  };
}

/**
 * `pretrain_gpt.py` (or `pretrain_hybrid.py`) arguments and a launch script for the plan, or why
 * Megatron-LM cannot run it.
 */
export function megatronExport(ctx: ExportContext): MegatronExport {
  const { summary, dims, request } = ctx;
  const shape = shapeOfPlan(ctx);
  const verdict = megatron.runs(shape);
  const cluster = parseCluster(request.cluster);
  const placement = nodesOf(ctx.devices, cluster.gpusPerNode);
  const groupedGemm = cluster.gpu.peakTflops.bf16 !== undefined;
  const problems = [
    ...(verdict.ok ? [] : [verdict.reason]),
    ...(typeof placement === 'string' ? [placement] : []),
    ...gpuProblems(shape, cluster.gpu.name, groupedGemm),
  ];
  if (dims === null || typeof placement === 'string' || problems.length > 0) return notExpressible(problems);

  const { tp, pp, dp, cp } = summary;
  const policy = megatron.runtime(shape, requestedOverlaps(ctx.request.parallel));
  const args = argv([
    ...parallelArgs(shape, dims, ctx.blocks),
    ['--micro-batch-size', shape.rankMicroBatch],
    ['--global-batch-size', shape.globalBatch],
    ...recomputeArgs(shape),
    ...shardingArgs(shape.zero),
    ...overlapArgs(policy, shape.zero, dp),
    ...modelArgs(dims, { ep: shape.ep, etp: shape.etp, groupedGemm }),
    ...PRECISION_ARGS[shape.precision],
    ...bf16LayerArgs(dims),
    // The FP8 weights kept and gathered as priced (the transformer config's fp8_param follows it).
    ...(shape.quantizedParamGather
      ? [[shape.precision === 'nvfp4' ? '--fp4-param-gather' : '--fp8-param-gather'] as const]
      : []),
  ]);
  const title = `${dims.name} on ${ctx.devices} ${cluster.gpu.name}: tp ${tp}${cp > 1 ? ` × cp ${cp}` : ''} × pp ${pp} × dp ${dp}${shape.ep > 1 ? ` (ep ${shape.ep})` : ''}, micro batch ${ctx.rankMicroBatch} × ${summary.microbatches} microbatches, planned step ${summary.stepTimeSec.toFixed(3)} s (meshplan)`;
  // pretrain_mamba.py is only a deprecated wrapper of pretrain_hybrid.py at this release.
  const entry = dims.hybridPattern === null ? 'pretrain_gpt.py' : 'pretrain_hybrid.py';
  const script = launchScript({ entry, args, ...placement, fsdp: shape.zero >= 2, vocab: dims.vocab, title });
  return {
    expressible: true,
    release: MEGATRON_RELEASE,
    args,
    command: `${entry} ${args.map(shellWord).join(' ')}`,
    files: [
      {
        path: 'megatron-launch.sh',
        description: `bash: torchrun on ${placement.nodes} node(s) × ${placement.gpusPerNode} GPUs running ${MEGATRON_RELEASE} ${entry} with the plan's arguments`,
        content: script,
      },
    ],
    notes: megatronNotes(ctx, {
      groupedGemm,
      tensorParallelOverlap: policy.tensorParallelOverlap,
      expertParallelOverlap: policy.expertParallelOverlap,
      expertParallelOverlapAsked: request.parallel?.overlapExpertParallelComm === true,
    }),
  };
}
