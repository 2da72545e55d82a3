/**
 * Blocks and articulation points against their definition (a node whose removal disconnects its
 * component), and the block-by-block solve against brute force on the whole problem.
 */
import { describe, expect, it } from 'vitest';
import { blockForest } from '../../solvers/blocks.ts';
import { blocksWorthSplitting, solveByBlocks } from '../../solvers/decompose.ts';
import { solveIlp } from '../../solvers/ilp.ts';
import type { IlpProblem } from '../../solvers/problem.ts';
import { randomProblem } from '../../solvers/random.ts';
import { bruteForce, sameObjective } from './oracle.ts';

/** Connected components of the graph without `removed`, by search. */
function componentCount(nodeCount: number, pairs: readonly (readonly [number, number])[], removed = -1) {
  const seen = new Array<boolean>(nodeCount).fill(false);
  let count = 0;
  for (let start = 0; start < nodeCount; start++) {
    if (start === removed || seen[start]) continue;
    count++;
    const stack = [start];
    seen[start] = true;
    while (stack.length > 0) {
      const v = stack.pop()!;
      for (const [a, b] of pairs) {
        const other = a === v ? b : b === v ? a : -1;
        if (other >= 0 && other !== removed && !seen[other]) {
          seen[other] = true;
          stack.push(other);
        }
      }
    }
  }
  return count;
}

/** Sparse random graphs (so that they have articulation points and several components), some self-edges. */
function sparseProblem(seed: number, nodes: number): IlpProblem {
  const base = randomProblem({ seed, nodes, strategies: [1, 3], edgeProbability: 0.15 + (seed % 4) * 0.07 });
  const withSelfEdge =
    seed % 3 === 0
      ? [{ from: 0, to: 0, cost: base.nodes[0]!.cost.map((_, k) => base.nodes[0]!.cost.map(() => k)) }]
      : [];
  return { ...base, edges: [...base.edges, ...withSelfEdge], timeLimitSec: 10 };
}

const pairsOf = (problem: IlpProblem) => problem.edges.map((e) => [e.from, e.to] as const);

describe('blockForest', () => {
  it('finds exactly the articulation points, every edge in one block, every block after its parent', () => {
    for (let seed = 0; seed < 200; seed++) {
      const problem = sparseProblem(seed, 3 + (seed % 10));
      const n = problem.nodes.length;
      const pairs = pairsOf(problem);
      const blocks = blockForest(n, pairs);
      const whole = componentCount(n, pairs);
      const articulation = new Set<number>();
      for (let v = 0; v < n; v++) {
        // Removing v takes one node away: more components than (whole − [v was alone]) means v cut something.
        const isolated = !pairs.some(([a, b]) => a !== b && (a === v || b === v));
        if (componentCount(n, pairs, v) > whole - (isolated ? 1 : 0)) articulation.add(v);
      }
      const memberships = new Array<number>(n).fill(0);
      for (const block of blocks) for (const v of block.nodes) memberships[v]!++;
      const inSeveral = new Set([...memberships.keys()].filter((v) => memberships[v]! > 1));
      expect([...inSeveral].sort(), `seed ${seed}`).toEqual([...articulation].sort());
      expect(
        memberships.every((m) => m >= 1),
        `seed ${seed}`,
      ).toBe(true);
      const edgeUses = blocks.flatMap((b) => b.edges).sort((a, b) => a - b);
      expect(edgeUses, `seed ${seed}`).toEqual(pairs.map((_, e) => e));
      expect(blocks.filter((b) => b.parent < 0).length, `seed ${seed}`).toBe(whole);
      blocks.forEach((block, b) => {
        if (block.parent < 0) return;
        expect(block.nodes, `seed ${seed}`).toContain(block.parent);
        const earlier = blocks.slice(0, b).some((other) => other.nodes.includes(block.parent));
        expect(earlier, `seed ${seed} block ${b}`).toBe(true);
      });
    }
  });
});

describe('solveByBlocks', () => {
  it('equals brute force on the whole problem, with each block solved by a MILP', async () => {
    let split = 0;
    for (let seed = 0; seed < 80; seed++) {
      const problem = sparseProblem(300 + seed, 4 + (seed % 6));
      const blocks = blocksWorthSplitting(problem);
      if (blocks === null) continue;
      split++;
      const answer = await solveByBlocks(problem, blocks, (block) => solveIlp(block, { backend: 'glpk' }));
      const oracle = bruteForce(problem);
      if (oracle.objective === null) {
        expect(answer.status, `seed ${seed}`).toBe('infeasible');
        continue;
      }
      expect(answer.status, `seed ${seed}`).toBe('optimal');
      if (answer.status !== 'optimal') continue;
      let objective = 0;
      problem.nodes.forEach((node, v) => {
        objective += node.cost[answer.choice[v]!]!;
      });
      for (const edge of problem.edges)
        objective += edge.cost[answer.choice[edge.from]!]![answer.choice[edge.to]!]!;
      expect(sameObjective(objective, oracle.objective), `seed ${seed}`).toBe(true);
    }
    expect(split).toBeGreaterThan(40);
  });

  it('lets auto solve a graph too wide for the DP as a whole, block by block, to the MILP optimum', async () => {
    // Two cliques of 9 nodes joined at one node: every elimination order needs a table of 4^9 > 2^17 entries.
    const dense = (seed: number) =>
      randomProblem({ seed, nodes: 9, strategies: 4, edgeProbability: 1, timeLimitSec: 60 });
    const a = dense(1);
    const b = dense(2);
    const shift = a.nodes.length - 1;
    const problem: IlpProblem = {
      nodes: [...a.nodes, ...b.nodes.slice(1)],
      edges: [
        ...a.edges,
        ...b.edges.map((e) => ({ ...e, from: e.from === 0 ? shift : e.from + shift, to: e.to + shift })),
      ],
      memoryBudget: null,
      timeLimitSec: 60,
    };
    expect(blocksWorthSplitting(problem)?.length).toBe(2);
    const decomposed = await solveIlp(problem);
    const whole = await solveIlp(problem, { backend: 'glpk' });
    expect(decomposed.status).toBe('optimal');
    expect(whole.status).toBe('optimal');
    expect(sameObjective(decomposed.objective!, whole.objective!)).toBe(true);
  });
});
