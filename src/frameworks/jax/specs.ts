/**
 * PartitionSpecs of a plan's parameters. A `jax.sharding.PartitionSpec` entry is None, one mesh
 * axis name, or a tuple of names (a dim split over several axes, major first); a name appears at
 * most once per spec, names an axis of the mesh, and the axes it names must divide the dim.
 */
import { type DimSpec, InvalidInputError, type PartitionEntry } from '../../schema/index.ts';
import type { ExportContext } from '../context.ts';
import { type ResolvedOp, tensorNameIn } from '../planned-layers.ts';
import type { LayerSpan } from './chunks.ts';
import type { JaxMesh } from './mesh.ts';

export interface ParameterSpec {
  readonly stage: number;
  readonly shape: readonly number[];
  readonly spec: readonly PartitionEntry[];
}

export interface ParameterSpecs {
  /** By parameter name, in the order the plan's stages and ops first read them. */
  readonly params: ReadonlyMap<string, ParameterSpec>;
  /** Parameters the ops read in different layouts (the spec kept is the first op's). */
  readonly conflicts: readonly string[];
}

function partitionSpec(spec: readonly DimSpec[], names: readonly [string, string]): PartitionEntry[] {
  return spec.map((d) => (d === 'R' ? null : d === 'S0' ? names[0] : d === 'S1' ? names[1] : [...names]));
}

/**
 * One spec per parameter of every layer, named as the model names it (`block17.wq`), from the
 * layouts the plan gives the stage whose devices run the layer (`chunks`, per stage).
 */
export function parameterSpecs(
  ctx: ExportContext,
  mesh: JaxMesh,
  chunks: readonly (readonly LayerSpan[])[],
): ParameterSpecs {
  const { layers } = ctx.model;
  const params = new Map<string, ParameterSpec>();
  const conflicts = new Set<string>();
  const record = (r: ResolvedOp, layerIndex: number, stage: number) => {
    const layer = layers[layerIndex]!;
    // The op at the same position in this layer's graph: identical layers have identical graphs.
    const op = layer.graph.ops[r.op.index]!;
    r.out.inputSpecs.forEach((input, k) => {
      const position = r.op.inputs.indexOf(input.tensor);
      if (position < 0) {
        throw new InvalidInputError(
          [
            {
              path: `${r.path}.inputSpecs[${k}].tensor`,
              message: `"${input.tensor}" is not an input of op "${r.out.op}"`,
            },
          ],
          'plan',
        );
      }
      const tensor = layer.graph.tensors.get(op.inputs[position]!)!;
      if (!tensor.param) return;
      const name = tensorNameIn(layer, tensor.name);
      const spec = partitionSpec(input.spec, mesh.stageAxes);
      const known = params.get(name);
      if (known === undefined) params.set(name, { stage, shape: tensor.shape, spec });
      else if (JSON.stringify(known.spec) !== JSON.stringify(spec)) conflicts.add(name);
    });
  };
  chunks.forEach((spans, s) => {
    const planned = ctx.model.ops.filter((r) => r.stage === s);
    for (const [first, last] of spans) {
      for (let l = first; l <= last; l++) {
        const own = planned.filter((r) => r.layer.signature === layers[l]!.signature);
        if (own.length === 0) {
          throw new InvalidInputError(
            [
              {
                path: `stages[${s}].layerPlans`,
                message: `no layout for layer "${layers[l]!.name}" it runs`,
              },
            ],
            'plan',
          );
        }
        for (const r of own) record(r, l, s);
      }
    }
  });
  return { params, conflicts: [...conflicts] };
}

const axesOf = (entry: PartitionEntry): readonly string[] =>
  entry === null ? [] : typeof entry === 'string' ? [entry] : entry;

/** Why `spec` is not a valid PartitionSpec of a `shape` tensor on a mesh of `sizes` along `axes`; null if it is. */
export function specProblem(
  spec: readonly PartitionEntry[],
  shape: readonly number[],
  axes: readonly string[],
  sizes: readonly number[],
): string | null {
  if (spec.length !== shape.length) return `${spec.length} entries for a ${shape.length}-dim tensor`;
  const seen = new Set<string>();
  for (const [d, entry] of spec.entries()) {
    const names = axesOf(entry);
    if (Array.isArray(entry) && entry.length < 2) return `dim ${d}: a tuple needs two axes or more`;
    let ways = 1;
    for (const name of names) {
      const a = axes.indexOf(name);
      if (a < 0) return `dim ${d}: "${name}" is not a mesh axis (${axes.join(', ')})`;
      if (seen.has(name)) return `axis "${name}" splits two dims`;
      seen.add(name);
      ways *= sizes[a]!;
    }
    if (shape[d]! % ways !== 0) return `dim ${d} of size ${shape[d]} does not split ${ways} ways`;
  }
  return null;
}

/**
 * ZeRO's layout of a parameter's state: its spec with the data-parallel `axis` added to the first
 * dim that still divides; the spec unchanged where none does (the state stays replicated).
 */
export function stateSpec(p: ParameterSpec, axis: string, sizeOf: (a: string) => number) {
  const size = sizeOf(axis);
  const spec = [...p.spec];
  const ways = (entry: PartitionEntry) => axesOf(entry).reduce((w, a) => w * sizeOf(a), 1);
  const free = spec.findIndex((e, d) => e === null && p.shape[d]! % size === 0);
  if (free >= 0) {
    spec[free] = axis;
    return { spec, sharded: true };
  }
  const split = spec.findIndex((e, d) => e !== null && (p.shape[d]! / ways(e)) % size === 0);
  if (split < 0) return { spec, sharded: false };
  spec[split] = [...axesOf(spec[split]!), axis];
  return { spec, sharded: true };
}
