import type { GraphOp } from '../graph/graph.ts';
import type { AxisLayout, Layout } from './layout.ts';

/**
 * A strategy of an op on a 2-D mesh: which einsum letter each mesh axis splits (null: the op's
 * computation is replicated along that axis). Both axes may split the same letter.
 */
export interface OpStrategy {
  readonly split: readonly [string | null, string | null];
  /**
   * For an op that reduces its own partial output: the output letter each such axis
   * reduce-scatters onto (null: all-reduce to replicated). Megatron's sequence parallelism is
   * the row-parallel matmul reduce-scattering onto s.
   */
  readonly scatter?: readonly [string | null, string | null];
  /**
   * For a routing op (GraphOp.routes) whose axis splits a token dim: the slot letter that split lands
   * on in the operands (and output) that hold slots rather than tokens. Those hold the slots of this
   * device's tokens: disjoint pieces, not partial sums (see `routedStrategy`).
   */
  readonly slots?: readonly [string | null, string | null];
  /**
   * A mesh axis over which the framework all-gathers the op's whole output and slices its own shard
   * back out, the layout unchanged (Megatron-LM's QKV output when tp exceeds the key/value heads):
   * the output crosses the axis forward and its gradient is reduce-scattered backward.
   */
  readonly gathersOutputOn?: 0 | 1;
}

export interface EnumerateOptions {
  /** The op resolves its partial output itself (see intra-op.ts); adds the reduce-scatter variants. */
  readonly reducesOutput: boolean;
  /**
   * Allow a matmul to leave a mesh axis unused (replicated compute). Alpa forbids it by default
   * (its cost is "infinity" unless allow_recompute_heavy_op): it repeats the heaviest work.
   */
  readonly allowReplicatedMatmul: boolean;
  /** Letters a mesh axis may not split (a pinned tensor-parallel axis must not carry the batch). */
  readonly forbidden?: readonly [readonly string[], readonly string[]];
}

export function strategyLabel(s: OpStrategy): string {
  const [a, b] = s.split;
  let label: string;
  if (a === null && b === null) label = 'replicated';
  else if (a !== null && a === b) label = `${a}@{0,1}`;
  else
    label = [a === null ? null : `${a}@0`, b === null ? null : `${b}@1`].filter((x) => x !== null).join(',');
  const scatter = (s.scatter ?? [null, null]).flatMap((l, j) => (l === null ? [] : [`RS ${l}@${j}`]));
  return scatter.length === 0 ? label : `${label} (${scatter.join(', ')})`;
}

/** Every valid strategy of an op on a mesh with these axis sizes. */
export function enumerateStrategies(
  op: GraphOp,
  axisSizes: readonly [number, number],
  options: EnumerateOptions,
): OpStrategy[] {
  const choices = (size: number): (string | null)[] => (size > 1 ? [null, ...op.einsum.letters] : [null]);
  const out: OpStrategy[] = [];
  for (const a of choices(axisSizes[0])) {
    for (const b of choices(axisSizes[1])) {
      const strategy: OpStrategy = { split: [a, b] };
      if (!isValid(op, strategy, axisSizes, options)) continue;
      out.push(strategy);
      if (options.reducesOutput) out.push(...scatterVariants(op, strategy, axisSizes));
    }
  }
  return out;
}

/** Reduce-scatter instead of all-reduce on each contracted axis, onto an output letter left whole. */
export function scatterVariants(
  op: GraphOp,
  strategy: OpStrategy,
  axisSizes: readonly [number, number],
): OpStrategy[] {
  const contracted = (j: 0 | 1) => {
    const l = strategy.split[j];
    return l !== null && op.einsum.contracted.includes(l);
  };
  const targets = (j: 0 | 1): (string | null)[] =>
    contracted(j)
      ? [null, ...[...op.einsum.output].filter((l) => l !== strategy.split[0] && l !== strategy.split[1])]
      : [null];
  const variants: OpStrategy[] = [];
  for (const t0 of targets(0)) {
    for (const t1 of targets(1)) {
      if ((t0 === null && t1 === null) || (t0 !== null && t0 === t1)) continue;
      const ways = (l: string | null, j: 0 | 1) =>
        l === null ? true : (op.dimSize[l] ?? 0) % axisSizes[j] === 0;
      if (ways(t0, 0) && ways(t1, 1)) variants.push({ split: strategy.split, scatter: [t0, t1] });
    }
  }
  return variants;
}

