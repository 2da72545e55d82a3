/**
 * Validation of a plan request, apart from the planner: callers that only check a request (the CLI
 * before it hands the request to a planning thread, the queue at submit) need not load the solvers.
 */
import type { Cluster } from '../cluster/cluster.ts';
import { parseCluster } from '../cluster/index.ts';
import { withAttentionKernels } from '../cost/attention-kernel.ts';
import { precisionFormat } from '../cost/quantized-gemm.ts';
import { buildGraph } from '../graph/graph.ts';
import { InvalidInputError, parseOrThrow } from '../schema/errors.ts';
import { PlanRequest } from '../schema/index.ts';
import { onnxGraph } from './model-of.ts';

export function parsePlanRequest(value: unknown): { request: PlanRequest; cluster: Cluster } {
  const request = withTargetDefaults(parseOrThrow(PlanRequest, value, 'request'));
  return { request, cluster: requestCluster(request) };
}

/**
 * What a request leaves to the framework it targets, filled as that framework runs it: torchtitan's
 * MoE scales its experts' outputs by the router weights and keeps them for backward (v0.2.2 moe.py),
 * where the default is Megatron-Core's weighting inside the experts' activation.
 */
export function withTargetDefaults(request: PlanRequest): PlanRequest {
  const model = request.model;
  if (request.options.target !== 'torchtitan' || model.kind !== 'transformer') return request;
  if (model.moe === undefined || model.moe.routerWeights !== undefined) return request;
  return { ...request, model: { ...model, moe: { ...model.moe, routerWeights: 'combine' } } };
}

/**
 * What the planner plans into on each device: the GPU's memory less the request's headroom
 * (`options.memoryHeadroom`, kept for the allocator and the CUDA context).
 */
export function plannedCapacityBytes(request: PlanRequest, gpuMemoryBytes: number): number {
  return gpuMemoryBytes * request.options.memoryHeadroom;
}

/**
 * The cluster of an already validated request; an unknown GPU is an error at `cluster.gpu`, and so is
 * NVFP4 or MXFP8 training on a GPU without block-scaled tensor cores, at `training.precision`: it
 * would not run.
 */
export function requestCluster(request: PlanRequest): Cluster {
  let cluster: Cluster;
  try {
    cluster = parseCluster(request.cluster);
  } catch (error) {
    throw prefixIssues(error, 'cluster');
  }
  const precision = request.training.precision;
  if (precisionFormat(precision)?.blockScaled === true && cluster.gpu.peakTflops.nvfp4 === undefined)
    throw new InvalidInputError(
      [
        {
          path: 'training.precision',
          message: `"${precision}" runs on the block-scaled (FP4-capable) tensor cores of Blackwell and later, which ${cluster.gpu.name} lacks (no cluster.gpu.peakTflops.nvfp4)`,
        },
      ],
      'request',
    );
  return withAttentionKernels(cluster, request.model);
}

/**
 * A `graph` model that is a graph (names resolve, shapes agree, no cycle), issues at `model.graph…`;
 * an `onnx` model that imports (a readable file, every op mapped, every symbolic dim bound).
 */
export function checkModel(request: PlanRequest): void {
  if (request.model.kind === 'onnx') {
    onnxGraph(request.model, 1, request.training.precision);
    return;
  }
  if (request.model.kind !== 'graph') return;
  try {
    buildGraph(request.model.graph);
  } catch (error) {
    throw prefixIssues(error, 'model.graph');
  }
}

/** What the schema cannot see but every plan needs: a known GPU and a model that builds. */
export function checkPlannable(request: PlanRequest): void {
  requestCluster(request);
  checkModel(request);
}

/**
 * Untrusted JSON as a request: the schema and its cluster. A graph model is left to `checkModel`,
 * which sweeps run once on their base rather than on each of up to 10,000 points.
 */
export function validatePlanRequest(value: unknown): PlanRequest {
  return parsePlanRequest(value).request;
}

function prefixIssues(error: unknown, prefix: string): unknown {
  return error instanceof InvalidInputError ? error.under(prefix) : error;
}
