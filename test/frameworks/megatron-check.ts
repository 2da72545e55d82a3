/**
 * What every Megatron-LM export test checks: a plan's launch script run (bash, a stand-in torchrun)
 * and the command line it starts read against the independent oracles (the release's flag table,
 * the rules its source enforces, the model the arguments build), and the pattern of a hybrid model
 * against the plan's stages.
 */
import { expect } from 'vitest';
import { attentionWindow, resolveDims } from '../../src/model/dims.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { type Plan, PlanRequest, type PlanRequestInput } from '../../src/schema/index.ts';
import { runLaunchScript } from './launch-runner.ts';
import { gradientBytes, modelOf, type Namespace, parseArgs } from './megatron-oracle.ts';
import { ruleProblems } from './megatron-rules-oracle.ts';

const cluster = { gpu: 'H100-80GB', nodes: 2, gpusPerNode: 8 };

export function requestOf(
  model: PlanRequestInput['model'],
  parallel: object,
  precision = 'bf16',
  on: object = cluster,
  globalBatch = 64,
): PlanRequest {
  return PlanRequest.parse({
    model,
    cluster: on,
    training: { globalBatch, precision },
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
    activationFusion: (d.activation !== 'swiglu' && d.activation !== 'quick-geglu') || d.activationFusion,
    activationClamp: d.activationClamp,
    gluLinearOffset: d.gluLinearOffset,
    attentionSinks: d.attentionSinks,
    qkNorm: d.qkNorm,
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
            // A hybrid model routes in its E layers; a GPT model in every block past the dense ones.
            moeLayers: Array.from({ length: d.layers }, (_, i) =>
              d.hybridPattern === null
                ? i < d.moe!.denseLayers
                  ? 0
                  : 1
                : d.hybridPattern[i] === 'E'
                  ? 1
                  : 0,
            ),
            dropless: d.moe.dropless,
          },
    capacityFactor: d.moe === null || d.moe.dropless ? Number.NaN : d.moe.capacityFactor,
    mla: d.mla,
    mtpLayers: d.mtpLayers,
    mtpRepeatedLayer: d.mtpRepeatedLayer,
    windows: Array.from({ length: d.layers }, (_, i) => attentionWindow(d, i)),
    hybridPattern: d.hybridPattern,
    mamba: d.hybridPattern?.includes('M') ? d.mamba : null,
  };
}

export interface Checked {
  readonly ns: Namespace;
  readonly dp: number;
  readonly connections: string | null;
}

/** Runs the export's launch script on node 0 and checks what it starts against every oracle. */
export function checkExport(p: Plan, request: PlanRequest): Checked {
  const m = p.exports!.megatron;
  expect(m.notes.filter((n) => n.startsWith('Not'))).toEqual([]);
  expect(m.expressible).toBe(true);
  expect(m.release).toBe('Megatron-LM core_v0.19.0');
  const nodes = String(Math.max(1, p.summary!.gpus / cluster.gpusPerNode));
  const run = runLaunchScript(m.files[0]!.content, { NNODES: nodes, NODE_RANK: '0', MASTER_ADDR: 'node0' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const hybrid = request.model.kind === 'transformer' && request.model.hybridPattern !== undefined;
  expect(run.script).toBe(hybrid ? './pretrain_hybrid.py' : './pretrain_gpt.py');
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
  // The exchange the request names, else (README) a2a for a model with a window shorter than its sequence.
  const windowed =
    request.model.kind === 'transformer' &&
    (request.model.slidingWindow?.size ?? Number.POSITIVE_INFINITY) < request.model.seqLen;
  expect(ns.values.get('cp_comm_type') ?? ['p2p']).toEqual([
    s.cp > 1 ? (request.parallel?.cpCommType ?? (windowed ? 'a2a' : 'p2p')) : 'p2p',
  ]);
  expect(Number(ns.values.get('global_batch_size')) / (micro * s.dp)).toBe(s.microbatches);
  expect(ns.values.get('sequence_parallel') === true).toBe(s.sequenceParallel && s.tp > 1);
  expect(ns.values.get('recompute_granularity') ?? 'none').toBe(s.recompute);
  if (s.recompute === 'selective')
    expect(ns.values.get('recompute_modules')).toEqual(request.parallel?.recomputeModules ?? ['core_attn']);
  if (hybrid) checkHybridStages(ns, p);
  return { ns, dp: world / (tp * pp * cp), connections: run.connections };
}

/**
 * The pattern's `|` segments against the plan's stages: in layer order they are the model's layers;
 * there are pp × virtualStages of them (one, with no `|`, on a single stage); rank i holds segments
 * i, i + pp, … (select_pipeline_segment), which must be the layers its planned stage was priced with,
 * in that order on a stage of one chunk. A stage's planned layers are read from its layer range, the
 * embedding being layer 0 and the head the last. Multi-token prediction depths, after `/`, are alike.
 */
function checkHybridStages(ns: Namespace, p: Plan): void {
  // Multi-token prediction depths follow the main layers after `/`, alike (parse_hybrid_pattern).
  const [main, ...mtp] = String(ns.values.get('hybrid_layer_pattern')).split('/');
  for (const depth of mtp) expect(depth).toBe(mtp[0]);
  expect(mtp.join('')).not.toContain('|');
  const segments = main!.split('|');
  const layers = segments.join('');
  const { pp, virtualStages } = p.summary!;
  expect(segments).toHaveLength(pp === 1 ? 1 : pp * virtualStages);
  for (const [rank, stage] of p.stages.entries()) {
    const [first, last] = stage.layers;
    const planned = layers.slice(Math.max(first, 1) - 1, Math.min(last, layers.length));
    const held = segments.filter((_, k) => k % pp === rank).join('');
    if (virtualStages === 1) expect(held).toBe(planned);
    else expect([...held].sort()).toEqual([...planned].sort());
  }
}

export async function estimated(request: PlanRequest): Promise<Plan> {
  const p = await estimate(request);
  expect(p.summary).not.toBeNull();
  return p;
}
