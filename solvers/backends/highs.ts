/**
 * HiGHS (WebAssembly) through its persistent model API, which takes CSR arrays directly. The module is
 * loaded once per thread and reused; each solve creates a model and disposes it, because garbage
 * collection does not free WebAssembly memory.
 */
import highsModule, { type Highs } from 'highs';
import { SolverBackendError } from '../errors.ts';
import type { MilpBackend, MilpResult } from './backend.ts';
import type { LinearModel } from './linearise.ts';

/**
 * The package's types describe its CommonJS build, so under NodeNext TypeScript sees the default import as
 * `module.exports`; Node loads the ESM build, whose default export is the loader itself. Accept both.
 */
const highsLoader = ((highsModule as { default?: unknown }).default ??
  highsModule) as typeof highsModule.default;

let loaded: Promise<Highs> | undefined;

/** The shared HiGHS runtime; loading compiles the WebAssembly module, so it happens once. */
function loadHighs(): Promise<Highs> {
  loaded ??= highsLoader();
  return loaded;
}

function toModelData(highs: Highs, model: LinearModel) {
  const starts = [0];
  const indices: number[] = [];
  const values: number[] = [];
  for (const row of model.rows) {
    // Loops rather than push(...spread): the memory row can have more entries than a call has arguments.
    for (const column of row.columns) indices.push(column);
    for (const coefficient of row.coefficients) values.push(coefficient);
    starts.push(indices.length);
  }
  const numCols = model.columnCosts.length;
  const infinity = (x: number) => (Number.isFinite(x) ? x : Math.sign(x) * highs.infinity);
  return {
    numCols,
    numRows: model.rows.length,
    colCost: model.columnCosts,
    colLower: new Float64Array(numCols),
    colUpper: new Float64Array(numCols).fill(1),
    rowLower: model.rows.map((row) => infinity(row.lower)),
    rowUpper: model.rows.map((row) => infinity(row.upper)),
    matrix: { format: 'csr' as const, numRows: model.rows.length, numCols, starts, indices, values },
    integrality: new Int32Array(numCols).fill(highs.constants.variableType.integer),
  };
}

export const highsBackend: MilpBackend = {
  name: 'highs',
  async solve(model, timeLimitSec): Promise<MilpResult> {
    const highs = await loadHighs();
    const instance = highs.createModel();
    try {
      instance.options.set({
        output_flag: false,
        // The defaults (1e-4 relative, 1e-6 absolute) stop short of the optimum on small-cost plans.
        mip_rel_gap: 0,
        mip_abs_gap: 0,
        time_limit: Math.max(timeLimitSec, 0.001),
      });
      instance.passModel(toModelData(highs, model));
      const { modelStatus } = instance.run();
      const codes = highs.constants.modelStatus;
      const hasPoint =
        instance.info.get('primal_solution_status') === highs.constants.solutionStatus.feasible;
      const point = (): Pick<MilpResult, 'columnValues' | 'objective'> => {
        const values = instance.getSolution().colValue;
        return { columnValues: (column) => values[column]!, objective: instance.getObjectiveValue() };
      };
      switch (modelStatus) {
        case codes.optimal:
          return { status: 'optimal', ...point() };
        // Binaries keep the model bounded, so "infeasible or unbounded" can only mean infeasible.
        case codes.infeasible:
        case codes.unboundedOrInfeasible:
          return { status: 'infeasible', columnValues: null, objective: null };
        case codes.timeLimit:
        case codes.interrupted:
        case codes.iterationLimit:
        case codes.solutionLimit:
          return hasPoint
            ? { status: 'feasible', ...point() }
            : { status: 'timeout', columnValues: null, objective: null };
        default:
          throw new SolverBackendError('highs', `model status ${modelStatus}`);
      }
    } finally {
      instance.dispose();
    }
  },
};
