/**
 * JAX exports: PartitionSpecs that follow JAX's rules (an entry is None, one axis of the mesh, or a
 * tuple of two or more; an axis at most once per spec; the axes divide the dim, on the mesh of the
 * stage holding the parameter), and a jax_sharding.py that Python compiles and whose specs, meshes
 * and stage map, read back with Python's ast, are the JSON's. With MESHPLAN_JAX_PYTHON naming a
 * Python that has JAX, the file also runs: its meshes and NamedShardings built on fake CPU devices.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildExports } from '../../src/frameworks/index.ts';
import { buildTransformer } from '../../src/model/transformer.ts';
import type { Exports, PartitionEntry, PlanRequest, StageOut, Summary } from '../../src/schema/index.ts';
import { megatronLayout, op, plannedStages, request, stagesOf, summaryOf } from '../exports/fixtures.ts';
import { dgxA100, gptModel, llamaModel } from './models.ts';

type Jax = Exports['jax'];
const CHECK = join(import.meta.dirname, 'jax_sharding_check.py');

const gpt = request({
  model: gptModel(24, 2048, 51200),
  cluster: { ...dgxA100, nodes: 4 },
  training: { globalBatch: 64 },
});
const llama = request({
  model: llamaModel(4, 1024, 32000),
  cluster: { ...dgxA100, nodes: 4 },
  training: { globalBatch: 32, precision: 'bf16' },
});

/** Every parameter's shape, by its name in the model. */
function parameterShapes(req: PlanRequest): Record<string, number[]> {
  const graphs =
    req.model.kind === 'transformer'
      ? buildTransformer(req.model, { microBatch: 1, precision: req.training.precision }).layers.map(
          (l) => l.graph,
        )
      : req.model.kind === 'graph'
        ? [req.model.graph]
        : [];
  return Object.fromEntries(
    graphs.flatMap((g) => g.tensors.filter((t) => t.param).map((t) => [t.name, t.shape])),
  );
}

interface Case {
  readonly name: string;
  readonly req: PlanRequest;
  readonly summary: Summary;
  readonly stages: StageOut[];
  /** Stages listing every op of every layer (the planner's); hand-written fixtures list a few. */
  readonly everyOp: boolean;
}

const twoD = {
  ...megatronLayout(23, false),
  block: [
    op('block0.fc1', 'matmul', ['h', 'f'], { 'block0.x_norm2': 'R R S0', 'block0.w_fc1': 'S0 S1' }),
    op('block0.fc2', 'matmul', ['f', 'f'], { 'block0.gelu_out': 'R R S01', 'block0.w_fc2': 'S01 R' }),
  ],
};

async function cases(): Promise<Case[]> {
  const fast = await plannedStages(
    llama,
    2,
    [
      [0, 2],
      [3, 5],
    ],
    [2, 4],
    'fast',
  );
  return [
    {
      name: '2-D tensor parallelism on [2, 4], 4 stages',
      req: gpt,
      summary: summaryOf({ tp: 8, pp: 4, dp: 1, microBatch: 1, microbatches: 64 }),
      stages: stagesOf([6, 6, 6, 6], twoD, [2, 4]),
      everyOp: false,
    },
    {
      name: "the planner's own layouts (ILP, [2, 4]) on 2 stages × 2 replicas, ZeRO-1",
      req: llama,
      summary: summaryOf({ tp: 8, pp: 2, dp: 2, microBatch: 2, microbatches: 8, zero: 1 }),
      stages: fast,
      everyOp: true,
    },
    {
      name: 'Megatron layouts on [1, 8], 4 stages × 1 replica, 2 interleaved chunks, ZeRO-3',
      req: gpt,
      summary: summaryOf({
        tp: 8,
        pp: 4,
        dp: 1,
        microBatch: 1,
        microbatches: 64,
        virtualStages: 2,
        schedule: 'interleaved',
        zero: 3,
      }),
      stages: stagesOf([6, 6, 6, 6], megatronLayout(23, false), [1, 8]),
      everyOp: false,
    },
  ];
}

const axesOf = (e: PartitionEntry) => (e === null ? [] : typeof e === 'string' ? [e] : e);

/** JAX's rules for one spec of a `shape` tensor on a mesh of `sizes` along `axes`. */
function checkSpec(
  spec: readonly PartitionEntry[],
  shape: readonly number[],
  axes: readonly string[],
  sizes: readonly number[],
) {
  expect(spec).toHaveLength(shape.length);
  const named = spec.flatMap(axesOf);
  expect(new Set(named).size).toBe(named.length); // an axis at most once
  spec.forEach((entry, d) => {
    if (Array.isArray(entry)) expect(entry.length).toBeGreaterThanOrEqual(2);
    const ways = axesOf(entry).reduce((w, a) => {
      expect(axes).toContain(a);
      return w * sizes[axes.indexOf(a)]!;
    }, 1);
    expect(shape[d]! % ways).toBe(0);
  });
}

