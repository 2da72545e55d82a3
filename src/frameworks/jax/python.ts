/**
 * jax_sharding.py of a JAX export: the plan's meshes built from the devices (stage by stage, each
 * stage's replicas side by side, as the plan's data-parallel and pipeline links were priced) and a
 * `NamedSharding` per parameter from its `PartitionSpec`. JAX has no pipeline of its own, so the
 * stage → layers map is data for the user's pipeline runner, whose duties the docstring lists.
 */
import type { PartitionEntry, Recompute } from '../../schema/index.ts';
import type { JaxMesh } from './mesh.ts';

export interface PythonFacts {
  readonly modelName: string;
  readonly mesh: JaxMesh;
  readonly devices: number;
  readonly stages: readonly {
    /** Inclusive layer ranges the stage runs, in order, and their first and last layers' names. */
    readonly chunks: readonly (readonly [number, number])[];
    readonly chunkNames: readonly (readonly [string, string])[];
    readonly stageMesh: readonly [number, number];
    readonly meshShape: readonly number[];
  }[];
  /** Per stage, its parameters' specs. */
  readonly specs: readonly ReadonlyMap<string, readonly PartitionEntry[]>[];
  readonly stateSpecs: readonly ReadonlyMap<string, readonly PartitionEntry[]>[] | null;
  readonly schedule: string;
  readonly microbatches: number;
  /** Sequences per microbatch across the whole data axis. */
  readonly microbatchSequences: number;
  readonly recompute: Recompute;
}

const str = (s: string) => JSON.stringify(s);
const tuple = (items: readonly string[]) => `(${items.join(', ')}${items.length === 1 ? ',' : ''})`;

/** `P(None, "model", ("data", "model"))`: the literal of one PartitionSpec. */
export function pSpec(spec: readonly PartitionEntry[]): string {
  const entry = (e: PartitionEntry) =>
    e === null ? 'None' : typeof e === 'string' ? str(e) : tuple(e.map(str));
  return `P(${spec.map(entry).join(', ')})`;
}

function specTable(
  name: string,
  perStage: readonly ReadonlyMap<string, readonly PartitionEntry[]>[],
): string[] {
  return [
    `${name} = (`,
    ...perStage.flatMap((specs, s) => [
      `    {  # stage ${s}`,
      ...[...specs].map(([param, spec]) => `        ${str(param)}: ${pSpec(spec)},`),
      '    },',
    ]),
    ')',
  ];
}

const RECOMPUTE: Readonly<Record<Recompute, string>> = {
  none: 'nothing is recomputed: the backward pass reads what the forward pass saved.',
  selective:
    'selective: wrap each block in jax.checkpoint with a policy that saves everything but the attention core (softmax(q k^T / sqrt(d)) v).',
  // The rules refuse it (exportOf then replaces the files with the reason).
  'per-op':
    "per-op: torchtitan's policy (attention and every other matmul kept), which no jax.checkpoint policy here reproduces.",
  full: 'full: wrap each layer in jax.checkpoint, so that only its input is kept for the backward pass.',
};

