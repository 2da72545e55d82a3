/** The intra-op model as the solvers' pure numeric ILP (solvers/problem.ts, DESIGN.md §5). */
import type { IlpNode, IlpProblem } from '../../solvers/problem.ts';
import { edgeCostMatrix } from './edge-cost.ts';
import type { IntraOpModel } from './intra-op.ts';

/** ILP units: the solvers work best on numbers near 1, so seconds go in as µs and bytes as MiB. */
export const ILP_SEC_PER_UNIT = 1e-6;
export const ILP_BYTES_PER_UNIT = 2 ** 20;

/** One node per group, edges summed per group pair. */
export function toIlpProblem(
  model: IntraOpModel,
  memoryBudgetBytes: number | null,
  timeLimitSec: number,
): IlpProblem {
  const nodes: IlpNode[] = model.groups.map((g) => ({
    cost: g.strategies.map((s) => s.totalSec / ILP_SEC_PER_UNIT),
    memory: g.strategies.map((s) => s.memoryBytes / ILP_BYTES_PER_UNIT),
  }));
  const matrices = new Map<string, { from: number; to: number; cost: number[][] }>();
  for (const edge of model.tensorEdges) {
    const from = model.groupOf[edge.producer]!;
    const to = model.groupOf[edge.consumer]!;
    const secs = edgeCostMatrix(model, edge);
    const entry = matrices.get(`${from}:${to}`);
    if (entry === undefined) {
      matrices.set(`${from}:${to}`, {
        from,
        to,
        cost: secs.map((row) => row.map((sec) => sec / ILP_SEC_PER_UNIT)),
      });
    } else {
      for (const [k, row] of secs.entries()) {
        for (const [l, sec] of row.entries()) entry.cost[k]![l]! += sec / ILP_SEC_PER_UNIT;
      }
    }
  }
  return withBudget(
    { nodes, edges: [...matrices.values()], memoryBudget: null, timeLimitSec },
    memoryBudgetBytes,
    timeLimitSec,
  );
}

/** The same problem under another memory budget and time limit (its costs and edges shared, not copied). */
export function withBudget(
  problem: IlpProblem,
  memoryBudgetBytes: number | null,
  timeLimitSec: number,
): IlpProblem {
  return {
    ...problem,
    memoryBudget: memoryBudgetBytes === null ? null : memoryBudgetBytes / ILP_BYTES_PER_UNIT,
    timeLimitSec,
  };
}
