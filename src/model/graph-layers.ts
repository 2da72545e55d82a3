import { type BlockRun, repeatedBlocks } from '../graph/blocks.ts';
import { buildGraph, type OpGraph, paramElements } from '../graph/graph.ts';
import { clusterLayers } from '../graph/layers.ts';
import { perOpRecomputedFlops, recomputableFlops } from '../graph/recompute.ts';
import { InvalidInputError } from '../schema/errors.ts';
import type { OpGraphSpec } from '../schema/graph.ts';
import type { PlannedLayer, PlannedModel } from './planned.ts';
import { graphSignature } from './signature.ts';

/**
 * How finely a general graph's non-repeated parts are cut, as a multiple of the unit layer (a
 * repeated block, or an eighth of the graph without any): the stage DP plans each and the search
 * keeps the cheapest plan (DESIGN.md §6: the layer count is chosen by the DP's cost, not fixed).
 */
export const GRAPH_GRANULARITIES: readonly number[] = [1, 0.5, 2];

/** Layers a graph without repeated blocks is cut into at granularity 1 (Alpa's clustering). */
const UNIT_LAYERS = 8;

/**
 * Contractions a layer holds at least (Alpa's LAYER_HEAVY_OP_LOWER_BOUND is 3; one keeps the cuts
 * of small hand-written graphs): a layer of norms and gathers alone balances nothing, and cutting a
 * transformer's head (norm, LM head, loss) apart would not either, its one contraction being
 * indivisible.
 */
const HEAVY_OPS_PER_LAYER = 1;

interface Segment {
  readonly from: number;
  readonly to: number;
  readonly repeated: boolean;
}

function segments(ops: number, runs: readonly BlockRun[]): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const run of runs) {
    if (run.start > at) out.push({ from: at, to: run.start, repeated: false });
    for (let c = 0; c < run.copies; c++) {
      const from = run.start + c * run.period;
      out.push({ from, to: from + run.period, repeated: true });
    }
    at = run.start + run.copies * run.period;
  }
  if (at < ops) out.push({ from: at, to: ops, repeated: false });
  return out;
}

/**
 * The ops of `names` as a graph of their own, with every tensor they touch. A GEMM whose fused
 * partner falls in another layer (OpSpec.fusedWith) is priced apart, casting its own input: the
 * layers are solved one by one, and the layer holding the partner pays for its cast.
 */
function subSpec(spec: OpGraphSpec, names: readonly string[], name: string): OpGraphSpec {
  const wanted = new Set(names);
  const ops = spec.ops
    .filter((op) => wanted.has(op.name))
    .map(({ fusedWith, ...op }) =>
      fusedWith === undefined || !wanted.has(fusedWith) ? op : { ...op, fusedWith },
    );
  const touched = new Set(ops.flatMap((op) => [...op.inputs, op.output]));
  return { name, tensors: spec.tensors.filter((t) => touched.has(t.name)), ops };
}

/** The layer of every op: each repeated block one layer, the rest clustered by FLOPs (Alpa's Eq. 6). */
function layerOfOps(
  spec: OpGraphSpec,
  whole: OpGraph,
  runs: readonly BlockRun[],
  granularity: number,
): number[] {
  const flops = (s: Segment) => whole.ops.slice(s.from, s.to).reduce((sum, op) => sum + op.flops, 0);
  const parts = segments(whole.ops.length, runs);
  const blocks = parts.filter((s) => s.repeated).map(flops);
  const total = parts.reduce((sum, s) => sum + flops(s), 0);
  const unit =
    (blocks.length > 0 ? blocks.sort((a, b) => a - b)[blocks.length >> 1]! : total / UNIT_LAYERS) *
    granularity;
  const layerOf = new Array<number>(whole.ops.length);
  let next = 0;
  for (const s of parts) {
    const heavy = whole.ops.slice(s.from, s.to).filter((op) => op.kind === 'matmul').length;
    const most = Math.max(1, Math.floor(heavy / HEAVY_OPS_PER_LAYER));
    const count = s.repeated ? 1 : Math.min(most, Math.max(1, Math.round(flops(s) / Math.max(unit, 1))));
    if (count === 1) layerOf.fill(next, s.from, s.to);
    else {
      const names = whole.ops.slice(s.from, s.to).map((op) => op.name);
      const sub = buildGraph(subSpec(spec, names, 'segment'));
      const index = new Map(sub.ops.map((op) => [op.name, op.index]));
      const cut = clusterLayers(sub, count);
      names.forEach((n, k) => {
        layerOf[s.from + k] = next + cut[index.get(n)!]!;
      });
    }
    next += count;
  }
  return layerOf;
}

