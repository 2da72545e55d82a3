/**
 * Exact decomposition of a problem without a memory budget at its articulation points (blocks.ts): a block
 * hung below articulation point p is solved once per strategy k of p, with p fixed to k; what the best
 * completion below each articulation point costs, per strategy, is added to that point's cost in the block
 * above. Connected components are the forest's separate trees. Each block is handed to `solveBlock` (the
 * elimination DP where the block is narrow, a MILP where it is not), so a graph too wide to eliminate as a
 * whole is solved as several smaller problems. With a memory budget the blocks would have to exchange
 * (cost, memory) frontiers rather than costs, which the MILP backends cannot give: not done here.
 */
import { blockForest, type RootedBlock } from './blocks.ts';
import type { IlpProblem, IlpStatus } from './problem.ts';

/** What a block solve must report: a proven optimum (or infeasibility), or nothing usable. */
export interface BlockAnswer {
  readonly status: IlpStatus;
  readonly choice: readonly number[] | null;
  readonly objective: number | null;
}

export type BlockSolver = (block: IlpProblem) => Promise<BlockAnswer>;

export type DecomposedAnswer =
  | { readonly status: 'optimal'; readonly choice: number[] }
  | { readonly status: 'infeasible' }
  /** A block solve ran out of time or was not proven: the caller solves the whole problem instead. */
  | { readonly status: 'unproven' };

/** Blocks of `problem` when there is more than one (otherwise decomposing gains nothing), else null. */
export function blocksWorthSplitting(problem: IlpProblem): RootedBlock[] | null {
  const blocks = blockForest(
    problem.nodes.length,
    problem.edges.map((e) => [e.from, e.to] as const),
  );
  return blocks.length > 1 ? blocks : null;
}

interface Solved {
  /** Per strategy of the block's parent (one entry for a root block): the best cost below, or Infinity. */
  readonly value: number[];
  /** Per strategy of the parent: the block's choice (by position in block.nodes), or null. */
  readonly choices: (readonly number[] | null)[];
}

export async function solveByBlocks(
  problem: IlpProblem,
  blocks: readonly RootedBlock[],
  solveBlock: BlockSolver,
): Promise<DecomposedAnswer> {
  // Below each articulation point, per strategy: the summed values of the blocks hung from it.
  const below = new Map<number, number[]>();
  const solved: Solved[] = new Array(blocks.length);
  for (let b = blocks.length - 1; b >= 0; b--) {
    const block = blocks[b]!;
    const parentStrategies = block.parent < 0 ? [-1] : problem.nodes[block.parent]!.cost.map((_, k) => k);
    const result: Solved = { value: [], choices: [] };
    for (const k of parentStrategies) {
      const answer = await solveBlock(blockProblem(problem, block, k, below));
      if (answer.status === 'infeasible') {
        result.value.push(Number.POSITIVE_INFINITY);
        result.choices.push(null);
      } else if (answer.status === 'optimal') {
        result.value.push(answer.objective!);
        result.choices.push(answer.choice);
      } else return { status: 'unproven' };
    }
    solved[b] = result;
    if (block.parent >= 0) {
      const sum = below.get(block.parent) ?? result.value.map(() => 0);
      below.set(
        block.parent,
        sum.map((s, k) => s + result.value[k]!),
      );
    }
  }
  return readBack(problem, blocks, solved);
}

/**
 * The block as a problem of its own: its parent fixed to strategy k (one strategy, no cost: the parent's
 * cost is counted in the block above), every other articulation point carrying what hangs below it.
 */
function blockProblem(
  problem: IlpProblem,
  block: RootedBlock,
  k: number,
  below: ReadonlyMap<number, readonly number[]>,
): IlpProblem {
  const local = new Map(block.nodes.map((v, i) => [v, i]));
  const nodes = block.nodes.map((v) => {
    const node = problem.nodes[v]!;
    if (v === block.parent) return { cost: [0], memory: [node.memory[k]!] };
    const extra = below.get(v);
    return { cost: node.cost.map((c, s) => c + (extra?.[s] ?? 0)), memory: node.memory };
  });
  const pick = (v: number, row: readonly number[]) => (v === block.parent ? [row[k]!] : row);
  const edges = block.edges.map((e) => {
    const edge = problem.edges[e]!;
    const rows = edge.from === block.parent ? [edge.cost[k]!] : edge.cost;
    return {
      from: local.get(edge.from)!,
      to: local.get(edge.to)!,
      cost: rows.map((row) => pick(edge.to, row)),
    };
  });
  return { nodes, edges, memoryBudget: null, timeLimitSec: problem.timeLimitSec };
}

/** Root blocks' choices first, then each block's choice under the strategy its parent got above. */
function readBack(
  problem: IlpProblem,
  blocks: readonly RootedBlock[],
  solved: readonly Solved[],
): DecomposedAnswer {
  const choice = problem.nodes.map(() => -1);
  for (let b = 0; b < blocks.length; b++) {
    const block = blocks[b]!;
    const at = block.parent < 0 ? 0 : choice[block.parent]!;
    const blockChoice = solved[b]!.choices[at];
    if (blockChoice === null || blockChoice === undefined) return { status: 'infeasible' };
    block.nodes.forEach((v, i) => {
      if (v !== block.parent) choice[v] = blockChoice[i]!;
    });
  }
  return { status: 'optimal', choice };
}
