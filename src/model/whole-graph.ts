import type { OpGraphSpec, TensorSpec } from '../schema/graph.ts';
import type { ModelLayer } from './transformer-layers.ts';

/** Layers `first..last` (inclusive, indices into `layers`), e.g. the layers of one pipeline stage. */
export interface LayerRange {
  readonly first: number;
  readonly last: number;
}

function sameTensor(a: TensorSpec, b: TensorSpec): boolean {
  return a.dtype === b.dtype && a.param === b.param && a.shape.join() === b.shape.join();
}

/**
 * Concatenates consecutive layers into one graph: each layer's residual-stream input is the
 * previous layer's output. Layers built by `buildTransformer` already name it so and only repeat
 * its declaration; a layer whose input has another name is renamed onto the previous output.
 */
function concatLayers(layers: readonly ModelLayer[], name: string): OpGraphSpec {
  const tensors = new Map<string, TensorSpec>();
  const ops: OpGraphSpec['ops'] = [];
  let previous: ModelLayer | null = null;
  for (const layer of layers) {
    const from = previous !== null && layer.input !== null ? layer.input : null;
    const onto = previous?.output;
    const rename = (t: string): string => (t === from && onto !== undefined ? onto : t);
    for (const t of layer.graph.tensors) {
      const renamed = { ...t, name: rename(t.name) };
      const known = tensors.get(renamed.name);
      if (known === undefined) tensors.set(renamed.name, renamed);
      else if (!sameTensor(known, renamed) || renamed.name !== onto) {
        // Builders own their names by prefix; a clash elsewhere is a builder bug, not bad input.
        throw new Error(`layer "${layer.name}" redeclares tensor "${renamed.name}" differently or twice`);
      }
    }
    for (const op of layer.graph.ops) {
      ops.push({ ...op, inputs: op.inputs.map(rename), output: rename(op.output) });
    }
    previous = layer;
  }
  return { name, tensors: [...tensors.values()], ops };
}

/** The model as one graph, or the layers of `range` only (a pipeline stage's graph). */
export function wholeGraph(
  model: { readonly name: string; readonly layers: readonly ModelLayer[] },
  range: LayerRange = { first: 0, last: model.layers.length - 1 },
): OpGraphSpec {
  const { first, last } = range;
  if (
    !Number.isInteger(first) ||
    !Number.isInteger(last) ||
    first < 0 ||
    last < first ||
    last >= model.layers.length
  ) {
    throw new RangeError(`layer range ${first}..${last} is not within 0..${model.layers.length - 1}`);
  }
  const name =
    first === 0 && last === model.layers.length - 1 ? model.name : `${model.name}[${first}..${last}]`;
  return concatLayers(model.layers.slice(first, last + 1), name);
}
