import { stringify } from 'smol-toml';
import { bf16Blocks, cpCommTypeOf, type TransformerDims } from '../../model/dims.ts';
import type { ExportFile, Exports } from '../../schema/index.ts';
import type { ExportContext } from '../context.ts';
import { requestedOverlaps } from '../framework.ts';
import { shapeOfPlan } from '../shape.ts';
import { companionFiles } from './companion.ts';
import { FP8_SKIPPED_MODULES, jobConfig } from './config.ts';
import { type GptArgs, modelSelection, type TorchtitanModel, torchtitanModel } from './model.ts';
import { TORCHTITAN_RELEASE, torchtitan } from './rules.ts';
import { type EndModules, LLAMA_ENDS, modelParts } from './stages.ts';

type TorchtitanExport = Exports['torchtitan'];

const CONFIG_PATH = 'torchtitan.toml';

function endModules(model: TorchtitanModel): EndModules {
  if (model.kind === 'gpt' && model.args.position === 'learned') {
    return { first: [...LLAMA_ENDS.first, 'pos_embeddings'], last: LLAMA_ENDS.last };
  }
  return LLAMA_ENDS;
}

/** What the GPT model has that torchtitan's llama3 model has not. */
function notLlama(a: GptArgs): string[] {
  const traits: [boolean, string][] = [
    [a.norm === 'layernorm', 'LayerNorm'],
    [
      a.activation !== 'swiglu',
      { gelu: 'GELU', geglu: 'GeGLU', squared_relu: 'squared ReLU', swiglu: '' }[a.activation],
    ],
    [a.head_dim * a.n_heads !== a.dim, `heads of ${a.head_dim} (not dim / n_heads)`],
    [a.bias, 'biases'],
    [a.position === 'learned', 'a learned position table'],
    [a.tied_embeddings, 'tied embeddings'],
    [a.dropout > 0, `dropout ${a.dropout}`],
  ];
  return traits.filter(([has]) => has).map(([, name]) => name);
}

/** What torchtitan's qwen3 or deepseek_v3 flavor is, and what of it the price does not model. */
function expertModelNotes(dims: TransformerDims, model: TorchtitanModel): string[] {
  const notes = [
    model.kind === 'deepseek_v3'
      ? `The model is torchtitan's deepseek_v3 (multi-head latent attention${dims.moe === null ? '' : ', leading dense blocks, routed and shared experts'}) with the flavor meshplan_deepseek_v3.py registers, attending with SDPA (its shipped flavors use flex attention, which its context parallelism does not run).`
      : `The model is torchtitan's qwen3 (heads of ${dims.headDim}${dims.moe === null ? '' : ', experts in every block'}) ${dims.qkNorm ? 'with' : 'without'} its per-head q/k norms, with the flavor meshplan_qwen3.py registers; llama3's pipeline split and deepseek_v3's load-balancing optimizer are added to its train spec.`,
  ];
  if (dims.moe !== null) {
    notes.push(
      `Its experts run as grouped GEMMs (torch._grouped_mm, SM90 or later; older GPUs fall back to a loop over experts) and route dropless: every token to its top ${dims.moe.topK} of ${dims.moe.experts} experts, balanced on average by the expert-bias update, as priced. The router's score function is not priced: the flavor uses softmax.`,
    );
  }
  return notes;
}