/**
 * A general graph as layers, once per granularity of `GRAPH_GRANULARITIES` (undefined where a
 * granularity cuts it as an earlier one did). Repeated blocks (DESIGN.md §6) are layers with one
 * signature, so the ILP solves one of them per mesh; a repeated block hands its output to the next
 * copy's input, an edge its ILP prices (`carry`). `tokensPerMicrobatch` is 0 for a graph without a
 * sequence dim.
 */
export function graphModels(spec: OpGraphSpec, tokensPerMicrobatch: number): (PlannedModel | undefined)[] {
  const whole = buildGraph(spec);
  const runs = repeatedBlocks(whole);
  const seen = new Set<string>();
  return GRAPH_GRANULARITIES.map((granularity) => {
    const layerOf = layerOfOps(spec, whole, runs, granularity);
    const key = layerOf.join();
    if (seen.has(key)) return undefined;
    seen.add(key);
    return modelOf(spec, whole, layerOf, tokensPerMicrobatch);
  });
}

function modelOf(
  spec: OpGraphSpec,
  whole: OpGraph,
  layerOf: readonly number[],
  tokensPerMicrobatch: number,
): PlannedModel {
  const count = Math.max(...layerOf) + 1;
  const layers: PlannedLayer[] = [];
  const copies = new Map<string, number>();
  let streamBytes = 0;
  for (let l = 0; l < count; l++) {
    const ops = whole.ops.filter((op) => layerOf[op.index] === l);
    const sub = subSpec(
      spec,
      ops.map((op) => op.name),
      `${whole.name}.layer${l}`,
    );
    const crossing = [...new Set(ops.flatMap((op) => op.inputs))].filter((n) => {
      const p = whole.tensors.get(n)!.producer;
      return p !== null && layerOf[p] !== l;
    });
    streamBytes = Math.max(
      streamBytes,
      crossing.reduce((s, n) => s + whole.tensors.get(n)!.bytes, 0),
    );
    const signature = graphSignature(sub);
    copies.set(signature, (copies.get(signature) ?? 0) + 1);
    layers.push({
      name: `layer${l}`,
      signature,
      graph: buildGraph(sub),
      input: crossing[0] ?? null,
      output: ops.at(-1)!.output,
      // An imported graph's layers name no role (its first may hold the embedding with a block), so
      // full recomputation redoes each of them.
      checkpointed: true,
    });
  }
  const params = paramElements(whole);
  if (params === 0) {
    throw new InvalidInputError([
      {
        path: 'model.graph.tensors',
        message: 'the graph has no parameter to train (mark weights with "param": true)',
      },
    ]);
  }
  const forwardFlops = whole.ops.reduce((s, op) => s + op.flops, 0);
  return {
    name: whole.name,
    layers: layers.map((layer) => {
      const out = layer.graph.tensors.get(layer.output)!;
      const input = layer.input === null ? undefined : layer.graph.tensors.get(layer.input);
      const repeated = copies.get(layer.signature)! > 1 && input !== undefined && input.bytes === out.bytes;
      return repeated ? { ...layer, carry: { from: layer.output, to: layer.input! } } : layer;
    }),
    params,
    forwardFlops,
    fullRecomputeFlops: forwardFlops,
    recomputableFlops: recomputableFlops(whole.ops),
    perOpRecomputeFlops: layers.reduce((sum, layer) => sum + perOpRecomputedFlops(layer.graph), 0),
    tokensPerMicrobatch,
    streamBytes,
  };
}
