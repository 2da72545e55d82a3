import { parseOrThrow } from '../schema/errors.ts';
import { OpGraphSpec } from '../schema/graph.ts';
import { buildGraph, type OpGraph } from './graph.ts';

export type { GraphOp, GraphTensor, OpGraph } from './graph.ts';

/** Validates untrusted JSON as an operator graph (schema, then names, shapes and acyclicity). */
export function parseGraph(value: unknown): OpGraph {
  return buildGraph(parseOrThrow(OpGraphSpec, value, 'graph'));
}
