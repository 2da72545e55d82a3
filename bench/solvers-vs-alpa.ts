/**
 * meshplan's intra-op ILP against Alpa's own route (its ≤ formulation, unpreprocessed, through the `cbc`
 * binary with a thread per core, as PuLP calls it), instance by instance on the Alpa-form family, in one run.
 * Issue 16's targets: every instance CBC proves, meshplan proves in at most half CBC's time; where CBC does
 * not prove, meshplan proves or returns an incumbent at least as good; a 20-op solve in ≤ 20 ms.
 */
import { availableParallelism } from 'node:os';
import { cbcAvailable, runCbc } from '../solvers/backends/cbc.ts';
import { readSelection } from '../solvers/backends/linearise.ts';
import { writeLpFile } from '../solvers/backends/lp-file.ts';
import { evaluateChoice, solveIlp, solveIlpIsolated } from '../solvers/index.ts';
import type { IlpProblem } from '../solvers/problem.ts';
import { alpaLinearModel } from './alpa-formulation.ts';
import { type AlpaShape, alpaFamily, alpaInstance } from './alpa-instances.ts';
import { median, writeResults } from './results-io.ts';

interface SideResult {
  readonly status: string;
  readonly objective: number | null;
  readonly sec: number;
}

/** Alpa's route: write the ≤ model, run cbc, price the returned choice with meshplan's own evaluator. */
async function solveLikeAlpa(problem: IlpProblem): Promise<SideResult> {
  const started = performance.now();
  const model = alpaLinearModel(problem);
  // Alpa hands PuLP's CBC as many threads as the machine has cores (multiprocessing.cpu_count()).
  const run = await runCbc(writeLpFile(model), problem.timeLimitSec, { threads: availableParallelism() });
  const sec = (performance.now() - started) / 1000;
  if (run.status === 'infeasible') return { status: 'infeasible', objective: null, sec };
  if (run.values === null) return { status: 'timeout', objective: null, sec };
  const values = run.values;
  const selection = readSelection(model, (column) => values.get(model.columnNames[column]!) ?? 0);
  const choice = selection.map((row) => row.findIndex((x) => x > 0.5));
  const evaluation = evaluateChoice(problem, choice);
  return {
    status: run.status === 'optimal' ? 'optimal' : 'feasible',
    objective: evaluation.feasible ? evaluation.objective : null,
    sec,
  };
}

/** Through the killable thread runner, as the service and the CLI solve (a reused thread: no start-up). */
async function solveWithMeshplan(problem: IlpProblem): Promise<SideResult> {
  const started = performance.now();
  const solution = await solveIlpIsolated(problem);
  return {
    status: `${solution.status} (${solution.backend})`,
    objective: solution.objective,
    sec: (performance.now() - started) / 1000,
  };
}

const proven = (r: SideResult) => r.status.startsWith('optimal');
const atLeastAsGood = (a: number | null, b: number | null) =>
  a !== null && (b === null || a <= b * (1 + 1e-9) + 1e-12);

/**
 * Median wall time of 20-op solves through solveIlpIsolated (the killable runner the service and the CLI
 * use), after one warm-up solve: chains and DAGs, 4 and 8 strategies, with and without a budget.
 */
async function twentyOpSolveMs(shape: AlpaShape): Promise<number> {
  const walls: number[] = [];
  for (const strategies of [4, 8] as const) {
    for (let seed = 0; seed < 6; seed++) {
      const budgetFraction = seed % 2 === 0 ? null : 0.3;
      const problem = alpaInstance({ shape, ops: 20, strategies, budgetFraction, seed, timeLimitSec: 10 });
      const started = performance.now();
      await solveIlpIsolated(problem);
      walls.push(performance.now() - started);
    }
  }
  return median(walls);
}

export async function runSolversVsAlpa(timeLimitSec: number): Promise<void> {
  if (!cbcAvailable()) {
    process.stdout.write(
      'cbc is not on PATH (apt-get install coinor-cbc): skipping the comparison with Alpa\n',
    );
    return;
  }
  // Solves first, so that the one-off start of a thread and its solvers is not charged to an instance.
  await twentyOpSolveMs('chain');
  await solveIlp(
    alpaInstance({ shape: 'dag', ops: 20, strategies: 4, budgetFraction: 0.3, seed: 0, timeLimitSec: 5 }),
  );
  const rows = [];
  // ILP_BENCH_ONLY=regex runs a subset of the family (e.g. "budget" or "dag 400").
  const only = new RegExp(process.env.ILP_BENCH_ONLY ?? '');
  for (const { name, problem } of alpaFamily(timeLimitSec).filter((i) => only.test(i.name))) {
    const cbc = await solveLikeAlpa(problem);
    const meshplan = await solveWithMeshplan(problem);
    const row = {
      instance: name,
      ops: problem.nodes.length,
      edges: problem.edges.length,
      cbc,
      meshplan,
      ratioCbcOverMeshplan: cbc.sec / meshplan.sec,
      sameObjective:
        cbc.objective !== null &&
        meshplan.objective !== null &&
        Math.abs(cbc.objective - meshplan.objective) <= 1e-7 * Math.max(1e-9, Math.abs(cbc.objective)),
    };
    rows.push(row);
    process.stdout.write(
      `${name.padEnd(30)} cbc ${cbc.status} ${cbc.sec.toFixed(2)} s ${cbc.objective?.toPrecision(8)} | meshplan ${meshplan.status} ${meshplan.sec.toFixed(3)} s ${meshplan.objective?.toPrecision(8)} | ratio ${row.ratioCbcOverMeshplan.toFixed(1)}\n`,
    );
  }
  const cbcProved = rows.filter((r) => proven(r.cbc));
  const cbcOpen = rows.filter((r) => !proven(r.cbc));
  const summary = {
    instances: rows.length,
    cbcProved: cbcProved.length,
    provedByMeshplanInHalfCbcTime: cbcProved.filter(
      (r) => proven(r.meshplan) && r.meshplan.sec <= r.cbc.sec / 2,
    ).length,
    provedByMeshplanAtAll: cbcProved.filter((r) => proven(r.meshplan)).length,
    sameObjectiveWhereBothProved: rows.filter((r) => proven(r.cbc) && proven(r.meshplan) && r.sameObjective)
      .length,
    bothProved: rows.filter((r) => proven(r.cbc) && proven(r.meshplan)).length,
    cbcNotProved: cbcOpen.length,
    cbcNotProvedMeshplanProvedOrAsGood: cbcOpen.filter(
      (r) => proven(r.meshplan) || atLeastAsGood(r.meshplan.objective, r.cbc.objective),
    ).length,
    medianRatioCbcOverMeshplan: median(rows.map((r) => r.ratioCbcOverMeshplan)),
    twentyOpChainSolveMedianMs: await twentyOpSolveMs('chain'),
    twentyOpDagSolveMedianMs: await twentyOpSolveMs('dag'),
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  writeResults('solvers-vs-alpa', {
    timeLimitSec,
    targets:
      'CBC-proven instances proven by meshplan in ≤ ½ CBC time; others proven or incumbent ≥ as good; 20-op solve ≤ 20 ms',
    summary,
    rows,
  });
}
