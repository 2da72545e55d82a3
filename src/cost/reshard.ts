import { collectiveSec } from '../cluster/collectives.ts';
import type { LogicalMesh } from '../cluster/mesh.ts';
import type { CollectiveKind } from '../schema/vocabulary.ts';
import type { AxisLayout, Layout } from './layout.ts';

export interface Collective {
  readonly kind: CollectiveKind;
  readonly axis: 0 | 1;
  /** The collective's byte count as `collectiveSec` takes it. */
  readonly bytes: number;
  readonly sec: number;
}

export interface Reshard {
  readonly sec: number;
  readonly collectives: readonly Collective[];
}

/** Nothing moves. */
export const NO_RESHARD: Reshard = { sec: 0, collectives: [] };

/** Two moves one after the other. */
export function thenReshard(a: Reshard, b: Reshard): Reshard {
  if (b.collectives.length === 0) return a;
  if (a.collectives.length === 0) return b;
  return { sec: a.sec + b.sec, collectives: [...a.collectives, ...b.collectives] };
}

/*
 * One mesh axis's move, as a pure transition table (DESIGN.md §4): unchanged or from replicated →
 * free (a local slice); partial → all-reduce, or reduce-scatter straight into the wanted split;
 * split → all-gather to replicated, all-to-all to another dim. Nothing moves *to* partial.
 */
function stepKind(from: AxisLayout, to: AxisLayout): CollectiveKind | null {
  if (from === to || from === 'R') return null;
  if (to === 'P') throw new Error('a layout never becomes partial by resharding');
  if (from === 'P') return to === 'R' ? 'all-reduce' : 'reduce-scatter';
  return to === 'R' ? 'all-gather' : 'all-to-all';
}

function reshardInOrder(
  bytes: number,
  from: Layout,
  to: Layout,
  mesh: LogicalMesh,
  order: readonly (0 | 1)[],
  gatherBytes: number,
): Reshard {
  const current: AxisLayout[] = [from[0], from[1]];
  const collectives: Collective[] = [];
  let sec = 0;
  for (const j of order) {
    const kind = stepKind(current[j]!, to[j]);
    if (kind !== null) {
      const n = mesh.axes[j].size;
      const whole = kind === 'all-gather' ? gatherBytes : bytes;
      const shardBytes =
        whole / current.reduce<number>((p, a, k) => (typeof a === 'number' ? p * mesh.axes[k]!.size : p), 1);
      // all-reduce and reduce-scatter take the buffer each device holds; all-gather and all-to-all the group's total.
      const collectiveBytes =
        kind === 'all-reduce' || kind === 'reduce-scatter' ? shardBytes : shardBytes * n;
      const t = collectiveSec(kind, mesh.axes[j], collectiveBytes);
      collectives.push({ kind, axis: j, bytes: collectiveBytes, sec: t });
      sec += t;
    }
    current[j] = to[j];
  }
  return { sec, collectives };
}

/**
 * The cheaper of the two axis orders for moving a tensor of `bytes` from one layout to another.
 * `gatherBytes` is what its all-gathers move of the whole tensor when that differs (a tensor cast to
 * FP8 before it is gathered, see edge-cost.ts); the other collectives move `bytes`.
 */
export function reshard(
  bytes: number,
  from: Layout,
  to: Layout,
  mesh: LogicalMesh,
  gatherBytes = bytes,
): Reshard {
  if (from[0] === to[0] && from[1] === to[1]) return NO_RESHARD;
  const a = reshardInOrder(bytes, from, to, mesh, [0, 1], gatherBytes);
  const b = reshardInOrder(bytes, from, to, mesh, [1, 0], gatherBytes);
  return b.sec < a.sec ? b : a;
}

/** A layout as its producer's backward pass needs the gradient: partial axes become replicated. */
export function resolvedLayout(layout: Layout): Layout {
  return [layout[0] === 'P' ? 'R' : layout[0], layout[1] === 'P' ? 'R' : layout[1]];
}
