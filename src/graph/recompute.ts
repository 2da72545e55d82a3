import type { RecomputeModule } from '../schema/vocabulary.ts';
import type { GraphOp } from './graph.ts';

/** What decides whether selective recomputation redoes an op. */
export type RecomputeMarks = Pick<GraphOp, 'selectiveRecompute' | 'recomputeModules'>;

/**
 * Whether selective recomputation of `modules` redoes the op: one its graph marks for selective
 * recomputation whatever the modules (a hand-written or imported graph names no Megatron module),
 * or one inside a listed module.
 */
export function selectivelyRecomputed(op: RecomputeMarks, modules: readonly RecomputeModule[]): boolean {
  return op.selectiveRecompute || op.recomputeModules.some((m) => modules.includes(m));
}

/** Forward FLOPs of ops that share one set of recompute marks. */
export interface RecomputableFlops extends RecomputeMarks {
  readonly flops: number;
}

/** The ops' forward FLOPs grouped by their recompute marks (ops with none left out), times `copies`. */
export function recomputableFlops(ops: readonly GraphOp[], copies = 1): RecomputableFlops[] {
  const groups = new Map<string, RecomputableFlops>();
  for (const op of ops) {
    if (!op.selectiveRecompute && op.recomputeModules.length === 0) continue;
    const key = `${op.selectiveRecompute}|${op.recomputeModules.join(',')}`;
    const known = groups.get(key);
    groups.set(key, {
      selectiveRecompute: op.selectiveRecompute,
      recomputeModules: op.recomputeModules,
      flops: (known?.flops ?? 0) + op.flops * copies,
    });
  }
  return [...groups.values()];
}

/** Forward FLOPs selective recomputation of `modules` runs again. */
export function selectiveFlops(
  groups: readonly RecomputableFlops[],
  modules: readonly RecomputeModule[],
): number {
  return groups.filter((g) => selectivelyRecomputed(g, modules)).reduce((s, g) => s + g.flops, 0);
}
