/**
 * The ILP exactly as Alpa's `_call_solver_serialized_args` writes it through PuLP for CBC: a binary s_i per
 * strategy with Σ s_i = 1, a binary e_ij per strategy pair of every edge with Σ e_ij = 1, the linking rows
 * Σ_l e_ij[k,l] ≤ s_i[k] and Σ_k e_ij[k,l] ≤ s_j[l], and one memory row in raw bytes. No preprocessing:
 * this is the baseline meshplan is measured against.
 */
import type { LinearModel, LinearRow } from '../solvers/backends/linearise.ts';
import type { IlpProblem } from '../solvers/problem.ts';

export function alpaLinearModel(problem: IlpProblem): LinearModel {
  const columnCosts: number[] = [];
  const columnNames: string[] = [];
  const rows: LinearRow[] = [];
  const add = (cost: number, name: string) => {
    columnCosts.push(cost);
    columnNames.push(name);
    return columnCosts.length - 1;
  };
  const nodeColumns = problem.nodes.map((node, v) => node.cost.map((c, k) => add(c, `s_${v}_${k}`)));
  const one = (columns: number[]) => ({ columns, coefficients: columns.map(() => 1), lower: 1, upper: 1 });
  for (const columns of nodeColumns) rows.push(one(columns));
  const atMost = (pairs: number[], s: number): LinearRow => ({
    columns: [...pairs, s],
    coefficients: [...pairs.map(() => 1), -1],
    lower: Number.NEGATIVE_INFINITY,
    upper: 0,
  });
  const edgeColumns = problem.edges.map((edge, i) => {
    const pairColumns = edge.cost.map((row, k) => row.map((c, l) => add(c, `e_${i}_${k}_${l}`)));
    rows.push(one(pairColumns.flat()));
    pairColumns.forEach((pairs, k) => {
      rows.push(atMost(pairs, nodeColumns[edge.from]![k]!));
    });
    nodeColumns[edge.to]!.forEach((s, l) => {
      rows.push(
        atMost(
          pairColumns.map((pairs) => pairs[l]!),
          s,
        ),
      );
    });
    return pairColumns;
  });
  if (problem.memoryBudget !== null) {
    const columns = nodeColumns.flat();
    rows.push({
      columns,
      coefficients: problem.nodes.flatMap((node) => node.memory),
      lower: Number.NEGATIVE_INFINITY,
      upper: problem.memoryBudget,
    });
  }
  return {
    columnCosts,
    columnNames,
    rows,
    objectiveOffset: 0,
    nodeColumns,
    edgeColumns,
    evidentlyInfeasible: false,
  };
}
