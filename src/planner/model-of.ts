import { importModel, type OnnxModel, readOnnx } from '../import/index.ts';
import type { BuildOptions } from '../model/dims.ts';
import { GRAPH_GRANULARITIES, graphModels } from '../model/graph-layers.ts';
import { type PlannedModel, planModel } from '../model/planned.ts';
import { InvalidInputError } from '../schema/errors.ts';
import {
  type ModelSpec,
  type OnnxModelSpec,
  type OpGraphSpec,
  type Precision,
  quantizedGemmDtype,
} from '../schema/index.ts';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The file of an ONNX model spec. A `path` is the CLI's to read: the planner sees bytes only. */
function onnxBytes(spec: OnnxModelSpec): Uint8Array {
  if (spec.base64 === undefined) {
    throw new InvalidInputError([
      {
        path: 'model.path',
        message: 'only the CLI reads files: send the model as "base64" (the .onnx bytes, base64-encoded)',
      },
    ]);
  }
  const text = spec.base64.replace(/\s+/g, '');
  if (text.length % 4 !== 0 || !BASE64.test(text))
    throw new InvalidInputError([{ path: 'model.base64', message: 'is not base64' }]);
  return Buffer.from(text, 'base64');
}

/** Decoded files by the spec holding them: the search binds one model to several microbatch sizes. */
const decoded = new WeakMap<OnnxModelSpec, OnnxModel>();

/** The ONNX model as an operator graph for a microbatch; its issues located under `model`. */
export function onnxGraph(spec: OnnxModelSpec, microBatch: number, precision: Precision): OpGraphSpec {
  let model = decoded.get(spec);
  if (model === undefined) {
    model = readOnnx(onnxBytes(spec));
    decoded.set(spec, model);
  }
  return importModel(model, {
    batch: microBatch,
    precision,
    ...(spec.batchDim !== undefined ? { batchDim: spec.batchDim } : {}),
    ...(spec.dims !== undefined ? { dims: spec.dims } : {}),
    ...(spec.sequenceDim !== undefined ? { sequenceDim: spec.sequenceDim } : {}),
  }).graph;
}

/** How many layerings the search tries per microbatch: one for a transformer, several for a graph. */
export function layeringCount(spec: ModelSpec): number {
  return spec.kind === 'transformer' ? 1 : GRAPH_GRANULARITIES.length;
}

/**
 * The model as the search plans it for one microbatch size, in each distinct layering (an ONNX
 * model imported with its batch dim bound to the microbatch first); `undefined` marks a layering
 * that cuts the graph as an earlier one did.
 */
export function plannedModels(spec: ModelSpec, build: BuildOptions): readonly (PlannedModel | undefined)[] {
  if (spec.kind === 'transformer') return [planModel(spec, build)];
  if (spec.kind === 'graph') return graphModels(spec.graph, 0);
  const seq = spec.sequenceDim !== undefined ? spec.dims?.[spec.sequenceDim] : undefined;
  // An imported graph stores what the model stores: bf16 tensors under quantized (FP8, NVFP4) training.
  const precision = quantizedGemmDtype(build.precision) === null ? build.precision : 'bf16';
  return graphModels(onnxGraph(spec, build.microBatch, precision), build.microBatch * (seq ?? 0));
}
