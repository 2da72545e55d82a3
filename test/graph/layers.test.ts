import { describe, expect, it } from 'vitest';
import { createRng } from '../../solvers/random.ts';
import type { OpGraph } from '../../src/graph/graph.ts';
import { parseGraph } from '../../src/graph/index.ts';
import { clusterLayers } from '../../src/graph/layers.ts';
import { buildTransformer, wholeGraph } from '../../src/model/index.ts';
import { InvalidInputError } from '../../src/schema/errors.ts';
import type { OpGraphInput } from '../../src/schema/graph.ts';
import { TransformerSpec } from '../../src/schema/model.ts';

/** The solvers' seeded PRNG, so failures reproduce. */
const rng = createRng;

/**
 * A random DAG listed in topological order: every op reads one or two earlier tensors (often the
 * latest, sometimes a skip connection) and a weight, writes a vector of random length, and carries
 * random FLOPs, so cuts differ both in volume and in balance.
 */
function randomGraph(random: () => number, opCount: number): OpGraph {
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const sizes = [int(1, 64)];
  const tensors: OpGraphInput['tensors'] = [{ name: 't0', shape: [sizes[0]!] }];
  const ops: OpGraphInput['ops'] = [];
  for (let j = 1; j <= opCount; j++) {
    const main = random() < 0.6 ? j - 1 : int(0, j - 1);
    const other = j > 1 && random() < 0.4 ? int(0, j - 1) : null;
    const inputs = [`t${main}`, ...(other !== null && other !== main ? [`t${other}`] : [])];
    const size = int(1, 64);
    sizes.push(size);
    tensors.push({ name: `w${j}`, shape: [sizes[main]!, size], param: true });
    tensors.push({ name: `t${j}`, shape: [size] });
    ops.push({
      name: `op${j}`,
      einsum: inputs.length === 2 ? 'a,b,ac->c' : 'a,ac->c',
      inputs: [...inputs, `w${j}`],
      output: `t${j}`,
      flops: int(0, 100),
    });
  }
  return parseGraph({ tensors, ops });
}

interface Objective {
  readonly maxVolume: number;
  readonly sumSquares: number;
  readonly maxFlops: number;
}

/** Alpa's objective of a clustering, computed from the definition: no shared code. */
function objective(graph: OpGraph, layerOf: readonly number[]): Objective {
  const layers = Math.max(...layerOf) + 1;
  let maxVolume = 0;
  let sumSquares = 0;
  let maxFlops = 0;
  for (let r = 0; r < layers; r++) {
    const members = graph.ops.filter((op) => layerOf[op.index] === r);
    const first = Math.min(...members.map((op) => op.index));
    const incoming = new Set(
      members.flatMap((op) => op.inputs.filter((t) => (graph.tensors.get(t)!.producer ?? Infinity) < first)),
    );
    const volume = [...incoming].reduce((sum, t) => sum + graph.tensors.get(t)!.bytes, 0);
    const flops = members.reduce((sum, op) => sum + op.flops, 0);
    maxVolume = Math.max(maxVolume, volume);
    maxFlops = Math.max(maxFlops, flops);
    sumSquares += flops * flops;
  }
  return { maxVolume, sumSquares, maxFlops };
}

/** Every way to cut `ops` ops into `layers` non-empty contiguous layers. */
function* contiguousClusterings(ops: number, layers: number): Generator<number[]> {
  if (layers === 1) {
    yield new Array(ops).fill(0);
    return;
  }
  for (let last = layers - 1; last < ops; last++) {
    for (const prefix of contiguousClusterings(last, layers - 1))
      yield [...prefix, ...new Array(ops - last).fill(layers - 1)];
  }
}

/** Brute force: the best objective among clusterings within the FLOP bound, relaxed as documented. */
function bruteForce(graph: OpGraph, layers: number, delta: number): { best: Objective; flopsBound: number } {
  const all = [...contiguousClusterings(graph.ops.length, layers)].map((c) => objective(graph, c));
  const total = graph.ops.reduce((sum, op) => sum + op.flops, 0);
  const nominal = ((1 + delta) * total) / layers;
  const flopsBound = all.some((o) => o.maxFlops <= nominal)
    ? nominal
    : Math.min(...all.map((o) => o.maxFlops));
  const best = all
    .filter((o) => o.maxFlops <= flopsBound)
    .reduce((a, b) =>
      b.maxVolume < a.maxVolume || (b.maxVolume === a.maxVolume && b.sumSquares < a.sumSquares) ? b : a,
    );
  return { best, flopsBound };
}

