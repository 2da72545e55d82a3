import type { RecomputeModule } from '../schema/vocabulary.ts';
import type { GraphOp, OpGraph } from './graph.ts';

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

/**
 * The ops torchtitan's per-op selective checkpointing keeps instead of redoing (the saved ops' list of
 * v0.2.2 models/llama3/infra/parallelize.py, policy in distributed/activation_checkpoint.py): the
 * attention kernel (SDPA) and every other `aten.mm`, counting from the first. An FP8 GEMM (a matmul
 * with a compute dtype of its own) is torchao's `_scaled_mm`, which the list does not hold and the
 * count skips: under Float8 only attention stays.
 */
export function perOpKeptOps(graph: OpGraph): ReadonlySet<number> {
  const cached = perOpKeptCache.get(graph);
  if (cached !== undefined) return cached;
  const kept = new Set<number>();
  let mm = 0;
  for (const op of graph.ops) {
    if (op.kind === 'attention') kept.add(op.index);
    else if (op.kind === 'matmul' && op.computeDtype === null) {
      mm++;
      if (mm % 2 === 1) kept.add(op.index);
    }
  }
  perOpKeptCache.set(graph, kept);
  return kept;
}
const perOpKeptCache = new WeakMap<OpGraph, ReadonlySet<number>>();

/** Forward FLOPs of the ops per-op recomputation redoes in `graph` (those it does not keep), times `copies`. */
export function perOpRecomputedFlops(graph: OpGraph, copies = 1): number {
  const kept = perOpKeptOps(graph);
  return graph.ops.reduce((sum, op) => sum + (kept.has(op.index) ? 0 : op.flops), 0) * copies;
}
