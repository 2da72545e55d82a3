import type { Exports } from '../../schema/index.ts';
import { type DimSpec, InvalidInputError, type PartitionEntry } from '../../schema/index.ts';
import type { ExportContext } from '../context.ts';
import type { AxisRole } from '../layout-check.ts';
import { type ResolvedOp, tensorNameIn } from '../planned-layers.ts';
import { JAX_RELEASE } from './rules.ts';

type JaxExport = Exports['jax'];

const AXIS_NAMES: Readonly<Record<AxisRole, string>> = { data: 'data', model: 'model', mixed: 'mixed' };

const AXIS_MEANING: Readonly<Record<AxisRole, string>> = {
  data: 'splits only the batch',
  model: 'splits model dims (tensor parallelism)',
  mixed: 'splits the batch for some ops and model dims for others',
};

/** Names of the stage mesh's two axes, by what they do; two axes doing the same get their index. */
function stageAxisNames(roles: readonly [AxisRole, AxisRole]): [string, string] {
  const [a, b] = [AXIS_NAMES[roles[0]], AXIS_NAMES[roles[1]]];
  return a === b ? [`${a}0`, `${b}1`] : [a, b];
}

interface JaxMesh {
  readonly axes: string[];
  /** Device counts along `axes` for a stage with this logical mesh. */
  readonly shapeOf: (logicalMesh: readonly [number, number]) => number[];
  /** Where the pipeline replicas (data parallelism across whole stages) went. */
  readonly replicaNote: string | null;
}

/**
 * The JAX mesh of one stage. Pipeline replicas split the batch, so they join a stage axis that
 * splits only the batch (no parameter is split along it, so parameter specs keep their meaning);
 * without one they get a leading "data" axis of their own.
 */
function jaxMesh(ctx: ExportContext, names: readonly [string, string]): JaxMesh {
  const { summary, layout } = ctx;
  const [a0, a1] = layout.logicalMesh;
  const replicas = (summary.dp * summary.tp) / (a0 * a1);
  if (replicas === 1) return { axes: [...names], shapeOf: (m) => [m[0], m[1]], replicaNote: null };
  const j = layout.roles.indexOf('data');
  if (j === 0 || j === 1) {
    return {
      axes: [...names],
      shapeOf: (m) => (j === 0 ? [replicas * m[0], m[1]] : [m[0], replicas * m[1]]),
      replicaNote: `"${names[j]}" also spans the ${replicas} pipeline replicas (its size is ${replicas} × the stage mesh's axis ${j}).`,
    };
  }
  return {
    axes: ['data', ...names],
    shapeOf: (m) => [replicas, m[0], m[1]],
    replicaNote: `"data" spans the ${replicas} pipeline replicas; the stage mesh splits no batch dim of its own.`,
  };
}

function partitionSpec(spec: readonly DimSpec[], names: readonly [string, string]): PartitionEntry[] {
  return spec.map((d) => (d === 'R' ? null : d === 'S0' ? names[0] : d === 'S1' ? names[1] : [...names]));
}

/** One entry per parameter of every layer, named as the model names it (`block17.wq`). */
function parameterSpecs(ctx: ExportContext, names: readonly [string, string]) {
  const { layers } = ctx.model;
  const specs: Record<string, PartitionEntry[]> = {};
  const conflicts = new Set<string>();
  const record = (r: ResolvedOp, layerIndex: number) => {
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
      const tensor = op.inputs[position]!;
      if (!layer.graph.tensors.get(tensor)!.param) return;
      const name = tensorNameIn(layer, tensor);
      const value = partitionSpec(input.spec, names);
      const known = specs[name];
      if (known === undefined) specs[name] = value;
      else if (JSON.stringify(known) !== JSON.stringify(value)) conflicts.add(name);
    });
  };
  ctx.stages.forEach((stage, s) => {
    const planned = ctx.model.ops.filter((r) => r.stage === s);
    for (let l = stage.layers[0]; l <= stage.layers[1]; l++) {
      for (const r of planned) if (r.layer.signature === layers[l]!.signature) record(r, l);
    }
  });
  return { specs, conflicts: [...conflicts] };
}

/** JAX mesh axes and a PartitionSpec per parameter; pipeline stages as a stage → layers map. */
export function jaxExport(ctx: ExportContext): JaxExport {
  const { layout, summary } = ctx;
  const names = stageAxisNames(layout.roles);
  const mesh = jaxMesh(ctx, names);
  const { specs, conflicts } = parameterSpecs(ctx, names);
  const notes = names.map(
    (name, j) =>
      `Mesh axis "${name}" (stage axis ${j}, ${layout.logicalMesh[j]} device${layout.logicalMesh[j] === 1 ? '' : 's'}) ${AXIS_MEANING[layout.roles[j]!]}.`,
  );
  if (mesh.replicaNote !== null) notes.push(mesh.replicaNote);
  notes.push(
    'A spec entry is null (replicated), an axis name, or a list of names for a dim split over several axes: ["data", "model"] is P(("data", "model")).',
    "These are the parameters' layouts as the ops read them; activations' layouts are in stages[].layerPlans[].ops (with_sharding_constraint).",
  );
  if (summary.pp > 1) {
    notes.push(
      `Pipeline stages are not a PartitionSpec: the ${summary.pp} stages (see stages) each run their layer range on a mesh of their own, ${summary.schedule} schedule with ${summary.microbatches} microbatches.`,
    );
  }
  if (!layout.uniformMeshes) {
    notes.push("Stages use different logical meshes: meshShape is stage 0's, each stage's own is in stages.");
  }
  if (summary.zero === 3) {
    notes.push(
      'ZeRO-3 also shards parameter storage over the data-parallel ways (FSDP): add the data axis to a replicated dim of each spec for storage and gather before use.',
    );
  }
  if (conflicts.length > 0) {
    notes.push(
      `Ops read these parameters with different layouts; the spec is the first op's: ${conflicts.join(', ')}.`,
    );
  }
  return {
    expressible: true,
    release: JAX_RELEASE,
    files: [],
    meshAxes: mesh.axes,
    meshShape: mesh.shapeOf(layout.logicalMesh),
    partitionSpecs: specs,
    stages: ctx.stages.map((s, i) => ({
      stage: i,
      layers: s.layers,
      layerNames: s.layerNames,
      meshShape: mesh.shapeOf(s.logicalMesh),
    })),
    notes,
  };
}
