/**
 * The Alpa linearisation of the intra-op problem (DESIGN.md §5) as a solver-neutral binary program:
 * s_vk for each strategy (Σ_k s_vk = 1); per edge e_kl (Σ e = 1, Σ_l e_kl = s_uk, Σ_k e_kl = s_vl); one
 * memory row when there is a budget. Shortcuts that keep the optimum: a node with one strategy has no
 * variable (its edges become costs on the other end), and a forbidden (infinite) cost removes the
 * variable outright, which is stronger and better conditioned than a big-M.
 */
import type { IlpProblem } from '../problem.ts';
import { budgetCeiling, fitsBudget } from '../verify.ts';

export interface LinearRow {
  readonly columns: readonly number[];
  readonly coefficients: readonly number[];
  readonly lower: number;
  readonly upper: number;
}

/** All columns are binaries with bounds [0, 1]. */
export interface LinearModel {
  readonly columnCosts: readonly number[];
  /** Unique names, for backends that address variables by name. */
  readonly columnNames: readonly string[];
  readonly rows: readonly LinearRow[];
  /** Constant objective part (single-strategy nodes and the edges between them). */
  readonly objectiveOffset: number;
  /**
   * Per node: null for a single-strategy node (always chosen), otherwise the column of each s_vk, or -1
   * for a strategy fixed at 0 because it is forbidden.
   */
  readonly nodeColumns: readonly (readonly number[] | null)[];
  /**
   * Per edge: null when it has no columns (a single-strategy end, or a self-edge), otherwise the column of
   * each e_kl, or -1 for a pair without one.
   */
  readonly edgeColumns: readonly (readonly (readonly number[])[] | null)[];
  /** Set when infeasibility is evident without solving (e.g. every strategy of a node is forbidden). */
  readonly evidentlyInfeasible: boolean;
}

const FORBIDDEN = Number.POSITIVE_INFINITY;

export function linearise(problem: IlpProblem): LinearModel {
  const isSingle = problem.nodes.map((node) => node.cost.length === 1);
  // Linear cost of each s_vk, before columns exist: node cost plus self-edges plus edges towards
  // single-strategy nodes. For a single-strategy node it is part of the constant offset.
  const linearCost = problem.nodes.map((node) => [...node.cost]);
  let offset = 0;
  for (const edge of problem.edges) {
    const fromCost = linearCost[edge.from]!;
    const toCost = linearCost[edge.to]!;
    // A self-edge only ever sees its diagonal.
    if (edge.from === edge.to) for (let k = 0; k < fromCost.length; k++) fromCost[k]! += edge.cost[k]![k]!;
    else if (isSingle[edge.from] && isSingle[edge.to]) offset += edge.cost[0]![0]!;
    else if (isSingle[edge.to]) for (let k = 0; k < fromCost.length; k++) fromCost[k]! += edge.cost[k]![0]!;
    else if (isSingle[edge.from]) for (let l = 0; l < toCost.length; l++) toCost[l]! += edge.cost[0]![l]!;
  }
  let fixedMemory = 0;
  problem.nodes.forEach((node, v) => {
    if (!isSingle[v]) return;
    offset += linearCost[v]![0]!;
    fixedMemory += node.memory[0]!;
  });

  const columnCosts: number[] = [];
  const columnNames: string[] = [];
  const rows: LinearRow[] = [];
  const addColumn = (cost: number, name: string) => {
    columnCosts.push(cost);
    columnNames.push(name);
    return columnCosts.length - 1;
  };
  const nodeColumns = problem.nodes.map((_, v) =>
    isSingle[v] ? null : linearCost[v]!.map((c, k) => (c === FORBIDDEN ? -1 : addColumn(c, `s_${v}_${k}`))),
  );
  let evidentlyInfeasible = offset === FORBIDDEN;
  nodeColumns.forEach((columns) => {
    if (columns === null) return;
    const free = columns.filter((c) => c >= 0);
    if (free.length === 0) evidentlyInfeasible = true;
    rows.push({ columns: free, coefficients: free.map(() => 1), lower: 1, upper: 1 });
  });

  const edgeColumns = problem.edges.map((edge, i) => {
    const fromColumns = nodeColumns[edge.from];
    const toColumns = nodeColumns[edge.to];
    if (!fromColumns || !toColumns || edge.from === edge.to) return null;
    const pairColumns = fromColumns.map(() => toColumns.map(() => -1));
    const byRow = fromColumns.map((): number[] => []);
    const byCol = toColumns.map((): number[] => []);
    const all: number[] = [];
    edge.cost.forEach((row, k) => {
      row.forEach((c, l) => {
        // e_kl ≤ s_uk and ≤ s_vl, so a pair with a fixed-zero end needs no column either.
        if (c === FORBIDDEN || fromColumns[k]! < 0 || toColumns[l]! < 0) return;
        const column = addColumn(c, `e_${i}_${k}_${l}`);
        pairColumns[k]![l] = column;
        byRow[k]!.push(column);
        byCol[l]!.push(column);
        all.push(column);
      });
    });
    if (all.length === 0) evidentlyInfeasible = true;
    rows.push({ columns: all, coefficients: all.map(() => 1), lower: 1, upper: 1 });
    // Alpa writes Σ_l e_kl ≤ s_uk. Together with Σ e = 1 and Σ_k s_uk = 1 those rows can only hold with
    // equality, even fractionally, so both give the same LP relaxation (the local marginal polytope,
    // exact on trees); the equality just says so to the solver's presolve.
    const link = (pairs: number[], s: number) => {
      if (s < 0) return;
      rows.push({
        columns: [...pairs, s],
        coefficients: [...pairs.map(() => 1), -1],
        lower: 0,
        upper: 0,
      });
    };
    byRow.forEach((pairs, k) => {
      link(pairs, fromColumns[k]!);
    });
    byCol.forEach((pairs, l) => {
      link(pairs, toColumns[l]!);
    });
    return pairColumns;
  });

  if (problem.memoryBudget !== null) {
    if (!fitsBudget(fixedMemory, problem.memoryBudget)) evidentlyInfeasible = true;
    rows.push(
      memoryRow(problem, nodeColumns, Math.max(0, budgetCeiling(problem.memoryBudget) - fixedMemory)),
    );
  }
  return {
    columnCosts,
    columnNames,
    rows,
    objectiveOffset: offset,
    nodeColumns,
    edgeColumns,
    evidentlyInfeasible,
  };
}

