/**
 * GLPK (glpk.js, WebAssembly). `glpk.js/node` is the synchronous build; the package's default export
 * spawns a browser Web Worker. Loaded once per thread and reused.
 */
import GLPK, { type GLPK as Glpk, type LP } from 'glpk.js/node';
import { SolverBackendError } from '../errors.ts';
import type { MilpBackend, MilpResult } from './backend.ts';
import type { LinearModel } from './linearise.ts';

let loaded: Promise<Glpk> | undefined;

function loadGlpk(): Promise<Glpk> {
  loaded ??= GLPK();
  return loaded;
}

/** glpk.js turns `tmlim` into integer milliseconds; Infinity would overflow to 0 (stop at once). */
const LONGEST_TIME_LIMIT_SEC = 1e6;

function toLp(glpk: Glpk, model: LinearModel): LP {
  const names = model.columnNames;
  const bounds = (lower: number, upper: number) => {
    if (lower === upper) return { type: glpk.GLP_FX, lb: lower, ub: upper };
    if (Number.isFinite(lower))
      return { type: Number.isFinite(upper) ? glpk.GLP_DB : glpk.GLP_LO, lb: lower, ub: upper };
    return { type: glpk.GLP_UP, lb: 0, ub: upper };
  };
  return {
    name: 'meshplan',
    objective: {
      direction: glpk.GLP_MIN,
      name: 'cost',
      vars: model.columnCosts.map((coef, column) => ({ name: names[column]!, coef })),
    },
    subjectTo: model.rows.map((row, r) => ({
      name: `r${r}`,
      vars: row.columns.map((column, j) => ({ name: names[column]!, coef: row.coefficients[j]! })),
      bnds: bounds(row.lower, row.upper),
    })),
    binaries: [...names],
  };
}

export const glpkBackend: MilpBackend = {
  name: 'glpk',
  async solve(model, timeLimitSec): Promise<MilpResult> {
    const glpk = await loadGlpk();
    const tmlim = Math.min(timeLimitSec, LONGEST_TIME_LIMIT_SEC);
    const started = performance.now();
    const { result } = glpk.solve(toLp(glpk, model), {
      mipgap: 0,
      tmlim,
      msglev: glpk.GLP_MSG_OFF,
      presol: true,
    });
    const elapsedSec = (performance.now() - started) / 1000;
    const point = {
      columnValues: (column: number) => result.vars[model.columnNames[column]!] ?? 0,
      objective: result.z,
    };
    switch (result.status) {
      case glpk.GLP_OPT:
        return { status: 'optimal', ...point };
      case glpk.GLP_FEAS:
        return { status: 'feasible', ...point };
      case glpk.GLP_NOFEAS:
        return { status: 'infeasible', columnValues: null, objective: null };
      case glpk.GLP_UNDEF:
        // Undefined also covers internal failures; only call it a timeout when the time was used up.
        if (elapsedSec >= 0.9 * tmlim) return { status: 'timeout', columnValues: null, objective: null };
        throw new SolverBackendError('glpk', `undefined solution after ${elapsedSec.toFixed(3)} s`);
      default:
        throw new SolverBackendError('glpk', `status ${result.status}`);
    }
  },
};
