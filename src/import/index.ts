import { buildGraph } from '../graph/graph.ts';
import { InvalidInputError } from '../schema/errors.ts';
import type { OpGraphSpec } from '../schema/graph.ts';
import type { Precision } from '../schema/vocabulary.ts';
import { emitGraph } from './emit.ts';
import { fuse } from './fuse.ts';
import { type OnnxModel, readOnnx } from './onnx-file.ts';

export { type OnnxModel, readOnnx } from './onnx-file.ts';

import { type Binding, walk } from './walk.ts';

export interface OnnxImportOptions extends Binding {
  /** The symbolic dim of token positions, when the model has one (the `s` of its einsums). */
  readonly sequenceDim?: string;
  /** Element type of float tensors: the training precision. */
  readonly precision: Precision;
}

export interface ImportedGraph {
  readonly graph: OpGraphSpec;
  /** The symbolic dim bound to the microbatch (the default, when the request named none). */
  readonly batchDim: string;
}

/**
 * An ONNX model (as torch.onnx.export writes it, with or without weights) as an operator graph with
 * its symbolic dims bound: `batchDim` to `batch` samples, the others from `dims`.
 */
export function importOnnx(bytes: Uint8Array, options: OnnxImportOptions): ImportedGraph {
  return importModel(readOnnx(bytes), options);
}

/** `importOnnx` of a file already read: a search binding several microbatch sizes decodes it once. */
export function importModel(model: OnnxModel, options: OnnxImportOptions): ImportedGraph {
  const walked = walk(model, options);
  fuse(walked.lowering);
  const graph = emitGraph(walked.lowering, {
    name: model.name,
    precision: options.precision,
    batchDim: walked.batchDim,
    symbols: walked.symbols,
    ...(options.sequenceDim !== undefined ? { sequenceDim: options.sequenceDim } : {}),
  });
  if (graph.ops.length === 0)
    throw new InvalidInputError(
      [{ path: 'model', message: 'the model computes nothing from its inputs' }],
      'ONNX model',
    );
  try {
    buildGraph(graph);
  } catch (error) {
    // The importer wrote a graph meshplan rejects: a bug, not the user's file.
    throw new Error(`the imported graph does not validate: ${(error as Error).message}`);
  }
  return { graph, batchDim: walked.batchDim };
}
