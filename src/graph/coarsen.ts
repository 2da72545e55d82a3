import type { GraphOp, OpGraph } from './graph.ts';

/** Ops grouped for the ILP: each group is one leader plus the ops that follow its layout. */
export interface Coarsening {
  /** leaderOf[op] = index of the op whose strategy decides this op's layout (itself for leaders). */
  readonly leaderOf: readonly number[];
  /** For a follower, which of its inputs carries the leader's layout; null for leaders. */
  readonly followedInput: readonly (number | null)[];
  /** Leaders in topological order; each is one ILP node. */
  readonly leaders: readonly number[];
  readonly members: ReadonlyMap<number, readonly number[]>;
}

const FOLLOWING_KINDS = new Set(['elementwise', 'add', 'dropout', 'reshape']);

/**
 * The input an op could follow: it is elementwise or a transpose, exactly one input is an
 * activation written by another op, that input carries exactly the output's dims, and every other
 * input is a parameter (a bias, a scale). Alpa merges such ops into their operand because their
 * best layout is the operand's: resharding before a cheap op never pays.
 */
function followableInput(op: GraphOp, graph: OpGraph): number | null {
  if (!FOLLOWING_KINDS.has(op.kind)) return null;
  let candidate: number | null = null;
  for (const [i, name] of op.inputs.entries()) {
    const t = graph.tensors.get(name)!;
    if (t.param) continue;
    if (t.producer === null || candidate !== null) return null;
    candidate = i;
  }
  if (candidate === null) return null;
  const letters = op.einsum.inputs[candidate]!;
  const out = op.einsum.output;
  return letters.length === out.length && [...letters].every((l) => out.includes(l)) ? candidate : null;
}

export function coarsen(graph: OpGraph): Coarsening {
  const leaderOf: number[] = [];
  const followedInput: (number | null)[] = [];
  const members = new Map<number, number[]>();
  for (const op of graph.ops) {
    const input = followableInput(op, graph);
    const leader = input === null ? op.index : leaderOf[graph.tensors.get(op.inputs[input]!)!.producer!]!;
    leaderOf.push(leader);
    followedInput.push(input);
    if (leader === op.index) members.set(leader, [leader]);
    else members.get(leader)!.push(op.index);
  }
  return { leaderOf, followedInput, leaders: [...members.keys()], members };
}