/** jax_sharding.py for the plan. */
export function jaxPython(f: PythonFacts): string {
  const { mesh } = f;
  const pipelined = f.stages.length > 1;
  const runner = pipelined
    ? [
        'JAX has no pipeline of its own; your runner must: run stage s on meshes[s] with the layers of',
        'the inclusive ranges STAGES[s]["layers"] (model chunks in order with an interleaved schedule),',
        "their parameters placed by parameter_shardings; send each microbatch's",
        'activations from stage s to stage s + 1 (jax.device_put onto meshes[s + 1]) and their gradients',
        `back; order the ${f.microbatches} microbatches of a step by the ${f.schedule} schedule; and step each`,
        "stage's optimizer once, after the last microbatch's backward pass.",
      ]
    : [
        `Run the ${f.microbatches} microbatch(es) of a step on meshes[0] and step the optimizer once after them.`,
      ];
  const lines = [
    `"""JAX sharding of ${f.modelName} as meshplan planned it (jax.sharding: Mesh, NamedSharding, PartitionSpec).`,
    '',
    `${f.stages.length} stage(s) on ${f.devices} devices; every stage's mesh has the axes MESH_AXES.`,
    'A PartitionSpec entry is None (replicated), an axis, or a tuple of axes (a dim split over them, major first).',
    ...runner,
    `Microbatches: ${f.microbatchSequences} sequence(s) each, split over the batch axes. Recomputation: ${RECOMPUTE[f.recompute]}`,
    '"""',
    '',
    'import jax',
    'import numpy as np',
    'from jax.sharding import Mesh, NamedSharding',
    'from jax.sharding import PartitionSpec as P',
    '',
    `MESH_AXES = ${tuple(mesh.axes.map(str))}`,
    `DEVICES = ${f.devices}`,
    '# Pipeline replicas (copies of the pipeline on their own devices), folded into this axis of the',
    '# stage mesh (0 or 1) or, if None, a leading axis of their own.',
    `REPLICAS = ${mesh.replicas}`,
    `REPLICA_AXIS = ${mesh.replicaAxis === null ? 'None' : mesh.replicaAxis}`,
    `MICROBATCHES = ${f.microbatches}`,
    '',
    'STAGES = (',
    ...f.stages.map(
      (s) =>
        `    {"layers": ${tuple(s.chunks.map((c) => `(${c.join(', ')})`))}, "layer_names": ${tuple(s.chunkNames.map((c) => tuple(c.map(str))))}, "stage_mesh": (${s.stageMesh.join(', ')}), "mesh_shape": (${s.meshShape.join(', ')})},`,
    ),
    ')',
    '',
    '# The layout each parameter is read in, per stage.',
    ...specTable('PARTITION_SPECS', f.specs),
    '',
    ...(f.stateSpecs === null
      ? ['STATE_SPECS = None  # no ZeRO: optimizer state is laid out as its parameter']
      : [
          '# ZeRO: optimizer state (and with ZeRO 2 the gradient accumulators, with ZeRO 3 the stored',
          '# weights, gathered to PARTITION_SPECS before use) sharded over the data-parallel axis too.',
          ...specTable('STATE_SPECS', f.stateSpecs),
        ]),
    '',
    '',
    'def stage_meshes(devices=None):',
    '    """One Mesh per stage; stage s takes the next REPLICAS x stage_mesh devices, replica by replica."""',
    '    devices = np.asarray(jax.devices() if devices is None else devices)',
    '    if devices.size != DEVICES:',
    '        raise ValueError(f"the plan is for {DEVICES} devices, got {devices.size}")',
    '    meshes, start = [], 0',
    '    for stage in STAGES:',
    '        a0, a1 = stage["stage_mesh"]',
    '        grid = devices[start : start + REPLICAS * a0 * a1].reshape(REPLICAS, a0, a1)',
    '        start += grid.size',
    '        if REPLICA_AXIS == 0:',
    '            grid = grid.reshape(REPLICAS * a0, a1)',
    '        elif REPLICA_AXIS == 1:',
    '            grid = grid.transpose(1, 0, 2).reshape(a0, REPLICAS * a1)',
    '        elif REPLICAS == 1:',
    '            grid = grid.reshape(a0, a1)',
    '        assert grid.shape == stage["mesh_shape"], (grid.shape, stage["mesh_shape"])',
    '        meshes.append(Mesh(grid, MESH_AXES))',
    '    return meshes',
    '',
    '',
    'def parameter_shardings(meshes, specs=PARTITION_SPECS):',
    '    """A NamedSharding per parameter on its stage\'s mesh (pass STATE_SPECS for ZeRO\'s state)."""',
    '    return {name: NamedSharding(meshes[s], spec) for s, stage in enumerate(specs) for name, spec in stage.items()}',
  ];
  return `${lines.join('\n')}\n`;
}
