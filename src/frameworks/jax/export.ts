/**
 * A plan as JAX runs it: one mesh per stage (same axis names), a PartitionSpec per parameter, ZeRO's
 * state layouts, and jax_sharding.py, which builds the meshes and the NamedShardings from them.
 */
import type { Exports, PartitionEntry } from '../../schema/index.ts';
import type { ExportContext } from '../context.ts';
import { stageChunks } from './chunks.ts';
import { dataAxis, jaxMesh, meshNotes } from './mesh.ts';
import { jaxPython } from './python.ts';
import { JAX_RELEASE } from './rules.ts';
import { type ParameterSpec, parameterSpecs, specProblem, stateSpec } from './specs.ts';

type JaxExport = Exports['jax'];
type SpecsByName = Map<string, readonly PartitionEntry[]>;

const SHOWN = 4;

/** At most SHOWN items, and how many more. */
function someOf(items: readonly string[]): string {
  const more = items.length > SHOWN ? `, and ${items.length - SHOWN} more` : '';
  return `${items.slice(0, SHOWN).join('; ')}${more}`;
}

/** ZeRO's layouts of every parameter's state over the data-parallel `axis`, and those no dim of which divides. */
function zeroState(
  params: ReadonlyMap<string, ParameterSpec>,
  axis: string,
  sizeOn: (stage: number) => (axis: string) => number,
) {
  const specs = new Map<string, ParameterSpec>();
  const unsharded: string[] = [];
  for (const [name, p] of params) {
    const out = stateSpec(p, axis, sizeOn(p.stage));
    specs.set(name, { ...p, spec: out.spec });
    if (!out.sharded) unsharded.push(name);
  }
  return { specs, unsharded };
}

export function jaxExport(ctx: ExportContext): JaxExport {
  const { summary, request } = ctx;
  const mesh = jaxMesh(ctx);
  const shapes = ctx.stages.map((s) => mesh.shapeOf(s.logicalMesh));
  const chunks = stageChunks(ctx);
  const { params, conflicts } = parameterSpecs(ctx, mesh, chunks);
  const sizeOn = (stage: number) => (axis: string) => shapes[stage]![mesh.axes.indexOf(axis)]!;

  const problems = [...params].flatMap(([name, p]) => {
    const why = specProblem(p.spec, p.shape, mesh.axes, shapes[p.stage]!);
    return why === null ? [] : [`${name}: ${why}`];
  });
  const data = dataAxis(mesh);
  const zero = summary.zero >= 1 && data !== null ? zeroState(params, data, sizeOn) : null;
  const state = zero?.specs ?? null;
  const byStage = (specs: ReadonlyMap<string, ParameterSpec>): SpecsByName[] =>
    ctx.stages.map(
      (_, s) => new Map([...specs].filter(([, p]) => p.stage === s).map(([n, p]) => [n, p.spec])),
    );
  const record = (specs: ReadonlyMap<string, ParameterSpec>) =>
    Object.fromEntries([...specs].map(([n, p]) => [n, [...p.spec]]));

  const notes = meshNotes(ctx, mesh);
  notes.push(
    'A spec entry is null (replicated), an axis name, or a list of names for a dim split over several axes: ["data", "model"] is P(("data", "model")).',
    "These are the parameters' layouts as the ops read them; activations' layouts are in stages[].layerPlans[].ops (with_sharding_constraint).",
  );
  if (summary.pp > 1) {
    notes.push(
      `Pipeline stages are not a PartitionSpec: JAX has no pipeline of its own, so your runner runs each stage's layers on its mesh (stages, and jax_sharding.py), ${summary.schedule} schedule with ${summary.microbatches} microbatches.`,
    );
  }
  if (state !== null) {
    notes.push(
      `ZeRO-${summary.zero}: stateSpecs shard each parameter's optimizer state${summary.zero >= 2 ? ', gradient accumulator' : ''}${summary.zero === 3 ? ' and stored weights' : ''} over "${data}" as well.`,
    );
  }
  if (zero !== null && zero.unsharded.length > 0) {
    notes.push(`No dim of these divides over "${data}": ${someOf(zero.unsharded)}.`);
  }
  if (conflicts.length > 0) {
    notes.push(
      `Ops read these parameters with different layouts; the spec is the first op's: ${someOf(conflicts)}.`,
    );
  }
  const stages = ctx.stages.map((s, i) => ({
    stage: i,
    layers: s.layers,
    layerNames: s.layerNames,
    meshShape: shapes[i]!,
    chunks: chunks[i]!,
  }));
  const nameOf = (layer: number) => ctx.model.layers[layer]!.name;
  const expressible = problems.length === 0;
  const files = expressible
    ? [
        {
          path: 'jax_sharding.py',
          description: 'the meshes and a NamedSharding per parameter (jax.sharding), and the stage map',
          content: jaxPython({
            modelName:
              request.model.kind === 'transformer'
                ? (ctx.dims?.name ?? 'model')
                : request.model.kind === 'graph'
                  ? (request.model.graph.name ?? 'graph')
                  : (request.model.path ?? 'onnx model'),
            mesh,
            devices: ctx.devices,
            stages: ctx.stages.map((s, i) => ({
              chunks: chunks[i]!,
              chunkNames: chunks[i]!.map(([a, b]): [string, string] => [nameOf(a), nameOf(b)]),
              stageMesh: s.logicalMesh,
              meshShape: shapes[i]!,
            })),
            specs: byStage(params),
            stateSpecs: state === null ? null : byStage(state),
            schedule: summary.schedule,
            microbatches: summary.microbatches,
            microbatchSequences: summary.microBatch * mesh.replicas,
            recompute: summary.recompute,
          }),
        },
      ]
    : [];
  return {
    expressible,
    release: JAX_RELEASE,
    files,
    meshAxes: [...mesh.axes],
    meshShape: shapes[0]!,
    partitionSpecs: record(params),
    stateSpecs: state === null ? null : record(state),
    stages,
    notes: [...problems.map((p) => `Not expressible in JAX: ${p}.`), ...notes],
  };
}
