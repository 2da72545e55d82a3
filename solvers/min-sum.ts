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

/**
 * Walks every assignment of `variables` as an odometer (the last variable fastest) and calls `visit` with
 * the entry index of each of `layouts` at that assignment, kept up to date by adding strides rather than
 * recomputed: this loop is the relaxation's hot path.
 */
function forEachAssignment(
  variables: readonly number[],
  sizes: readonly number[],
  layouts: readonly Layout[],
  visit: (indices: Int32Array) => void,
) {
  const n = variables.length;
  // aligned[l * n + j]: the stride of variables[j] in layout l (0 when the layout lacks it).
  const aligned = new Int32Array(layouts.length * n);
  layouts.forEach((layout, l) => {
    layout.scope.forEach((v, i) => {
      const j = variables.indexOf(v);
      if (j >= 0) aligned[l * n + j] = layout.strides[i]!;
    });
  });
  const digits = new Int32Array(n);
  const indices = new Int32Array(layouts.length);
  for (;;) {
    visit(indices);
    let j = n - 1;
    while (j >= 0 && digits[j] === sizes[variables[j]!]! - 1) {
      // This digit wraps to 0: take back what its steps added.
      for (let l = 0; l < layouts.length; l++) indices[l]! -= aligned[l * n + j]! * digits[j]!;
      digits[j] = 0;
      j--;
    }
    if (j < 0) return;
    digits[j]!++;
    for (let l = 0; l < layouts.length; l++) indices[l]! += aligned[l * n + j]!;
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

  for (const step of steps) {
    const layout = { scope: step.scope, strides: stridesOf(step.scope, sizes) };
    const size = step.scope.reduce((n, v) => n * sizes[v]!, 1);
    const table = new Float64Array(size).fill(Number.POSITIVE_INFINITY);
    const argmin = new Int32Array(size).fill(-1);
    const full = step.variable >= 0 ? [...step.scope, step.variable] : step.scope;
    const inputs = step.inputs.map((id) => tables[id]!);
    const own = step.inputs.length;
    // The eliminated variable's value, read as an index into a one-variable layout.
    const value = { scope: step.variable >= 0 ? [step.variable] : [], strides: [1] };
    forEachAssignment(full, sizes, [...step.inputs.map((id) => layouts[id]!), layout, value], (at) => {
      let sum = 0;
      for (let i = 0; i < own; i++) sum += inputs[i]![at[i]!]!;
      const entry = at[own]!;
      if (sum < table[entry]!) {
        table[entry] = sum;
        argmin[entry] = at[own + 1]!;
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
  for (let s = steps.length - 1; s >= 0; s--) {
    const step = steps[s]!;
    const full = step.variable >= 0 ? [...step.scope, step.variable] : step.scope;
    const inputs = step.inputs;
    const count = inputs.length;
    const inputTables = inputs.map((id) => tables[id]!);
    const targets = inputs.map((id) => (id < original ? null : outside[id - original]!));
    const mine = outside[s]!;
    const values = new Float64Array(count);
    const layoutsHere = [...inputs.map((id) => layouts[id]!), layouts[original + s]!];
    forEachAssignment(full, sizes, layoutsHere, (at) => {
      const above = mine[at[count]!]!;
      if (above === Number.POSITIVE_INFINITY) return;
      for (let i = 0; i < count; i++) values[i] = inputTables[i]![at[i]!]!;
      for (let i = 0; i < count; i++) {
        const target = targets[i];
        if (target === null || target === undefined) continue;
        // The others summed directly (not total − own): no cancellation, and an infinite own entry is fine.
        let others = above;
        for (let j = 0; j < count; j++) if (j !== i) others += values[j]!;
        if (others < target[at[i]!]!) target[at[i]!] = others;
      }
    });
  }
  return outside;
}
