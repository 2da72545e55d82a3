/**
 * javascript-lp-solver 1.0.3. It has no status field, its timeout bounds only branch-and-bound (and then
 * silently returns the incumbent), and on large budgeted models it has returned fractional points labelled
 * feasible. So this adapter claims as little as it can: a point found after the time limit is only
 * `feasible`, and everything it returns goes through solvers/verify.ts like any other backend. Its dense
 * tableau makes it a backend for small problems only; `auto` never picks it.
 */
import lpSolverModule, { type Model } from 'javascript-lp-solver';
import type { MilpBackend, MilpResult } from './backend.ts';
import type { LinearModel } from './linearise.ts';

/** Same CommonJS-types-versus-ESM-runtime mismatch as in highs.ts: accept both shapes of the default import. */
const solver = ((lpSolverModule as { default?: unknown }).default ??
  lpSolverModule) as typeof lpSolverModule.default;

function toModel(model: LinearModel, timeoutMs: number): Model {
  const constraints: Model['constraints'] = {};
  const variables: Model['variables'] = {};
  const binaries: Record<string, 1> = {};
  model.columnNames.forEach((name, column) => {
    variables[name] = { cost: model.columnCosts[column]! };
    binaries[name] = 1;
  });
  model.rows.forEach((row, r) => {
    const name = `r${r}`;
    constraints[name] =
      row.lower === row.upper
        ? { equal: row.lower }
        : Number.isFinite(row.lower)
          ? { min: row.lower, max: row.upper }
          : { max: row.upper };
    row.columns.forEach((column, j) => {
      variables[model.columnNames[column]!]![name] = row.coefficients[j]!;
    });
  });
  return { optimize: 'cost', opType: 'min', constraints, variables, binaries, timeout: timeoutMs };
}

export const lpSolverBackend: MilpBackend = {
  name: 'lp-solver',
  async solve(model, timeLimitSec): Promise<MilpResult> {
    const timeoutMs = Math.max(1, Math.min(timeLimitSec, 1e6) * 1000);
    const started = performance.now();
    const result = solver.Solve(toModel(model, timeoutMs)) as Record<string, unknown>;
    const timedOut = performance.now() - started >= timeoutMs;
    if (result.feasible !== true) {
      return { status: timedOut ? 'timeout' : 'infeasible', columnValues: null, objective: null };
    }
    // Variables at zero are left out of the result object.
    const value = (column: number) => {
      const v = result[model.columnNames[column]!];
      return typeof v === 'number' ? v : 0;
    };
    const objective = typeof result.result === 'number' ? result.result : null;
    return { status: timedOut ? 'feasible' : 'optimal', columnValues: value, objective };
  },
};
