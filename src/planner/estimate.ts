import type { Cluster } from '../cluster/cluster.ts';
import { logicalMesh } from '../cluster/mesh.ts';
import { pipelineConfig } from '../cost/pipeline-config.ts';
import { buildExports } from '../frameworks/index.ts';
import { planModel } from '../model/planned.ts';
import { type InputIssue, InvalidInputError } from '../schema/errors.ts';
import type { Plan, PlanRequest } from '../schema/index.ts';
import { assemble } from './assemble.ts';
import { LayerSolver } from './layer-solver.ts';
import { plannedModels } from './model-of.ts';
import { ASSUMPTIONS } from './outcomes.ts';
import { parsePlanRequest } from './request.ts';
import type { Candidate } from './search.ts';

interface FixedConfig {
  readonly tp: number;
  readonly pp: number;
  readonly dp: number;
  readonly microBatch: number;
}

function fixedConfig(request: PlanRequest, cluster: Cluster, blocks: number): FixedConfig {
  const p = request.parallel;
  const issues: InputIssue[] = [];
  for (const field of ['tp', 'pp', 'dp'] as const) {
    if (p?.[field] === undefined)
      issues.push({ path: `parallel.${field}`, message: 'estimate needs every degree' });
  }
  const microBatch = p?.microBatch ?? request.training.microBatch;
  if (microBatch === undefined)
    issues.push({ path: 'parallel.microBatch', message: 'estimate needs the microbatch size' });
  if (issues.length > 0) throw new InvalidInputError(issues, 'request');
  const { tp, pp, dp } = p as Required<Pick<NonNullable<typeof p>, 'tp' | 'pp' | 'dp'>>;
  if (tp * pp * dp !== cluster.devices) {
    issues.push({
      path: 'parallel',
      message: `tp·pp·dp = ${tp * pp * dp} but the cluster has ${cluster.devices} GPUs`,
    });
  }
  if (request.training.globalBatch % (dp * microBatch!) !== 0) {
    issues.push({
      path: 'training.globalBatch',
      message: `${request.training.globalBatch} is not a multiple of dp·microBatch = ${dp * microBatch!}`,
    });
  }
  const v = p?.virtualStages ?? 1;
  const microbatches = request.training.globalBatch / (dp * microBatch!);
  if (v > 1 && Number.isInteger(microbatches) && microbatches % pp !== 0) {
    issues.push({
      path: 'parallel.virtualStages',
      message: `an interleaved schedule needs the ${microbatches} microbatches per step to be a multiple of pp = ${pp}`,
    });
  }
  if (blocks % (pp * v) !== 0) {
    issues.push({
      path: 'parallel.pp',
      message: `${blocks} layers do not split evenly into pp·virtualStages = ${pp * v} chunks`,
    });
  }
  if (issues.length > 0) throw new InvalidInputError(issues, 'request');
  return { tp, pp, dp, microBatch: microBatch! };
}

/**
 * Prices a configuration the user fixes, with the layouts the framework really uses (Megatron-LM:
 * column- then row-parallel, sequence parallel when asked) and even stages, so hand-tuned setups
 * and published runs can be checked against the same cost model the planner searches with.
 */
export async function estimate(value: unknown): Promise<Plan> {
  const started = Date.now();
  const { request, cluster } = parsePlanRequest(value);
  if (request.model.kind === 'graph') {
    throw new InvalidInputError([
      {
        path: 'model.kind',
        message: 'estimate prices transformers (as specs or ONNX); plan a graph instead',
      },
    ]);
  }
  const mb = request.parallel?.microBatch ?? request.training.microBatch ?? 1;
  // An imported model's first and last layers (embedding, head) ride with the end stages, as a
  // transformer spec's do; its repeated blocks are split evenly.
  const model =
    request.model.kind === 'onnx'
      ? plannedModels(request.model, mb, request.training.precision)[0]!
      : planModel(request.model, mb, request.training.precision);
  if (model.layers.length < 3) {
    throw new InvalidInputError([
      {
        path: 'model',
        message: `estimate splits a model's blocks between its first and last layers; this one has ${model.layers.length} layers: plan it instead`,
      },
    ]);
  }
  const blocks = model.layers.length - 2;
  const fixed = fixedConfig(request, cluster, blocks);
  const p = request.parallel!;
  const config = pipelineConfig(request, {
    dp: fixed.dp,
    microBatch: fixed.microBatch,
    recompute: p.recompute ?? 'none',
    zero: p.zero ?? (fixed.dp > 1 ? 1 : 0),
  });
  const solver = new LayerSolver({ cluster, deadlineMs: started + request.options.timeLimitSec * 1000 });
  const mesh = logicalMesh(cluster, [1, fixed.tp]);
  const choice = p.sequenceParallel ? 'megatron-sp' : 'megatron';
  const series = await solver.series(model.layers, mesh, choice, config.recompute);
  if (series === null) {
    throw new InvalidInputError([
      {
        path: 'parallel.tp',
        message: `tp = ${fixed.tp} does not divide the model's heads, FFN or vocabulary dims`,
      },
    ]);
  }
  const per = blocks / fixed.pp;
  // Layer 0 is the embedding and layer blocks + 1 the head: they ride with the first and last stage.
  const stages = Array.from({ length: fixed.pp }, (_, i) => ({
    first: i === 0 ? 0 : 1 + i * per,
    last: i === fixed.pp - 1 ? blocks + 1 : (i + 1) * per,
    series,
    stageDevices: fixed.tp,
  }));
  const candidate: Candidate = {
    model,
    replica: {
      dp: fixed.dp,
      stageDevices: [fixed.tp],
      deviceUnit: fixed.tp,
      replicaDevices: fixed.tp * fixed.pp,
    },
    config,
    stages,
    stepSec: 0,
  };
  const capacityBytes = cluster.gpu.memoryBytes * request.options.memoryHeadroom;
  const assembled = assemble(request, cluster, candidate, capacityBytes, false);
  const peak = assembled.summary.peakMemoryBytes;
  const fits = peak <= capacityBytes;
  const solver_ = {
    ilpSolves: 0,
    dpStates: 0,
    configurationsTried: 1,
    wallSec: (Date.now() - started) / 1000,
  };
  return {
    status: fits ? 'optimal' : 'infeasible',
    ...(fits
      ? {}
      : {
          reason: `this configuration needs ${(peak / 2 ** 30).toFixed(2)} GiB per device; ${(capacityBytes / 2 ** 30).toFixed(1)} GiB are usable`,
          shortfallBytes: peak - capacityBytes,
        }),
    summary: assembled.summary,
    breakdown: assembled.breakdown,
    stages: assembled.stages,
    schedule: assembled.schedule,
    exports: buildExports(request, assembled.summary, assembled.stages, model.layers),
    solver: { status: fits ? 'optimal' : 'infeasible', ...solver_ },
    assumptions: [...ASSUMPTIONS],
  };
}