/** What a user should know that the settings alone do not say. */
function modelNotes(dims: TransformerDims, model: TorchtitanModel): string[] {
  const notes: string[] = [];
  if (model.kind === 'llama3') {
    notes.push(
      `torchtitan ships no llama3 flavor of these sizes: ${CONFIG_PATH} names the flavor meshplan_llama3.py registers (FFN ${dims.ffnHidden} from multiple_of = ${model.args.multiple_of}${model.args.ffn_dim_multiplier === null ? '' : ` and ffn_dim_multiplier = ${model.args.ffn_dim_multiplier}`}; RoPE base ${model.args.rope_theta} with Llama 3.1's scaling, which the price does not depend on).`,
    );
  }
  if (model.kind === 'qwen3' || model.kind === 'deepseek_v3') notes.push(...expertModelNotes(dims, model));
  if (model.kind === 'gpt') {
    notes.push(
      `torchtitan's llama3 has none of ${notLlama(model.args).join(', ')}: the model is meshplan_gpt_model.py, registered by meshplan_gpt.py and parallelised by meshplan_gpt_parallelize.py with the layout meshplan priced.`,
    );
  }
  if (model.kind === 'gpt' && model.args.dropout > 0) {
    notes.push(
      "Dropout masks come from each rank's CUDA generator, which torchtitan v0.2.2 does not seed per rank (distributed/utils.py set_determinism): set different seeds per rank if masks must differ across data-parallel replicas.",
    );
  }
  if (!dims.activationFusion && dims.activation === 'swiglu') {
    notes.push(
      'The plan prices the SwiGLU as eager PyTorch runs it (model.activationFusion false): SiLU and product as kernels of their own, keeping the SiLU output; torch.compile, which this config turns on, fuses them, so it runs in a little less time and memory than planned.',
    );
  }
  if (!dims.normFusion && dims.norm === 'rmsnorm') {
    notes.push(
      'The plan prices each RMSNorm as eager PyTorch composes it (model.normFusion false): an fp32 upcast, square, mean, rsqrt and two products, each a kernel, keeping the fp32 upcast; torch.compile, which this config turns on, fuses them, so it runs in less time and memory than planned.',
    );
  }
  if (dims.moe?.routerWeights === 'activation') {
    notes.push(
      `The plan prices the router weights inside the experts' activation (model.moe.routerWeights 'activation', Megatron-Core's); torchtitan scales the experts' outputs and keeps them for backward, ${dims.moe.topK} × ${dims.hidden} more values per token and MoE block than planned: price with routerWeights 'combine' for its memory.`,
    );
  }
  if (dims.flashAttention2) {
    notes.push(
      "The plan prices attention as FlashAttention-2 kernels; torchtitan v0.2.2 asks PyTorch's SDPA for cuDNN attention first (models/attention.py), which runs faster than planned on Hopper and Blackwell.",
    );
  }
  if (!dims.flashAttention) {
    notes.push(
      "The plan prices attention as separate kernels; torchtitan runs PyTorch's fused SDPA, which needs less memory and time for the same model.",
    );
  }
  notes.push(
    `Set [model] hf_assets_path to your tokenizer; its vocabulary must fit the model's ${dims.vocab} embeddings.`,
  );
  return notes;
}

function runtimeNotes(ctx: ExportContext): string[] {
  const { summary, request } = ctx;
  const notes: string[] = [];
  if (summary.recompute === 'per-op') {
    notes.push(
      'Per-op recomputation is activation_checkpoint.mode = "selective" with selective_ac_option = "op": each block keeps the outputs of its attention and of every other bf16 matmul (none under Float8, whose matmuls are _scaled_mm) and recomputes the rest in its backward, as priced.',
    );
  }
  if (summary.recompute === 'selective') {
    notes.push(
      'Selective recomputation (the attention core) is activation_checkpoint.mode = "none": torchtitan\'s fused attention keeps no scores or probabilities and recomputes them in its backward.',
    );
  }
  if (summary.zero === 1 && summary.dp * summary.cp > 1) {
    notes.push(
      'ZeRO-1 is FSDP2 under pipeline parallelism (data_parallel_shard_degree, fsdp_reshard_after_forward = "never"): PyTorch\'s pipeline stage keeps each block\'s parameters gathered from its first forward and accumulates whole float32 gradients until the last microbatch, then reshards and reduce-scatters once, so only the optimizer state stays sharded, as priced.',
    );
  }
  if (summary.zero === 2 && summary.dp > 1) {
    notes.push(
      'ZeRO-2 is FSDP2 keeping parameters gathered from forward to backward (fsdp_reshard_after_forward = "never"): the same memory peak, gradients reduce-scattered.',
    );
  }
  if (summary.zero === 0 && summary.dp > 1) {
    notes.push(
      'ZeRO-0 is DDP, which torchtitan runs with float32 parameters under bfloat16 autocast: the same 16 bytes of weights, gradients and Adam state per parameter as priced.',
    );
  }
  if (summary.dp > 1) {
    notes.push(
      'torchtitan reduces gradients in float32 (mixed_precision_reduce has no other choice in v0.2.2): 4 bytes a gradient on the wire, as priced.',
    );
  }
  if (summary.cp > 1) {
    notes.push(
      request.parallel?.cpCommType === 'allgather'
        ? 'Context parallelism all-gathers every key/value shard once per attention (context_parallel_rotate_method = "allgather").'
        : 'Context parallelism passes key/value shards around the ring, cp − 1 steps per attention (context_parallel_rotate_method = "alltoall": PyTorch sends each shard to the next rank), on SDPA with head-tail load balancing over 2·cp chunks.',
      `With context parallelism FSDP2 shards parameters and reduces gradients over the dp × cp = ${summary.dp * summary.cp} ranks (torchtitan folds cp into its FSDP mesh), as priced.`,
    );
  }
  if (summary.ep > 1) {
    notes.push(
      `Expert parallelism (ep ${summary.ep}, etp ${summary.etp}): tokens are dispatched and combined by all-to-all on the compute stream, not overlapped, as priced; experts' gradients reduce over the dp × cp / ep = ${(summary.dp * summary.cp) / summary.ep} ranks holding the same experts.`,
    );
  }
  if (request.training.precision === 'fp8') {
    notes.push(
      `FP8 (tensorwise scaling, torchao's Float8Linear; SM89 or later and torchao installed) converts every linear layer except ${FP8_SKIPPED_MODULES.join(' and ')}, which stay bf16 as priced; linear layers with a dimension not a multiple of 16 stay bf16 too. torch.compile is on to fuse the casts.`,
    );
    if (summary.tp > 1) {
      notes.push(
        'Tensor-parallel collectives stay bf16, as priced: its parallelize functions switch to FP8 all-gathers only for a converter named "float8", which v0.2.2 does not register (components/quantization/float8.py registers "quantize.linear.float8").',
      );
    }
    if (ctx.dims !== null && ctx.dims.moe !== null) {
      notes.push(
        "The experts' FP8 grouped GEMMs (quantize.grouped_mm.float8) are a torchao prototype that needs its nightly build.",
      );
    }
  }
  if (request.parallel?.overlapGradReduce === false) {
    notes.push('torchtitan has no switch to stop overlapping the gradient reduction with the backward pass.');
  }
  notes.push(...ctx.layout.placementNotes.map((n) => `Placement: ${n}.`));
  return notes;
}

