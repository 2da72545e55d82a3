/**
 * Seeded instances shaped like the ILPs Alpa's auto-sharding pass writes: every operator has a few
 * sharding strategies, each with a compute cost (the op's FLOPs over the devices it splits across), a
 * communication cost (an all-reduce of partial sums for strategies that split the contracted axis) and a
 * per-device memory (its tensors over that degree); every edge has a resharding matrix that is zero where
 * the producer's output layout is the layout the consumer wants, and an all-gather / all-to-all of the
 * tensor otherwise. Graphs are chains, or DAGs with residual skips and occasional fan-in from a few ops
 * back (attention's q/k/v, MLP branches). Budgets bind at a fraction t of the way between the least and
 * the most memory any choice can use.
 */

import type { IlpEdge, IlpNode, IlpProblem } from '../solvers/problem.ts';
import { createRng } from '../solvers/random.ts';

export type AlpaShape = 'chain' | 'dag';

export interface AlpaInstanceSpec {
  readonly shape: AlpaShape;
  readonly ops: number;
  /** Strategies per op: 4 (a 1-D mesh of 4) or 8 (a 2-D mesh). */
  readonly strategies: 4 | 8;
  /** null: no budget; t in [0.05, 0.6]: budget = least + t·(most − least). */
  readonly budgetFraction: number | null;
  readonly seed: number;
  readonly timeLimitSec: number;
}

/** A100-like figures; only their ratios matter to the solvers. */
const FLOPS_PER_SEC = 1.5e14;
const BYTES_PER_SEC = 1e11;
const DEVICES = 8;

interface Strategy {
  /** Devices the op is split across (1 = replicated). */
  readonly degree: number;
  /** Layout label of the output; the consumer pays nothing when it wants this label. */
  readonly outLayout: number;
  /** Layout label this strategy wants its input in. */
  readonly inLayout: number;
  /** Whether the split axis is contracted, leaving partial sums to all-reduce. */
  readonly partialSums: boolean;
}

function strategiesFor(count: number, rng: () => number): Strategy[] {
  const degrees = count === 4 ? [1, 4, 4, 4] : [1, 2, 2, 4, 4, 8, 8, 8];
  return degrees.map((degree, k) => {
    const layout = degree === 1 ? 0 : 1 + (k % 3);
    return {
      degree,
      outLayout: layout,
      // Most strategies want the input as they produce the output (data-parallel style); some want another.
      inLayout: rng() < 0.7 ? layout : Math.floor(rng() * 4),
      partialSums: degree > 1 && rng() < 0.35,
    };
  });
}

function edgePairs(spec: AlpaInstanceSpec, rng: () => number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 1; i < spec.ops; i++) {
    pairs.push([i - 1, i]);
    if (spec.shape === 'dag') {
      // A residual skip every few ops and an occasional extra input from up to 6 ops back.
      if (i % 4 === 0 && i >= 4) pairs.push([i - 4, i]);
      if (rng() < 0.3 && i >= 2) pairs.push([i - 2 - Math.floor(rng() * Math.min(5, i - 1)), i]);
    }
  }
  const seen = new Set<string>();
  return pairs.filter(([a, b]) => !seen.has(`${a},${b}`) && seen.add(`${a},${b}`) !== undefined);
}

export function alpaInstance(spec: AlpaInstanceSpec): IlpProblem {
  const rng = createRng(spec.seed);
  // Tensor sizes and FLOPs spread over two orders of magnitude, as between layer norms and GEMMs.
  const bytes = Array.from({ length: spec.ops }, () => 2 ** (20 + rng() * 7));
  const flops = bytes.map((b) => b * (rng() < 0.4 ? 4096 : 8));
  const strategies = bytes.map(() => strategiesFor(spec.strategies, rng));
  const nodes: IlpNode[] = strategies.map((options, v) => ({
    cost: options.map((s) => {
      const compute = flops[v]! / (s.degree * FLOPS_PER_SEC);
      const allReduce = s.partialSums ? (2 * (s.degree - 1) * bytes[v]!) / (s.degree * BYTES_PER_SEC) : 0;
      return compute + allReduce;
    }),
    // Weights and activations over the split; replicated ops keep the whole tensor on every device.
    memory: options.map((s) => Math.round((3 * bytes[v]!) / s.degree)),
  }));
  const edges: IlpEdge[] = edgePairs(spec, rng).map(([from, to]) => ({
    from,
    to,
    cost: strategies[from]!.map((produced) =>
      strategies[to]!.map((wanted) => {
        if (produced.outLayout === wanted.inLayout) return 0;
        // Gathering a sharded tensor moves (d − 1)/d of it; re-splitting a replicated one is local slicing,
        // priced as a small copy; between two shardings, an all-to-all.
        const tensor = bytes[from]!;
        if (produced.degree === 1) return tensor / (DEVICES * BYTES_PER_SEC);
        return ((produced.degree - 1) / produced.degree) * (tensor / BYTES_PER_SEC);
      }),
    ),
  }));
  const least = nodes.reduce((sum, n) => sum + Math.min(...n.memory), 0);
  const most = nodes.reduce((sum, n) => sum + Math.max(...n.memory), 0);
  const memoryBudget =
    spec.budgetFraction === null ? null : Math.floor(least + spec.budgetFraction * (most - least)) + 0.5;
  return { nodes, edges, memoryBudget, timeLimitSec: spec.timeLimitSec };
}

/** The 40-instance family of issue 16: chains and DAGs × 20–400 ops × 4/8 strategies × without/with budget. */
export function alpaFamily(timeLimitSec: number): { name: string; problem: IlpProblem }[] {
  const family: { name: string; problem: IlpProblem }[] = [];
  let seed = 1;
  for (const shape of ['chain', 'dag'] as const) {
    for (const ops of [20, 50, 100, 200, 400]) {
      for (const strategies of [4, 8] as const) {
        for (const budgeted of [false, true]) {
          seed++;
          // Budgets bind somewhere between 5% and 60% of the way from the least to the most memory.
          const budgetFraction = budgeted ? 0.05 + 0.55 * createRng(seed * 7919)() : null;
          const name = `${shape} ${ops}x${strategies} ${budgeted ? `budget t=${budgetFraction!.toFixed(2)}` : 'no budget'}`;
          family.push({
            name,
            problem: alpaInstance({ shape, ops, strategies, budgetFraction, seed, timeLimitSec }),
          });
        }
      }
    }
  }
  return family;
}