export function isValid(
  op: GraphOp,
  strategy: OpStrategy,
  axisSizes: readonly [number, number],
  options: EnumerateOptions,
): boolean {
  const ways: Record<string, number> = {};
  for (const j of [0, 1] as const) {
    const letter = strategy.split[j];
    if (letter === null) {
      if (
        (op.kind === 'matmul' || op.kind === 'attention') &&
        axisSizes[j] > 1 &&
        !options.allowReplicatedMatmul
      )
        return false;
      continue;
    }
    if (op.reducedDims.has(letter) || options.forbidden?.[j].includes(letter)) return false;
    ways[letter] = (ways[letter] ?? 1) * axisSizes[j];
  }
  // A device's rows must cover the halo its neighbours need from it.
  return Object.entries(ways).every(
    ([letter, n]) =>
      (op.dimSize[letter] ?? 0) % n === 0 && (op.dimSize[letter] ?? 0) / n >= (op.halo.get(letter) ?? 0),
  );
}

/** The layout of an operand whose dims carry `letters`, as the op reads it (never partial). */
export function operandLayout(strategy: OpStrategy, letters: string): Layout {
  const axis = (j: 0 | 1): AxisLayout => {
    const letter = strategy.split[j];
    const d = letter === null ? -1 : letters.indexOf(letter);
    if (d >= 0) return d;
    const slot = strategy.slots?.[j] ?? null;
    const s = slot === null ? -1 : letters.indexOf(slot);
    return s >= 0 ? s : 'R';
  };
  return [axis(0), axis(1)];
}

/**
 * The layout of the op's output. An axis that splits a contracted letter leaves the output partial
 * on it; when `keepPartial` is false the op all-reduces it itself and the output is replicated there.
 */
export function outputLayout(op: GraphOp, strategy: OpStrategy, keepPartial: boolean): Layout {
  const base = operandLayout(strategy, op.einsum.output);
  const axis = (j: 0 | 1): AxisLayout => {
    const letter = strategy.split[j];
    if (letter !== null && op.einsum.contracted.includes(letter) && (strategy.slots?.[j] ?? null) === null) {
      if (keepPartial) return 'P';
      const onto = strategy.scatter?.[j] ?? null;
      return onto === null ? 'R' : op.einsum.output.indexOf(onto);
    }
    return base[j];
  };
  return [axis(0), axis(1)];
}

/**
 * The layout of the gradient the op hands back for an operand: partial on every axis that splits
 * a dim the operand lacks (DESIGN.md §4, backward rule).
 */
export function operandGradientLayout(strategy: OpStrategy, letters: string): Layout {
  const base = operandLayout(strategy, letters);
  const axis = (j: 0 | 1): AxisLayout => (strategy.split[j] !== null && base[j] === 'R' ? 'P' : base[j]);
  return [axis(0), axis(1)];
}

/**
 * The strategy a follower inherits: each mesh axis splits the follower's letter sitting at the dim
 * its followed input is split on.
 */
export function followerStrategy(follower: GraphOp, followedInput: number, inputLayout: Layout): OpStrategy {
  const letters = follower.einsum.inputs[followedInput]!;
  const letter = (a: AxisLayout): string | null => (typeof a === 'number' ? letters[a]! : null);
  return { split: [letter(inputLayout[0]), letter(inputLayout[1])] };
}

/**
 * The strategy as a routing op runs it: an axis that splits one of its token dims splits the slots
 * too (GraphOp.routes). Megatron-LM's all-to-all dispatcher under sequence parallelism is the case:
 * each tensor-parallel rank routes its own share of the sequence, and its experts' inputs are
 * gathered over the tensor-parallel group after the all-to-all (and reduce-scattered before the one
 * back), not reduced.
 */
export function routedStrategy(op: GraphOp, strategy: OpStrategy): OpStrategy {
  const routes = op.routes;
  if (routes === null) return strategy;
  const slot = (j: 0 | 1) => {
    const letter = strategy.split[j];
    return letter !== null && routes.tokens.includes(letter) ? routes.slots : null;
  };
  const slots: [string | null, string | null] = [slot(0), slot(1)];
  return slots[0] === null && slots[1] === null ? strategy : { ...strategy, slots };
}
