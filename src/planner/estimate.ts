import { logicalMesh } from '../cluster/mesh.ts';
import { type PipelineConfig, pipelineConfig } from '../cost/pipeline-config.ts';
import { stageLinks } from '../cost/stage.ts';
import { buildExports, FRAMEWORKS, notRunnable } from '../frameworks/index.ts';
import { cpCommTypeOf, precisionOptions, resolveDims, type TransformerDims } from '../model/dims.ts';
import { InvalidInputError } from '../schema/errors.ts';
import type { Plan } from '../schema/index.ts';
import { onlyChosen } from './alternatives.ts';
import { assemble } from './assemble.ts';
import { recomputeModules } from './config-space.ts';
import { expertFolding, fixedConfig } from './estimate-config.ts';
import { familyShape, withRuntime } from './goals.ts';
import { LayerSolver, megatronChoice } from './layer-solver.ts';
import { plannedModels } from './model-of.ts';
import { ASSUMPTIONS } from './outcomes.ts';
import { parsePlanRequest, plannedCapacityBytes } from './request.ts';
import type { Candidate } from './search.ts';

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
  const p = request.parallel ?? {};
  const cp = p.cp ?? 1;
  // The graph and the data-parallel groups see the ep carved from dp·cp; folded experts split over tp.
  const { carvedEp: ep, expertsOverTp } = expertFolding(p);
  const build = {
    microBatch: mb,
    ...precisionOptions(request.training),
    contextParallel: { degree: cp, commType: cpCommTypeOf(request) },
    expertParallel: ep,
  } as const;
  // An imported model's first and last layers (embedding, head) ride with the end stages, as a
  // transformer spec's do; its repeated blocks are split evenly.
  const model = plannedModels(request.model, build)[0]!;
  if (model.layers.length < 3) {
    throw new InvalidInputError([
      {
        path: 'model',
        message: `estimate splits a model's blocks between its first and last layers; this one has ${model.layers.length} layers: plan it instead`,
      },
    ]);
  }
  const fixed = fixedConfig(request, cluster, model.layers.length - 2);
  const dims = request.model.kind === 'transformer' ? resolveDims(request.model, build) : null;
  const config = pipelineConfig(request, {
    dp: fixed.dp,
    cp,
    ep,
    microBatch: fixed.microBatch,
    recompute: p.recompute ?? 'none',
    zero: p.zero ?? (fixed.dp > 1 ? 1 : 0),
    zero3Prefetch: p.zero3Prefetch ?? true,
  });
  const solver = new LayerSolver({
    cluster,
    target: request.options.target,
    deadlineMs: started + request.options.timeLimitSec * 1000,
    recomputeModules: recomputeModules(request),
  });
  const sequenceParallel = (p.sequenceParallel ?? false) && fixed.tp > 1;
  const choice = megatronChoice(sequenceParallel, expertsOverTp);
  const outer = stageLinks(cluster, fixed.tp, config).outer;
  const mesh = logicalMesh(cluster, [1, fixed.tp]);
  const series = await solver.series(model.layers, mesh, choice, config.recompute, outer);
  if (series === null) {
    throw new InvalidInputError([{ path: 'parallel.tp', message: tensorParallelRefusal(dims, fixed.tp) }]);
  }
  const replica = {
    dp: fixed.dp,
    cp,
    stageDevices: [fixed.tp],
    deviceUnit: fixed.tp,
    replicaDevices: fixed.tp * fixed.pp,
    tensorParallelGroups: false,
  };
  const target = request.options.target;
  const capacityBytes = plannedCapacityBytes(request, cluster.gpu.memoryBytes);
  /** The pinned configuration as the target runs it, assembled, or why the target cannot run it. */
  const priced = (base: PipelineConfig) => {
    let runtimeConfig = base;
    if (target !== 'any') {
      // Priced as the framework runs it; a configuration it cannot run is bad input for this target.
      const framework = FRAMEWORKS[target];
      const shape = familyShape(
        { request, dims, devices: cluster.devices },
        { tp: fixed.tp, sequenceParallel, expertsOverTp },
        replica,
        base,
        fixed.stageBlocks,
      );
      const verdict = framework.runs(shape);
      if (!verdict.ok)
        return { reason: `${framework.release} cannot run this configuration: ${verdict.reason}` };
      runtimeConfig = withRuntime(framework, shape, base, request);
    }
    // The embedding rides with the first stage and the head with the last (layers 0 and blocks + 1).
    const L = model.layers.length;
    let next = 0;
    const stages = fixed.stageBlocks.map((blocks, i) => {
      const first = next;
      const last = i === fixed.stageBlocks.length - 1 ? L - 1 : first + blocks - (i === 0 ? 0 : 1);
      next = last + 1;
      return { first, last, series, stageDevices: fixed.tp, choice } as const;
    });
    const candidate: Candidate = { model, replica, config: runtimeConfig, stages, stepSec: 0, goal: target };
    return { assembled: assemble(request, cluster, candidate, capacityBytes, null) };
  };
  const first = priced(config);
  if (first.assembled === undefined) {
    throw new InvalidInputError([{ path: 'options.target', message: first.reason }]);
  }
  let assembled = first.assembled;
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  let leanNote = '';
  // ZeRO-3 that does not fit prefetching a layer ahead may fit holding one layer (its gathers
  // waited for), where the request leaves prefetching open and the target can run it so.
  if (
    assembled.summary.peakMemoryBytes > capacityBytes &&
    config.zero === 3 &&
    p.zero3Prefetch === undefined
  ) {
    const lean = priced({ ...config, zero3Prefetch: false });
    if (lean.assembled !== undefined && lean.assembled.summary.peakMemoryBytes <= capacityBytes) {
      assembled = lean.assembled;
    } else if (lean.assembled !== undefined) {
      leanNote = ` (${gib(lean.assembled.summary.peakMemoryBytes)} without ZeRO-3 prefetching)`;
    }
  }
  const peak = assembled.summary.peakMemoryBytes;
  const fits = peak <= capacityBytes;
  const status = fits ? 'optimal' : 'infeasible';
  const reason = `this configuration needs ${gib(peak)} per device${leanNote}; ${(capacityBytes / 2 ** 30).toFixed(1)} GiB are usable`;
  const exports = buildExports(request, assembled.summary, assembled.stages, model.layers);
  return {
    status,
    ...(fits ? {} : { reason, shortfallBytes: peak - capacityBytes }),
    summary: assembled.summary,
    breakdown: assembled.breakdown,
    stages: assembled.stages,
    schedule: assembled.schedule,
    exports: fits ? exports : notRunnable(exports, `it does not fit in memory (${reason})`),
    alternatives: onlyChosen(assembled.summary),
    target,
    solver: {
      status,
      ilpSolves: 0,
      dpStates: 0,
      configurationsTried: 1,
      wallSec: (Date.now() - started) / 1000,
    },
    assumptions: [...ASSUMPTIONS],
  };
}

/** Why Megatron-LM's tensor-parallel layout has no place for tp ranks on this model. */
function tensorParallelRefusal(dims: TransformerDims | null, tp: number): string {
  // Past the key/value heads, a rank takes its share of one group's query heads (megatronStrategy).
  if (dims !== null && dims.mla === null && dims.kvHeads < tp && dims.groupSize % tp !== 0)
    return `tp = ${tp} exceeds the model's ${dims.kvHeads} key/value heads, and meshplan splits each group's ${dims.groupSize} query heads over the tp ranks, which ${tp} does not divide`;
  return `tp = ${tp} does not divide the model's heads, FFN, experts or vocabulary dims`;
}
