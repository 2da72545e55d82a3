/**
 * Metamorphic properties of solveIlp: changes to a problem that cannot change its optimum must not change
 * the answer. The problems are larger than brute force allows, so the solver is compared with itself.
 */
import { describe, expect, it } from 'vitest';
import { solveIlp } from '../../solvers/ilp.ts';
import type { BackendChoice, IlpProblem } from '../../solvers/problem.ts';
import { createRng, randomProblem } from '../../solvers/random.ts';
import { sameObjective } from './oracle.ts';

/** Copies strategy `k` of node `v` as a new last strategy that is no better anywhere and worse somewhere. */
function withDominatedStrategy(problem: IlpProblem, v: number, k: number, extra: number): IlpProblem {
  const nodes = problem.nodes.map((node, u) =>
    u === v
      ? { cost: [...node.cost, node.cost[k]! + extra], memory: [...node.memory, node.memory[k]! + 1] }
      : node,
  );
  const edges = problem.edges.map((edge) => {
    if (edge.from === v) return { ...edge, cost: [...edge.cost, edge.cost[k]!.map((c) => c + extra)] };
    if (edge.to === v) return { ...edge, cost: edge.cost.map((row) => [...row, row[k]! + extra]) };
    return edge;
  });
  return { ...problem, nodes, edges };
}

function withZeroEdge(problem: IlpProblem, from: number, to: number): IlpProblem {
  const cost = problem.nodes[from]!.cost.map(() => problem.nodes[to]!.cost.map(() => 0));
  return { ...problem, edges: [...problem.edges, { from, to, cost }] };
}

/** Reverses the strategy order of node v everywhere. */
function withReversedStrategies(problem: IlpProblem, v: number): IlpProblem {
  const nodes = problem.nodes.map((node, u) =>
    u === v ? { cost: [...node.cost].reverse(), memory: [...node.memory].reverse() } : node,
  );
  const edges = problem.edges.map((edge) => {
    let cost = edge.cost.map((row) => [...row]);
    if (edge.from === v) cost = cost.reverse();
    if (edge.to === v) cost = cost.map((row) => row.reverse());
    return { ...edge, cost };
  });
  return { ...problem, nodes, edges };
}

async function optimum(problem: IlpProblem, backend: BackendChoice): Promise<number | null> {
  const solution = await solveIlp(problem, { backend });
  expect(['optimal', 'infeasible']).toContain(solution.status);
  return solution.objective;
}

function expectSame(a: number | null, b: number | null, where: string) {
  if (a === null || b === null) expect(a, where).toBe(b);
  else expect(sameObjective(a, b), `${where}: ${a} vs ${b}`).toBe(true);
}

describe('metamorphic properties', () => {
  const cases = Array.from({ length: 30 }, (_, i) => ({
    seed: 20_000 + i,
    problem: randomProblem({
      seed: 20_000 + i,
      nodes: 8 + (i % 8),
      strategies: [2, 5],
      edgeProbability: 0.25,
      budget: i % 2 === 0 ? 0.3 : null,
      forbiddenProbability: i % 3 === 0 ? 0.1 : 0,
    }),
  }));

  // HiGHS costs ~100 ms a solve here, so it sees a third of the cases.
  for (const [backend, count] of [
    ['auto', cases.length],
    ['highs', 10],
  ] as const) {
    it(`${backend}: a dominated strategy, a zero-cost edge or reordered strategies change nothing`, async () => {
      for (const { seed, problem } of cases.slice(0, count)) {
        const rng = createRng(seed);
        const pick = (n: number) => Math.floor(rng() * n);
        const base = await optimum(problem, backend);
        const v = pick(problem.nodes.length);
        const k = pick(problem.nodes[v]!.cost.length);
        expectSame(
          await optimum(withDominatedStrategy(problem, v, k, 0.5 + rng()), backend),
          base,
          `seed ${seed} dominated`,
        );
        const [a, b] = [pick(problem.nodes.length), pick(problem.nodes.length)];
        if (a !== b)
          expectSame(
            await optimum(withZeroEdge(problem, Math.min(a, b), Math.max(a, b)), backend),
            base,
            `seed ${seed} zero edge`,
          );
        expectSame(await optimum(withReversedStrategies(problem, v), backend), base, `seed ${seed} reversed`);
      }
    });
  }

  it('auto and highs agree on these problems', async () => {
    for (const { seed, problem } of cases.slice(10, 20)) {
      expectSame(await optimum(problem, 'auto'), await optimum(problem, 'highs'), `seed ${seed}`);
    }
  });
});