/** Σ memory·s ≤ rest, scaled so coefficients and bound are at most 1 (bytes are ~1e10). */
function memoryRow(
  problem: IlpProblem,
  nodeColumns: readonly (readonly number[] | null)[],
  rest: number,
): LinearRow {
  const columns: number[] = [];
  const memory: number[] = [];
  nodeColumns.forEach((nodeCols, v) => {
    nodeCols?.forEach((column, k) => {
      if (column < 0) return;
      columns.push(column);
      memory.push(problem.nodes[v]!.memory[k]!);
    });
  });
  const scale = memory.reduce((a, b) => Math.max(a, b), rest) || 1;
  return { columns, coefficients: memory.map((m) => m / scale), lower: -FORBIDDEN, upper: rest / scale };
}

/** Reads the s_vk values of a solver's column vector back into one array per node. */
export function readSelection(model: LinearModel, columnValue: (column: number) => number): number[][] {
  return model.nodeColumns.map((columns) =>
    columns === null ? [1] : columns.map((column) => (column < 0 ? 0 : columnValue(column))),
  );
}

/**
 * The column values of a choice (strategy per node): s_vk = 1 for the chosen k, e_kl = 1 for the chosen
 * pair. A choice that picks a forbidden strategy has no point in the model: null.
 */
export function pointOfChoice(
  problem: IlpProblem,
  model: LinearModel,
  choice: readonly number[],
): Float64Array | null {
  const point = new Float64Array(model.columnCosts.length);
  for (let v = 0; v < choice.length; v++) {
    const columns = model.nodeColumns[v];
    if (columns === null || columns === undefined) continue;
    const column = columns[choice[v]!]!;
    if (column < 0) return null;
    point[column] = 1;
  }
  for (let i = 0; i < problem.edges.length; i++) {
    const pairs = model.edgeColumns[i];
    if (pairs === null || pairs === undefined) continue;
    const edge = problem.edges[i]!;
    const column = pairs[choice[edge.from]!]![choice[edge.to]!]!;
    if (column < 0) return null;
    point[column] = 1;
  }
  return point;
}
