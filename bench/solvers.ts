import gptBlock from '../examples/gpt-block.graph.json' with { type: 'json' };
import { randomProblem, solveIlp, solveIlpIsolated } from '../solvers/index.ts';
import type { BackendChoice, IlpProblem } from '../solvers/problem.ts';
import { resolveCluster } from '../src/cluster/cluster.ts';
import { logicalMesh } from '../src/cluster/mesh.ts';
import { toIlpProblem } from '../src/cost/ilp-problem.ts';
import { buildIntraOpModel } from '../src/cost/intra-op.ts';
import { PARAM_STATE_BYTES } from '../src/cost/memory.ts';
import { parseGraph } from '../src/graph/index.ts';
import { ClusterSpec } from '../src/schema/index.ts';
import { median, writeResults } from './results-io.ts';
import { runSolversVsAlpa } from './solvers-vs-alpa.ts';

const BACKENDS: readonly BackendChoice[] = ['elimination', 'glpk', 'highs', 'lp-solver', 'auto'];
/** javascript-lp-solver's dense tableau: beyond this many ops it takes minutes (STACK-NOTES). */
const LP_SOLVER_MAX_NODES = 50;
const TIME_LIMIT_SEC = 30;

/**
 * In-process solves measure the solver alone; `isolated` runs each in a worker thread killed at the
 * deadline (a MILP backend overruns its own limit), at the price of the worker's start-up.
 */
async function timeSolve(problem: IlpProblem, backend: BackendChoice, repeats: number, isolated: boolean) {
  const walls: number[] = [];
  let outcome: { status: string; objective: number | null; backend: string } = {
    status: 'skipped',
    objective: null,
    backend,
  };
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    try {
      const s = await (isolated ? solveIlpIsolated : solveIlp)(problem, { backend });
      outcome = { status: s.status, objective: s.objective, backend: s.backend };
    } catch (error) {
      outcome = { status: `error: ${(error as Error).name}`, objective: null, backend };
    }
    walls.push((performance.now() - started) / 1000);
  }
  return { ...outcome, medianSec: median(walls) };
}

/** Issue 16's limit per instance in the comparison with Alpa's CBC; `quick` caps it for a short run. */
function alpaComparisonLimitSec(quick: boolean): number {
  const fromEnv = Number(process.env.ILP_BENCH_LIMIT_SEC);
  if (Number.isFinite(fromEnv) && fromEnv > 0) return fromEnv;
  return quick ? 10 : 120;
}

/**
 * Solve time and objective per backend: the GPT block on three meshes, random DAGs of growing size; then
 * meshplan against Alpa's CBC route on the Alpa-form family (bench/solvers-vs-alpa.ts).
 */
export async function runSolvers(quick = false): Promise<void> {
  await runSolversVsAlpa(alpaComparisonLimitSec(quick));
  if (quick) return;
  const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'A100-80GB', nodes: 4, gpusPerNode: 8 }));
  const graph = parseGraph(gptBlock);
  const rows = [];
  for (const shape of [
    [1, 8],
    [2, 4],
    [4, 8],
  ] as [number, number][]) {
    const model = buildIntraOpModel(graph, logicalMesh(cluster, shape), {
      gpu: cluster.gpu,
      paramStateBytesPerParam: PARAM_STATE_BYTES,
    });
    const problem = toIlpProblem(model, null, TIME_LIMIT_SEC);
    for (const backend of BACKENDS) {
      const r = await timeSolve(problem, backend, 3, false);
      rows.push({
        instance: `gpt-block ${shape.join('x')}`,
        nodes: problem.nodes.length,
        requested: backend,
        ...r,
      });
      process.stdout.write(
        `gpt-block ${shape.join('x')} ${backend}: ${r.status} ${r.medianSec.toFixed(3)} s\n`,
      );
    }
  }
  for (const budget of [null, 0.3] as const) {
    for (const nodes of [50, 100, 200, 400]) {
      const problem = randomProblem({
        seed: nodes,
        nodes,
        strategies: 8,
        shape: 'dag',
        edgeProbability: 4 / nodes,
        budget,
        timeLimitSec: TIME_LIMIT_SEC,
      });
      const instance = `random-dag ${nodes}x8 ${budget === null ? 'no budget' : 'binding budget'}`;
      for (const backend of BACKENDS) {
        if (backend === 'lp-solver' && nodes > LP_SOLVER_MAX_NODES) continue;
        const r = await timeSolve(problem, backend, 1, true);
        rows.push({ instance, nodes, requested: backend, ...r });
        process.stdout.write(`${instance} ${backend}: ${r.status} ${r.medianSec.toFixed(3)} s\n`);
      }
    }
  }
  const gptAuto = rows.filter((r) => r.instance.startsWith('gpt-block') && r.requested === 'auto');
  writeResults('solvers', {
    timeLimitSec: TIME_LIMIT_SEC,
    target: 'GPT block proven optimal in ≤ 0.5 s',
    gptBlockAutoMaxSec: Math.max(...gptAuto.map((r) => r.medianSec)),
    gptBlockAllOptimal: gptAuto.every((r) => r.status === 'optimal'),
    rows,
  });
}