function expectContiguous(layerOf: readonly number[], layers: number): void {
  expect(layerOf[0]).toBe(0);
  expect(layerOf.at(-1)).toBe(layers - 1);
  const steps = layerOf.slice(1).map((r, i) => r - layerOf[i]!);
  expect(steps.every((step) => step === 0 || step === 1)).toBe(true);
}

describe('clusterLayers', () => {
  it('matches brute force over all contiguous clusterings of random graphs', () => {
    const random = rng(42);
    let relaxed = 0;
    for (let trial = 0; trial < 400; trial++) {
      const graph = randomGraph(random, 2 + Math.floor(random() * 9));
      const layers = 1 + Math.floor(random() * Math.min(graph.ops.length, 5));
      const delta = [0, 0.25, 0.5, 1][trial % 4]!;
      const layerOf = clusterLayers(graph, layers, { flopsImbalance: delta });
      expectContiguous(layerOf, layers);
      const got = objective(graph, layerOf);
      const { best, flopsBound } = bruteForce(graph, layers, delta);
      const total = graph.ops.reduce((sum, op) => sum + op.flops, 0);
      if (flopsBound > ((1 + delta) * total) / layers) relaxed++;
      expect(got.maxFlops).toBeLessThanOrEqual(flopsBound);
      expect(got.maxVolume).toBe(best.maxVolume);
      expect(got.sumSquares).toBe(best.sumSquares);
    }
    expect(relaxed).toBeGreaterThan(10);
  });

  it('splits a chain of identical ops evenly', () => {
    const chain = (n: number) =>
      parseGraph({
        tensors: Array.from({ length: n + 1 }, (_, i) => ({ name: `t${i}`, shape: [8, 16] })),
        ops: Array.from({ length: n }, (_, i) => ({
          name: `op${i}`,
          einsum: 'bh->bh',
          inputs: [`t${i}`],
          output: `t${i + 1}`,
          kind: 'elementwise' as const,
        })),
      });
    expect(clusterLayers(chain(12), 4)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
    const sizes = [0, 1, 2, 3].map((r) => clusterLayers(chain(10), 4).filter((l) => l === r).length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it('relaxes the bound to the least achievable one when an op outweighs it', () => {
    const flops = [1, 1, 1000, 1, 1, 1];
    const graph = parseGraph({
      tensors: Array.from({ length: 7 }, (_, i) => ({ name: `t${i}`, shape: [4] })),
      ops: flops.map((f, i) => ({
        name: `op${i}`,
        einsum: 'a->a',
        inputs: [`t${i}`],
        output: `t${i + 1}`,
        flops: f,
      })),
    });
    const layerOf = clusterLayers(graph, 3);
    expect(layerOf.filter((l) => l === layerOf[2])).toHaveLength(1);
  });

  it('cuts a GPT where only the residual stream crosses, within the FLOP bound', () => {
    const spec = TransformerSpec.parse({
      kind: 'transformer',
      layers: 8,
      hidden: 64,
      heads: 4,
      vocab: 512,
      seqLen: 32,
    });
    const [b, s, h] = [2, 32, 64];
    const graph = parseGraph(wholeGraph(buildTransformer(spec, { microBatch: b, precision: 'bf16' })));
    const layerOf = clusterLayers(graph, 4);
    expectContiguous(layerOf, 4);
    const got = objective(graph, layerOf);
    expect(got.maxVolume).toBe(b * s * h * 2);
    const total = graph.ops.reduce((sum, op) => sum + op.flops, 0);
    expect(got.maxFlops).toBeLessThanOrEqual((1.5 * total) / 4);
  });

  it('clusters GPT-3 175B (96 blocks, ~1,700 ops) into 96 layers quickly', () => {
    const spec = TransformerSpec.parse({
      kind: 'transformer',
      layers: 96,
      hidden: 12288,
      heads: 96,
      vocab: 51200,
      seqLen: 2048,
    });
    const graph = parseGraph(wholeGraph(buildTransformer(spec, { microBatch: 1, precision: 'bf16' })));
    const start = performance.now();
    const layerOf = clusterLayers(graph, 96);
    expect(performance.now() - start).toBeLessThan(5000);
    expectContiguous(layerOf, 96);
    expect(objective(graph, layerOf).maxVolume).toBe(2048 * 12288 * 2);
  });

  it('rejects a layer count outside 1..ops', () => {
    const graph = randomGraph(rng(1), 3);
    for (const bad of [0, 4, 1.5]) {
      try {
        clusterLayers(graph, bad);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidInputError);
        expect((error as InvalidInputError).issues[0]!.path).toBe('layerCount');
      }
    }
  });
});
