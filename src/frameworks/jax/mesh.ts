/**
 * The JAX meshes of a plan: one per pipeline stage, all with the same axis names. A stage's mesh is
 * its logical mesh with the pipeline replicas (data parallelism across whole stages) added: folded
 * into a stage axis that splits only the batch (no parameter is split along it, so the parameter
 * specs keep their meaning), or as a leading "data" axis of their own.
 */
import type { ExportContext } from '../context.ts';
import type { AxisRole } from '../layout-check.ts';

const AXIS_NAMES: Readonly<Record<AxisRole, string>> = { data: 'data', model: 'model', mixed: 'mixed' };

export const AXIS_MEANING: Readonly<Record<AxisRole, string>> = {
  data: 'splits only the batch',
  model: 'splits model dims (tensor parallelism)',
  mixed: 'splits the batch for some ops and model dims for others',
};

export interface JaxMesh {
  readonly axes: readonly string[];
  /** The names of the plan's logical mesh axes 0 and 1. */
  readonly stageAxes: readonly [string, string];
  /** Pipeline replicas: copies of the whole pipeline, each on its own devices. */
  readonly replicas: number;
  /** The stage axis the replicas are folded into; null for a leading axis (or one replica). */
  readonly replicaAxis: 0 | 1 | null;
  /** Device counts along `axes` for a stage with this logical mesh. */
  readonly shapeOf: (logicalMesh: readonly [number, number]) => number[];
}

/** Names of the stage mesh's two axes, by what they do; two axes doing the same get their index. */
function stageAxisNames(roles: readonly [AxisRole, AxisRole]): [string, string] {
  const [a, b] = [AXIS_NAMES[roles[0]], AXIS_NAMES[roles[1]]];
  return a === b ? [`${a}0`, `${b}1`] : [a, b];
}

export function jaxMesh(ctx: ExportContext): JaxMesh {
  const { summary, layout } = ctx;
  const names = stageAxisNames(layout.roles);
  const [a0, a1] = layout.logicalMesh;
  const replicas = (summary.dp * summary.tp) / (a0 * a1);
  if (replicas === 1) {
    return { axes: names, stageAxes: names, replicas, replicaAxis: null, shapeOf: (m) => [m[0], m[1]] };
  }
  const j = layout.roles.indexOf('data');
  if (j === 0 || j === 1) {
    return {
      axes: names,
      stageAxes: names,
      replicas,
      replicaAxis: j,
      shapeOf: (m) => (j === 0 ? [replicas * m[0], m[1]] : [m[0], replicas * m[1]]),
    };
  }
  return {
    axes: ['data', ...names],
    stageAxes: names,
    replicas,
    replicaAxis: null,
    shapeOf: (m) => [replicas, m[0], m[1]],
  };
}

/** What each mesh axis is, for the notes. */
export function meshNotes(ctx: ExportContext, mesh: JaxMesh): string[] {
  const { layout } = ctx;
  const notes = mesh.stageAxes.map((name, j) => {
    const size = layout.logicalMesh[j]!;
    return `Mesh axis "${name}" (stage axis ${j}, ${size} device${size === 1 ? '' : 's'}) ${AXIS_MEANING[layout.roles[j]!]}.`;
  });
  if (mesh.replicas > 1) {
    notes.push(
      mesh.replicaAxis === null
        ? `"data" spans the ${mesh.replicas} pipeline replicas; the stage mesh splits no batch dim of its own.`
        : `"${mesh.axes[mesh.replicaAxis]}" also spans the ${mesh.replicas} pipeline replicas (its size is ${mesh.replicas} × the stage mesh's axis ${mesh.replicaAxis}).`,
    );
  }
  if (!layout.uniformMeshes) {
    notes.push("Stages use different logical meshes: meshShape is stage 0's, each stage's own is in stages.");
  }
  return notes;
}

/** The axis carrying the pipeline replicas (data parallelism); null with one replica. */
export function dataAxis(mesh: JaxMesh): string | null {
  if (mesh.replicas === 1) return null;
  return mesh.replicaAxis === null ? 'data' : mesh.axes[mesh.replicaAxis]!;
}