function checkExport(c: Case, jax: Jax): void {
  expect(jax.expressible, jax.notes.join('\n')).toBe(true);
  const shapes = parameterShapes(c.req);
  // Every parameter a listed op reads has a spec, and nothing else does: with the planner's own
  // layouts (every op listed) that is every parameter of the model.
  const named = Object.keys(jax.partitionSpecs);
  if (c.everyOp) expect(named.sort()).toEqual(Object.keys(shapes).sort());
  else for (const name of named) expect(shapes).toHaveProperty([name]);
  const stageOf = (name: string) =>
    jax.stages.find((s) =>
      s.chunks.some(([a, b]) => {
        const layer = name.split('.')[0]!;
        const index =
          layer === 'embedding'
            ? 0
            : layer === 'head'
              ? 1 + (c.req.model as { layers: number }).layers
              : 1 + Number(layer.slice(5));
        return index >= a && index <= b;
      }),
    )!;
  for (const [name, spec] of Object.entries(jax.partitionSpecs)) {
    checkSpec(spec, shapes[name]!, jax.meshAxes, stageOf(name).meshShape);
  }
  for (const [name, spec] of Object.entries(jax.stateSpecs ?? {})) {
    checkSpec(spec, shapes[name]!, jax.meshAxes, stageOf(name).meshShape);
  }
  // The stages' chunks cover the model's layers once, in order across virtual stages.
  const covered = jax.stages.flatMap((s) => s.chunks).sort((x, y) => x[0] - y[0]);
  expect(covered.map(([first]) => first)).toEqual(
    covered.map((_, i) => (i === 0 ? 0 : covered[i - 1]![1] + 1)),
  );
  expect(covered.at(-1)![1]).toBe(c.stages.at(-1)!.layers[1]);
}

describe('JAX exports', async () => {
  const all = await cases();
  const exports = all.map((c) => buildExports(c.req, c.summary, c.stages).jax);

  all.forEach((c, i) => {
    it(`${c.name}: specs JAX accepts, on the mesh of the stage that holds each parameter`, () => {
      checkExport(c, exports[i]!);
    });
  });

  it('names the JAX API, and shards ZeRO state over the data axis only when there is one', () => {
    expect(exports[0]!.release).toMatch(/jax\.sharding.*Mesh.*NamedSharding.*PartitionSpec/);
    expect(exports[0]!.stateSpecs).toBeNull(); // ZeRO-0
    expect(exports[1]!.meshAxes[0]).toBe('data'); // both stage axes split model dims: replicas lead
    expect(Object.values(exports[1]!.stateSpecs!).some((s) => s.flatMap(axesOf).includes('data'))).toBe(true);
    expect(exports[2]!.stateSpecs).toBeNull(); // ZeRO-3 with one replica: nothing to shard over
  });

  it('writes a jax_sharding.py that compiles and says what the JSON says (read back with ast)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshplan-jax-'));
    const paths = exports.map((jax, i) => {
      expect(jax.files.map((f) => f.path)).toEqual(['jax_sharding.py']);
      const path = join(dir, `jax_sharding_${i}.py`);
      writeFileSync(path, jax.files[0]!.content);
      return path;
    });
    execFileSync('python3', ['-m', 'py_compile', ...paths]);
    const read = JSON.parse(execFileSync('python3', [CHECK, 'read', ...paths], { encoding: 'utf8' }));
    exports.forEach((jax, i) => {
      const file = read[i];
      expect(file.MESH_AXES).toEqual(jax.meshAxes);
      expect(file.DEVICES).toBe(all[i]!.summary.pp * all[i]!.summary.dp * all[i]!.summary.tp);
      expect(file.STAGES.map((s: { mesh_shape: number[] }) => s.mesh_shape)).toEqual(
        jax.stages.map((s) => s.meshShape),
      );
      expect(file.STAGES.map((s: { layers: number[][] }) => s.layers)).toEqual(
        jax.stages.map((s) => s.chunks),
      );
      const flat = (perStage: Record<string, PartitionEntry[]>[]) => Object.assign({}, ...perStage);
      expect(flat(file.PARTITION_SPECS)).toEqual(jax.partitionSpecs);
      expect(file.STATE_SPECS === null ? null : flat(file.STATE_SPECS)).toEqual(jax.stateSpecs);
    });
  });

  const python = process.env.MESHPLAN_JAX_PYTHON;
  it.runIf(python !== undefined)(
    'runs under JAX: every mesh and NamedSharding builds, shards as the specs say',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'meshplan-jax-run-'));
      exports.forEach((jax, i) => {
        const path = join(dir, `jax_sharding_${i}.py`);
        writeFileSync(path, jax.files[0]!.content);
        const shapes = parameterShapes(all[i]!.req);
        const ran = JSON.parse(
          execFileSync(python!, [CHECK, 'run', path], { input: JSON.stringify(shapes), encoding: 'utf8' }),
        );
        expect(ran.meshes.map((m: Record<string, number>) => Object.values(m))).toEqual(
          jax.stages.map((s) => s.meshShape),
        );
        const stageOf = (name: string) => jax.stages.findIndex((_, s) => ran.stageParams[s].includes(name));
        const expected = (specs: Record<string, PartitionEntry[]>) =>
          Object.fromEntries(
            Object.entries(specs).map(([name, spec]) => {
              const sizes = jax.stages[stageOf(name)]!.meshShape;
              const ways = (e: PartitionEntry) =>
                axesOf(e).reduce((w, a) => w * sizes[jax.meshAxes.indexOf(a)]!, 1);
              return [name, shapes[name]!.map((n, d) => n / ways(spec[d]!))];
            }),
          );
        expect(ran.shards).toEqual(expected(jax.partitionSpecs));
        expect(ran.state_shards).toEqual(expected(jax.stateSpecs ?? {}));
      });
    },
  );
});
