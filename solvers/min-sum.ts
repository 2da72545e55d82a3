/**
 * Exact min-sum variable elimination of cost + λ·memory, with no budget: one number per table entry instead
 * of a (cost, memory) frontier, so it costs what the unbudgeted DP costs. It is the Lagrangian relaxation
 * of the memory budget (lagrangian.ts): its minimum minus λ·budget bounds the budgeted optimum from below.
 * Besides the minimum and its argmin it can return, for every step's table, the "outside" minimum: the
 * least cost + λ·memory of everything the table does not cover, given the table's entry. The budgeted DP
 * uses that to drop partial choices that cannot beat a known incumbent.
 */
import { type EliminationStep, indexIn, stridesOf } from './elimination-steps.ts';
import type { IlpProblem } from './problem.ts';

export interface MinSumResult {
  /** min over all choices of Σ cost + λ·Σ memory; Infinity when every choice has an infinite cost. */
  readonly value: number;
  /** An argmin; null when `value` is infinite. */
  readonly choice: number[] | null;
  /** Per factor id (original factors, then one per step): its table of inside minima. */
  readonly inside: readonly Float64Array[];
  /** Per step: the outside minimum of each entry of its table (present when asked for). */
  readonly outside: readonly Float64Array[] | null;
}

/** Scopes of the original factors, in the order elimination.ts builds them: nodes, then edges. */
export function originalScopes(problem: IlpProblem): number[][] {
  return [
    ...problem.nodes.map((_, v) => [v]),
    ...problem.edges.map((e) => (e.from === e.to ? [e.from] : [e.from, e.to])),
  ];
}

function originalTables(problem: IlpProblem, lambda: number): Float64Array[] {
  const unary = problem.nodes.map((node) =>
    Float64Array.from(node.cost, (c, k) => c + lambda * node.memory[k]!),
  );
  // A self-edge only ever sees its diagonal.
  const pairwise = problem.edges.map((edge) =>
    edge.from === edge.to
      ? Float64Array.from(edge.cost, (row, k) => row[k]!)
      : Float64Array.from(edge.cost.flat()),
  );
  return [...unary, ...pairwise];
}

interface Layout {
  readonly scope: readonly number[];
  readonly strides: readonly number[];
}

/** Calls `visit` for every assignment of `variables` (the others in `assignment` stay as they are). */
function forEachAssignment(
  variables: readonly number[],
  sizes: readonly number[],
  assignment: number[],
  visit: () => void,
) {
  const count = variables.reduce((n, v) => n * sizes[v]!, 1);
  for (let i = 0; i < count; i++) {
    let rest = i;
    for (let j = variables.length - 1; j >= 0; j--) {
      const v = variables[j]!;
      assignment[v] = rest % sizes[v]!;
      rest = Math.floor(rest / sizes[v]!);
    }
    visit();
  }
}

export function minSum(
  problem: IlpProblem,
  steps: readonly EliminationStep[],
  lambda: number,
  withOutside: boolean,
): MinSumResult {
  const sizes = problem.nodes.map((node) => node.cost.length);
  const scopes = originalScopes(problem);
  const layouts: Layout[] = scopes.map((scope) => ({ scope, strides: stridesOf(scope, sizes) }));
  const tables: Float64Array[] = originalTables(problem, lambda);
  const argmins: Int32Array[] = [];
  const assignment = sizes.map(() => 0);
  const at = (id: number) => indexIn(layouts[id]!.scope, layouts[id]!.strides, assignment);

  for (const step of steps) {
    const layout = { scope: step.scope, strides: stridesOf(step.scope, sizes) };
    const size = step.scope.reduce((n, v) => n * sizes[v]!, 1);
    const table = new Float64Array(size).fill(Number.POSITIVE_INFINITY);
    const argmin = new Int32Array(size).fill(-1);
    const full = step.variable >= 0 ? [...step.scope, step.variable] : step.scope;
    forEachAssignment(full, sizes, assignment, () => {
      let sum = 0;
      for (const id of step.inputs) sum += tables[id]![at(id)]!;
      const entry = indexIn(layout.scope, layout.strides, assignment);
      if (sum < table[entry]!) {
        table[entry] = sum;
        argmin[entry] = step.variable >= 0 ? assignment[step.variable]! : 0;
      }
    });
    layouts.push(layout);
    tables.push(table);
    argmins.push(argmin);
  }

  const original = scopes.length;
  const value = tables[tables.length - 1]![0]!;
  let choice: number[] | null = null;
  if (Number.isFinite(value)) {
    choice = sizes.map(() => 0);
    for (let s = steps.length - 1; s >= 0; s--) {
      const step = steps[s]!;
      if (step.variable < 0) continue;
      const layout = layouts[original + s]!;
      choice[step.variable] = argmins[s]![indexIn(layout.scope, layout.strides, choice)]!;
    }
  }
  const outside = withOutside ? outsideTables(steps, sizes, layouts, tables, original) : null;
  return { value, choice, inside: tables, outside };
}

/**
 * Outside minima, from the last step down: a step's table is consumed by exactly one later step, whose
 * outside minimum plus the other inputs of that step, minimised over the variables the table lacks, is
 * the table's outside minimum.
 */
function outsideTables(
  steps: readonly EliminationStep[],
  sizes: readonly number[],
  layouts: readonly Layout[],
  tables: readonly Float64Array[],
  original: number,
): Float64Array[] {
  const outside = steps.map((_, s) =>
    new Float64Array(tables[original + s]!.length).fill(Number.POSITIVE_INFINITY),
  );
  outside[steps.length - 1]!.fill(0);
  const assignment = sizes.map(() => 0);
  const at = (id: number) => indexIn(layouts[id]!.scope, layouts[id]!.strides, assignment);
  for (let s = steps.length - 1; s >= 0; s--) {
    const step = steps[s]!;
    const own = layouts[original + s]!;
    const full = step.variable >= 0 ? [...step.scope, step.variable] : step.scope;
    const inputs = step.inputs;
    const values = new Float64Array(inputs.length);
    forEachAssignment(full, sizes, assignment, () => {
      const above = outside[s]![indexIn(own.scope, own.strides, assignment)]!;
      if (above === Number.POSITIVE_INFINITY) return;
      for (let i = 0; i < inputs.length; i++) values[i] = tables[inputs[i]!]![at(inputs[i]!)]!;
      for (let i = 0; i < inputs.length; i++) {
        const id = inputs[i]!;
        if (id < original) continue;
        // The others summed directly (not total − own): no cancellation, and an infinite own entry is fine.
        let others = above;
        for (let j = 0; j < inputs.length; j++) if (j !== i) others += values[j]!;
        const target = outside[id - original]!;
        const entry = at(id);
        if (others < target[entry]!) target[entry] = others;
      }
    });
  }
  return outside;
}
