import type { GraphOp, OpGraph } from './graph.ts';

/** `copies` consecutive blocks of `period` ops each, the first starting at op `start`. */
export interface BlockRun {
  readonly start: number;
  readonly period: number;
  readonly copies: number;
}

/**
 * A name-free description of an op in its place: everything the ILP sees (einsum, kind, FLOPs,
 * reduced dims, shapes, dtypes, parameter flags) and where its inputs come from, as a distance back
 * to their producer. Two ops share it when one is the other renamed in a block shifted along.
 */
function opKey(graph: OpGraph, op: GraphOp): string {
  const inputs = op.inputs.map((name) => {
    const t = graph.tensors.get(name)!;
    const from = t.param ? 'param' : t.producer === null ? 'input' : op.index - t.producer;
    return `${t.shape.join('x')}:${t.dtype}:${from}`;
  });
  const out = graph.tensors.get(op.output)!;
  return [
    op.kind,
    `${op.einsum.inputs.join(',')}->${op.einsum.output}`,
    op.flops,
    [...op.reducedDims].sort().join(''),
    op.selectiveRecompute,
    op.recomputeModules.join(','),
    inputs.join(';'),
    `${out.shape.join('x')}:${out.dtype}`,
  ].join('|');
}

/** Bytes of tensors written before op x and read at or after it: what a cut before x hands over. */
function cutBytes(graph: OpGraph): Float64Array {
  const delta = new Float64Array(graph.ops.length + 1);
  for (const t of graph.tensors.values()) {
    if (t.producer === null || t.consumers.length === 0) continue;
    const last = Math.max(...t.consumers.map((c) => c.op));
    if (last <= t.producer) continue;
    delta[t.producer + 1]! += t.bytes;
    delta[last + 1]! -= t.bytes;
  }
  const out = new Float64Array(graph.ops.length + 1);
  let live = 0;
  for (let x = 0; x <= graph.ops.length; x++) {
    live += delta[x]!;
    out[x] = live;
  }
  return out;
}

/**
 * The longest run of identical consecutive blocks within ops [from, to): for each period, the
 * stretches where op j matches op j + period. Among runs of equal coverage the shorter period wins
 * (a block, not a pair of blocks); the run is shifted to start where the fewest bytes cross the cut,
 * which puts block boundaries on the residual stream rather than inside attention.
 */
function longestRun(ids: readonly number[], cuts: Float64Array, from: number, to: number): BlockRun | null {
  let best: BlockRun | null = null;
  for (let p = 2; 2 * p <= to - from; p++) {
    for (let i = from; i + p < to; ) {
      let m = 0;
      while (i + m + p < to && ids[i + m] === ids[i + m + p]) m++;
      if (m >= p) {
        const end = i + m + p;
        let run: BlockRun | null = null;
        for (let phase = 0; phase < p; phase++) {
          const copies = Math.floor((end - i - phase) / p);
          if (copies < 2) break;
          const candidate = { start: i + phase, period: p, copies };
          if (
            run === null ||
            copies > run.copies ||
            (copies === run.copies && cuts[i + phase]! < cuts[run.start]!)
          )
            run = candidate;
        }
        if (run !== null && (best === null || run.copies * run.period > best.copies * best.period))
          best = run;
      }
      i += Math.max(1, m);
    }
  }
  return best;
}

/**
 * Runs of repeated blocks in a graph's topological order (a transformer's N blocks; a ResNet's
 * identical bottlenecks of each stage), found by the longest run first and then within what is left
 * before and after it. Identical blocks become identical layers, which share one ILP solve per mesh.
 */
export function repeatedBlocks(graph: OpGraph): BlockRun[] {
  const byKey = new Map<string, number>();
  const ids = graph.ops.map((op) => {
    const key = opKey(graph, op);
    if (!byKey.has(key)) byKey.set(key, byKey.size);
    return byKey.get(key)!;
  });
  const cuts = cutBytes(graph);
  const runs: BlockRun[] = [];
  const search = (from: number, to: number) => {
    const run = longestRun(ids, cuts, from, to);
    if (run === null) return;
    runs.push(run);
    search(from, run.start);
    search(run.start + run.period * run.copies, to);
  };
  search(0, graph.ops.length);
  return runs.sort((a, b) => a.start - b.start);
}
