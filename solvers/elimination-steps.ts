/**
 * The symbolic shape of a variable elimination: which factors each step multiplies and the scope of the
 * table it builds. The budgeted DP (elimination.ts) and the Lagrangian min-sum pass (min-sum.ts) both walk
 * these steps, so that a bound the min-sum pass computes for a step's table applies to the DP's table of
 * the same step, entry by entry.
 */

export interface EliminationStep {
  /** The variable minimised out; -1 for the last step, which merges whatever is left. */
  readonly variable: number;
  /**
   * Factors multiplied: ids below the number of original factors are original factors, id
   * originalCount + s is the table built by step s.
   */
  readonly inputs: readonly number[];
  /** Variables of the table this step builds (the union of its inputs' scopes without `variable`). */
  readonly scope: readonly number[];
}

/** Steps for eliminating `order` from factors with `originalScopes`, then merging the rest into one. */
export function eliminationSteps(
  originalScopes: readonly (readonly number[])[],
  order: readonly number[],
): EliminationStep[] {
  const scopes: (readonly number[])[] = [...originalScopes];
  let pool = originalScopes.map((_, id) => id);
  const steps: EliminationStep[] = [];
  const build = (inputs: number[], variable: number) => {
    const scopeSet = new Set(inputs.flatMap((id) => scopes[id]!));
    scopeSet.delete(variable);
    const scope = [...scopeSet];
    steps.push({ variable, inputs, scope });
    scopes.push(scope);
    return scopes.length - 1;
  };
  for (const variable of order) {
    const bucket = pool.filter((id) => scopes[id]!.includes(variable));
    pool = pool.filter((id) => !scopes[id]!.includes(variable));
    pool.push(build(bucket, variable));
  }
  build(pool, -1);
  return steps;
}

export function stridesOf(scope: readonly number[], sizes: readonly number[]): number[] {
  const strides: number[] = [];
  let stride = 1;
  for (let i = scope.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= sizes[scope[i]!]!;
  }
  return strides;
}

/** Entry index of the current `assignment` in a table over `scope` with `strides`. */
export function indexIn(scope: readonly number[], strides: readonly number[], assignment: readonly number[]) {
  let index = 0;
  for (let i = 0; i < scope.length; i++) index += assignment[scope[i]!]! * strides[i]!;
  return index;
}