/** The header that says what the file is and how to run it. */
function header(ctx: ExportContext): string {
  const { devices } = ctx;
  return [
    `# ${TORCHTITAN_RELEASE} job config written by meshplan for ${devices} GPUs.`,
    `# Run on every node: torchrun --nnodes <nodes> --nproc_per_node <GPUs per node> -m torchtitan.train --job.config_file ${CONFIG_PATH}`,
    '',
  ].join('\n');
}

/** torchtitan's job config for the plan: TOML (files[0]) and the same tables as `config`. */
export function torchtitanExport(ctx: ExportContext): TorchtitanExport {
  const { summary, dims, layout, request } = ctx;
  const problems: string[] = [];
  if (dims === null)
    problems.push(
      'it trains the models its train specs define, and a general operator graph is none of them',
    );
  problems.push(...layout.megatronProblems);
  if (ctx.batchProblem !== null) problems.push(ctx.batchProblem);
  const refused = (notes: string[]): TorchtitanExport => ({
    expressible: false,
    release: TORCHTITAN_RELEASE,
    files: [],
    config: {},
    notes: [...problems.map((p) => `Not expressible in torchtitan: ${p}.`), ...notes],
  });
  if (dims === null) return refused([]);

  const model = torchtitanModel(dims);
  if (model.kind === 'none') {
    problems.push(model.reason);
    return refused(runtimeNotes(ctx));
  }
  let parts: readonly (readonly string[])[] | null = null;
  if (summary.pp > 1) {
    const split = modelParts(ctx.blocks, summary.virtualStages, endModules(model));
    if (split.ok) parts = split.parts;
    else problems.push(split.reason);
  }
  const policy = torchtitan.runtime(shapeOfPlan(ctx), requestedOverlaps(request.parallel));
  const config = jobConfig({
    summary,
    seqLen: dims.seqLen,
    globalBatch: request.training.globalBatch,
    rankMicroBatch: ctx.rankMicroBatch,
    model: modelSelection(model),
    modelParts: parts,
    asyncTensorParallel: policy.tensorParallelOverlap,
    cpCommType: cpCommTypeOf(request),
    fp8:
      request.training.precision === 'fp8'
        ? { experts: dims.moe !== null, bf16Blocks: bf16Blocks(dims) }
        : null,
  });
  const notes = [...modelNotes(dims, model), ...runtimeNotes(ctx)];
  notes.push(
    'torch.compile is on ([compile] model and loss): the plan prices fused norm, activation and loss kernels, which torchtitan runs only compiled (eager, its Llama 3.1 8B benchmark ran 14% slower).',
  );
  if (policy.tensorParallelOverlap) {
    notes.push(
      'The plan overlaps tensor-parallel communication: async TP, which needs torch.compile ([compile]).',
    );
  }
  if (problems.length > 0) return { ...refused(notes), config };
  const files: ExportFile[] = [
    {
      path: CONFIG_PATH,
      description: `The ${TORCHTITAN_RELEASE} job config: pass it as --job.config_file.`,
      content: `${header(ctx)}${stringify(config)}`,
    },
    ...companionFiles(model),
  ];
  return { expressible: true, release: TORCHTITAN_RELEASE, files, config, notes };
}
