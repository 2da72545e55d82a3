/**
 * What torchtitan v0.2.2 runs and how its runtime prices it, read from its source at that tag
 * (and from the PyTorch nightly it pins, for `torch.distributed.pipelining`).
 */
import type { TransformerDims } from '../../model/dims.ts';
import { type Framework, firstProblem, type RunShape } from '../framework.ts';
import { partBlocks } from './stages.ts';

export const TORCHTITAN_RELEASE = 'torchtitan v0.2.2';

/*
 * Models: torchtitan builds the models its train specs define. meshplan registers a llama3 flavor
 * or its own GPT model for every dense transformer (./model.ts); MoE it cannot reproduce.
 */
function modelProblem(m: TransformerDims | null): string | null {
  if (m === null)
    return 'it trains the models its train specs define, and a general operator graph is none of them';
  if (m.moe !== null) {
    return `its MoE layers (models/moe) route every token to its top ${m.moe.topK} experts with no capacity limit, while the planned model drops tokens beyond capacity factor ${m.moe.capacityFactor}`;
  }
  return null;
}

/** Whether parameters are sharded by FSDP2: data_parallel_shard_degree > 1 (parallel_dims.py `fsdp_enabled`). */
const fsdp = (s: RunShape) => s.zero >= 2 && s.dp > 1;

function dataParallelProblems(s: RunShape): (string | null)[] {
  return [
    // FSDP2 shards gradients with the optimizer state: there is no ZeRO-1 (job_config.py Parallelism).
    s.zero === 1
      ? 'it has no ZeRO-1: FSDP2 shards gradients and optimizer state together (ZeRO-2 or 3)'
      : null,
    // models/llama3/infra/parallelize.py: "DDP has not supported > 1D parallelism".
    s.zero === 0 && s.dp > 1 && (s.tp > 1 || s.pp > 1)
      ? 'it runs pure data parallelism (DDP, ZeRO-0) only without tensor or pipeline parallelism'
      : null,
    // distributed/utils.py maybe_enable_amp: with TP or PP and no FSDP, mixed precision is off.
    !fsdp(s) && !(s.zero === 0 && s.dp > 1) && (s.tp > 1 || s.pp > 1)
      ? 'with tensor or pipeline parallelism it trains in mixed precision only under FSDP (data_parallel_shard_degree > 1); here it would train in float32'
      : null,
    // FSDP2 reshards after every backward, so "never" regathers parameters at each accumulation
    // microbatch; the pipeline keeps them gathered across its microbatches (pipelining/stage.py).
    s.zero === 2 && s.dp > 1 && s.pp === 1 && s.microbatches > 1
      ? `with ${s.microbatches} accumulation microbatches FSDP2 gathers the parameters again at every one (it reshards after each backward); ZeRO-2 gathers them once per step`
      : null,
  ];
}

function tensorParallelProblems(s: RunShape): (string | null)[] {
  const m = s.model;
  return [
    // Its tensor-parallel plans shard norms along the sequence (SequenceParallel) and the loss by vocabulary.
    s.tp > 1 && !s.sequenceParallel
      ? 'its tensor parallelism always splits norms and dropout along the sequence (sequence parallelism)'
      : null,
    // parallelize.py asserts seq_len % parallel_dims.seq_len_divisor (tp · 2 · cp) == 0.
    m !== null && m.seqLen % (2 * s.tp) !== 0
      ? `it needs the sequence (${m.seqLen}) to be a multiple of 2 · tp = ${2 * s.tp}`
      : null,
    m !== null && s.tp > 1 && m.kvHeads % s.tp !== 0
      ? `its column-parallel k and v projections give each of the tp = ${s.tp} ranks whole key/value heads, and there are ${m.kvHeads}`
      : null,
  ];
}

/**
 * Pipeline schedules from torch.distributed.pipelining (schedules.py): Schedule1F1B raises when
 * microbatches < stages; ScheduleInterleaved1F1B needs microbatches to be a multiple of its
 * rounds, max(1, ⌊microbatches / pp⌋), and at least 2 model parts per rank.
 */
function pipelineProblems(s: RunShape): (string | null)[] {
  if (s.pp === 1) return [];
  const rounds = Math.max(1, Math.floor(s.microbatches / s.pp));
  return [
    s.model?.tiedEmbeddings === true
      ? 'its pipeline split copies the model per stage, so a tied embedding and head on different stages become two tables'
      : null,
    s.schedule === '1f1b' && s.microbatches < s.pp
      ? `its 1F1B schedule needs at least as many microbatches (${s.microbatches}) as stages (${s.pp})`
      : null,
    s.schedule === 'interleaved' && s.virtualStages < 2
      ? 'its Interleaved1F1B schedule needs at least 2 model chunks per rank'
      : null,
    s.schedule === 'interleaved' && s.microbatches % rounds !== 0
      ? `its Interleaved1F1B schedule needs the microbatches (${s.microbatches}) to be a multiple of its rounds (${rounds})`
      : null,
    s.blocksPerStage === null ? null : problemOf(partBlocks(s.blocksPerStage, s.virtualStages)),
  ];
}

const problemOf = (parts: number[] | string) => (typeof parts === 'string' ? parts : null);

export const torchtitan: Framework = {
  name: 'torchtitan',
  anyLayout: false,
  release: TORCHTITAN_RELEASE,
  builds: (model) => firstProblem([modelProblem(model)]),
  runs: (s) =>
    firstProblem([
      modelProblem(s.model),
      s.layouts.kind === 'other' ? s.layouts.reason : null,
      // parallel_dims.py _validate: dp_replicate · dp_shard · cp · tp · pp = world size.
      s.dp * s.cp * s.tp * s.pp !== s.devices
        ? `dp ${s.dp} × cp ${s.cp} × tp ${s.tp} × pp ${s.pp} is not the world size ${s.devices}`
        : null,
      s.cp > 1 ? `meshplan does not export torchtitan context parallelism yet (cp = ${s.cp})` : null,
      s.ep > 1 ? `meshplan does not export torchtitan expert parallelism yet (ep = ${s.ep})` : null,
      // job_config.py: mixed_precision_param is "bfloat16" or "float32", and no loss scaler exists.
      s.precision === 'fp16' ? 'it trains in bfloat16 (or float32), not fp16' : null,
      ...dataParallelProblems(s),
      ...tensorParallelProblems(s),
      ...pipelineProblems(s),
    ]),
  /*
   * train.py runs forward and backward per accumulation microbatch without turning gradient sync
   * off, so FSDP2 and DDP reduce at every one (overlapped with its backward). Pipelined, the stage
   * holds FSDP's reduction back until the last microbatch and reduces after it (PyTorch's
   * pipelining/stage.py `_post_backward`, REDUCE_GRAD after a stage's last backward). Async TP
   * needs torch.compile, which the export turns on only when the plan prices the overlap.
   */
  runtime: (s, requested) => ({
    gradientReduction: s.pp > 1 ? 'after-backward' : s.microbatches > 1 ? 'every-microbatch' : 'overlapped',
    tensorParallelOverlap: s.tp > 1 && requested.overlapTensorParallelComm === true,
    // v0.2.2's MoE dispatches and combines on the compute stream: nothing overlaps them.
    expertParallelOverlap: false,
  }),
  // module_fqns_per_model_part places any contiguous cut.
  stageCuts: () => null,
};
