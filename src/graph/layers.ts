import { InvalidInputError } from '../schema/errors.ts';
import type { OpGraph } from './graph.ts';

export interface ClusterOptions {
  /**
   * δ of Alpa's Eq. 6: every layer's FLOPs stay within (1 + δ)·total / L. Alpa's DEFAULT_EPS is 0.5.
   * When no clustering meets it (one op heavier than the bound, say), the bound is relaxed to the
   * smallest one some clustering meets: the optimum of the FLOP-only partition problem.
   */
  readonly flopsImbalance?: number;
}

/** An op's reads of tensors written by other ops, with the writer's position and the bytes. */
interface ProducedInput {
  readonly tensor: number;
  readonly producer: number;
  readonly bytes: number;
}

/**
 * Calls `visit(i, k, volume)` for every op range i..k whose FLOPs fit in `maxFlops`, ordered by i,
 * with `volume` = bytes of tensors written before op i and read within i..k (Alpa's input size of
 * the layer). Each range extends the previous one by op k, so the volume is kept incrementally.
 */
function sweepRanges(
  reads: readonly (readonly ProducedInput[])[],
  prefixFlops: Float64Array,
  tensorCount: number,
  maxFlops: number,
  visit: (i: number, k: number, volume: number) => void,
): void {
  const countedFor = new Int32Array(tensorCount).fill(-1);
  for (let i = 0; i < reads.length; i++) {
    let volume = 0;
    for (let k = i; k < reads.length && prefixFlops[k + 1]! - prefixFlops[i]! <= maxFlops; k++) {
      for (const read of reads[k]!) {
        if (read.producer < i && countedFor[read.tensor] !== i) {
          countedFor[read.tensor] = i;
          volume += read.bytes;
        }
      }
      visit(i, k, volume);
    }
  }
}

/** best[r][j]: an optimum over the first j ops cut into r layers (row-major, (L+1) × (K+1)). */
function table(layers: number, ops: number, fill: number): Float64Array {
  return new Float64Array((layers + 1) * (ops + 1)).fill(fill);
}

/** The smallest per-layer FLOP bound any clustering of the ops into L contiguous layers meets. */
function minimalFlopsBound(prefixFlops: Float64Array, layers: number): number {
  const ops = prefixFlops.length - 1;
  const best = table(layers, ops, Infinity);
  const at = (r: number, j: number) => r * (ops + 1) + j;
  best[at(0, 0)] = 0;
  for (let r = 1; r <= layers; r++) {
    for (let j = r; j <= ops; j++) {
      let min = Infinity;
      for (let i = r - 1; i < j; i++) {
        min = Math.min(min, Math.max(best[at(r - 1, i)]!, prefixFlops[j]! - prefixFlops[i]!));
      }
      best[at(r, j)] = min;
    }
  }
  return best[at(layers, ops)]!;
}

/**
 * Alpa's operator clustering (OSDI'22 §5, Eq. 6): cuts the ops, in topological order, into
 * `layerCount` contiguous layers minimising the largest input volume any layer receives, subject
 * to the FLOP bound; among the clusterings reaching that minimum it takes the one with the least
 * FLOP variance. Two passes make the tie-break exact: a max-then-variance DP in one pass would not
 * be (a prefix with a larger max but smaller variance can win once a later layer's volume
 * dominates). Returns the layer of every op. O(K²·L) in the worst case, far less when the bound
 * limits how many ops a layer spans.
 */
export function clusterLayers(graph: OpGraph, layerCount: number, options: ClusterOptions = {}): number[] {
  const ops = graph.ops.length;
  const delta = options.flopsImbalance ?? 0.5;
  if (!Number.isInteger(layerCount) || layerCount < 1 || layerCount > ops) {
    throw new InvalidInputError(
      [
        {
          path: 'layerCount',
          message: `must be an integer from 1 to the op count ${ops}, got ${layerCount}`,
        },
      ],
      'clustering',
    );
  }
  if (!(delta >= 0) || !Number.isFinite(delta)) {
    throw new InvalidInputError(
      [{ path: 'flopsImbalance', message: `must be a finite number ≥ 0, got ${delta}` }],
      'clustering',
    );
  }

  const tensorIndex = new Map([...graph.tensors.keys()].map((name, i) => [name, i]));
  const reads = graph.ops.map((op) =>
    op.inputs.flatMap((name): ProducedInput[] => {
      const t = graph.tensors.get(name)!;
      return t.producer === null
        ? []
        : [{ tensor: tensorIndex.get(name)!, producer: t.producer, bytes: t.bytes }];
    }),
  );
  const prefixFlops = new Float64Array(ops + 1);
  graph.ops.forEach((op, k) => {
    prefixFlops[k + 1] = prefixFlops[k]! + op.flops;
  });
  const L = layerCount;
  const at = (r: number, j: number) => r * (ops + 1) + j;

  // Pass 1: the least achievable maximum input volume.
  const leastMaxVolume = (flopsBound: number): number => {
    const maxVolume = table(L, ops, Infinity);
    maxVolume[at(0, 0)] = 0;
    sweepRanges(reads, prefixFlops, tensorIndex.size, flopsBound, (i, k, volume) => {
      for (let r = 1; r <= Math.min(L, i + 1); r++) {
        const value = Math.max(maxVolume[at(r - 1, i)]!, volume);
        if (value < maxVolume[at(r, k + 1)]!) maxVolume[at(r, k + 1)] = value;
      }
    });
    return maxVolume[at(L, ops)]!;
  };
  let flopsBound = ((1 + delta) * prefixFlops[ops]!) / L;
  let volumeBound = leastMaxVolume(flopsBound);
  if (volumeBound === Infinity) {
    flopsBound = minimalFlopsBound(prefixFlops, L);
    volumeBound = leastMaxVolume(flopsBound);
  }

  // Pass 2: among clusterings within that volume, the least Σ FLOPs² (the total is fixed, so the
  // least variance), remembering where each best last layer starts.
  const squares = table(L, ops, Infinity);
  const start = new Int32Array((L + 1) * (ops + 1)).fill(-1);
  squares[at(0, 0)] = 0;
  sweepRanges(reads, prefixFlops, tensorIndex.size, flopsBound, (i, k, volume) => {
    if (volume > volumeBound) return;
    const flops = prefixFlops[k + 1]! - prefixFlops[i]!;
    for (let r = 1; r <= Math.min(L, i + 1); r++) {
      const value = squares[at(r - 1, i)]! + flops * flops;
      if (value < squares[at(r, k + 1)]!) {
        squares[at(r, k + 1)] = value;
        start[at(r, k + 1)] = i;
      }
    }
  });

  const layerOf = new Array<number>(ops);
  for (let r = L, end = ops; r > 0; r--) {
    const first = start[at(r, end)]!;
    if (first < 0) throw new Error('clusterLayers: no clustering within the relaxed bounds (a bug)');
    layerOf.fill(r - 1, first, end);
    end = first;
  }
  return layerOf;
}
