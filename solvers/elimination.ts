/**
 * Exact variable elimination for graphs of small treewidth (chains, residual blocks). Factors are tables
 * over their scope; eliminating a variable multiplies the factors that mention it and minimises it out. The
 * memory budget is handled exactly by keeping, per table entry, the Pareto frontier of (cost, memory) pairs
 * (solvers/pareto.ts). Before the frontiers, the Lagrangian relaxation of the budget (solvers/lagrangian.ts)
 * gives a bound and an incumbent: when they meet, that is the answer; otherwise a point whose bound exceeds
 * the incumbent is dropped from its frontier. Each point remembers which points of its inputs it came from,
 * so the choice is read back top-down at the end. When a table, a frontier or the total work would grow
 * past its bound the DP declines (returns `applicable: false`) and the caller uses a MILP instead.
 */
import { eliminationOrder } from './elimination-order.ts';
import { eliminationSteps, indexIn, stridesOf } from './elimination-steps.ts';
import { type Incumbent, type LagrangianBound, lagrangianBound, PROOF_RELATIVE_GAP } from './lagrangian.ts';
import {
  admissible,
  type Frontier,
  type FrontierPoint,
  type FrontierRules,
  mergeFrontiers,
  minkowskiSum,
  partsOf,
} from './pareto.ts';
import type { BackendAnswer, IlpProblem } from './problem.ts';
import { budgetCeiling } from './verify.ts';

export interface EliminationLimits {
  /** Largest table (product of domain sizes of a variable and its neighbours). Default 2^17. */
  readonly maxTableEntries?: number;
  /** Largest (cost, memory) frontier of one table entry. Default 10 000 (the work bound usually binds first). */
  readonly maxFrontierSize?: number;
  /**
   * Bound on the work: factor reads plus point combinations, ~100-300 ns each, so the default 4e6 gives up
   * within about a second. Wide graphs are declined up front from the elimination order's estimate; with a
   * budget the frontier sizes are only known as they grow.
   */
  readonly maxWork?: number;
  /** performance.now() time after which the DP gives up with status `timeout`. */
  readonly deadlineMs?: number;
}

/**
 * `bound`: with a binding budget, the Lagrangian bound and incumbent found before the frontiers (null
 * without a budget, or when the graph is too wide to eliminate at all); a declined DP leaves them to the MILP.
 */
export type EliminationOutcome =
  | { readonly applicable: true; readonly answer: BackendAnswer; readonly bound: LagrangianBound | null }
  | { readonly applicable: false; readonly reason: string; readonly bound: LagrangianBound | null };

interface Factor {
  /** Original factors first (nodes, then edges), then one per elimination step (elimination-steps.ts). */
  readonly id: number;
  readonly scope: readonly number[];
  /** Entry index = Σ assignment[scope[i]] · strides[i]. */
  readonly strides: readonly number[];
  readonly entries: readonly Frontier[];
  /** The variable minimised out to build this factor; -1 for original factors and the final merge. */
  readonly eliminated: number;
  readonly inputs: readonly Factor[];
  /** Least and most memory of the nodes whose memory this factor accounts for (bounds on the rest). */
  readonly covered: MemoryRange;
}

interface MemoryRange {
  readonly least: number;
  readonly most: number;
}

const addRanges = (a: MemoryRange, b: MemoryRange): MemoryRange => ({
  least: a.least + b.least,
  most: a.most + b.most,
});
const NO_MEMORY: MemoryRange = { least: 0, most: 0 };

/** Thrown inside the DP to unwind: a bound was exceeded, or the deadline passed. */
class Declined extends Error {}
class DeadlinePassed extends Error {}

function entryIndex(factor: Factor, assignment: readonly number[]): number {
  return indexIn(factor.scope, factor.strides, assignment);
}

function originalFactors(problem: IlpProblem, sizes: readonly number[]): Factor[] {
  const point = (cost: number, memory: number): Frontier =>
    cost === Number.POSITIVE_INFINITY
      ? []
      : [{ cost, memory, value: -1, slot: -1, index: 0, previous: null }];
  const base = { eliminated: -1, inputs: [] };
  const unary = problem.nodes.map((node, v) => ({
    ...base,
    id: v,
    scope: [v],
    strides: [1],
    entries: node.cost.map((c, k) => point(c, node.memory[k]!)),
    covered: { least: Math.min(...node.memory), most: Math.max(...node.memory) },
  }));
  const pairwise = problem.edges.map((edge, e) =>
    // A self-edge only ever sees its diagonal.
    edge.from === edge.to
      ? {
          ...base,
          id: problem.nodes.length + e,
          scope: [edge.from],
          strides: [1],
          entries: edge.cost.map((row, k) => point(row[k]!, 0)),
          covered: NO_MEMORY,
        }
      : {
          ...base,
          id: problem.nodes.length + e,
          scope: [edge.from, edge.to],
          strides: stridesOf([edge.from, edge.to], sizes),
          entries: edge.cost.flatMap((row) => row.map((c) => point(c, 0))),
          covered: NO_MEMORY,
        },
  );
  return [...unary, ...pairwise];
}

export function solveByElimination(problem: IlpProblem, limits: EliminationLimits = {}): EliminationOutcome {
  const maxTableEntries = limits.maxTableEntries ?? 2 ** 17;
  const maxFrontierSize = limits.maxFrontierSize ?? 10_000;
  const maxWork = limits.maxWork ?? 4e6;
  const deadlineMs = limits.deadlineMs ?? Number.POSITIVE_INFINITY;
  const sizes = problem.nodes.map((node) => node.cost.length);
  const plan = eliminationOrder(
    sizes,
    problem.edges.filter((e) => e.from !== e.to).map((e) => [e.from, e.to] as const),
    maxTableEntries,
  );
  if (plan === null)
    return { applicable: false, reason: `a table would exceed ${maxTableEntries} entries`, bound: null };
  if (plan.estimatedWork > maxWork) {
    return {
      applicable: false,
      reason: `the tables alone need ~${plan.estimatedWork} steps, over ${maxWork}`,
      bound: null,
    };
  }

  const factors = originalFactors(problem, sizes);
  const total = factors.reduce((sum, f) => addRanges(sum, f.covered), NO_MEMORY);
  // A budget that even the fattest choice fits is no budget at all.
  const budget =
    problem.memoryBudget !== null && problem.memoryBudget < total.most ? problem.memoryBudget : null;
  const steps = eliminationSteps(
    factors.map((f) => f.scope),
    plan.order,
  );
  const bound =
    budget === null ? null : lagrangianBound({ ...problem, memoryBudget: budget }, steps, deadlineMs);
  if (bound?.proven) return { applicable: true, answer: incumbentAnswer(problem, bound.incumbent!), bound };
  const pruning = bound?.tables ? lagrangianPruning(bound, bound.tables, budget!) : null;
  const rulesFor = (covered: MemoryRange, weightedCeiling = Number.POSITIVE_INFINITY): FrontierRules =>
    budget === null
      ? {
          budgeted: false,
          memoryCeiling: Number.POSITIVE_INFINITY,
          memorySafe: Number.POSITIVE_INFINITY,
          weight: 0,
          weightedCeiling: Number.POSITIVE_INFINITY,
        }
      : {
          budgeted: true,
          // Memory not yet accounted for costs at least the least, and at most the most, of its nodes.
          memoryCeiling: budgetCeiling(budget) - (total.least - covered.least),
          memorySafe: budget - (total.most - covered.most),
          weight: pruning?.lambda ?? 0,
          weightedCeiling,
        };
  let work = 0;

  /**
   * Frontier of the product of `inputs` at one full assignment, with `value` as the eliminated variable's;
   * `ceiling` bounds cost + λ·memory of the product (Infinity: no Lagrangian pruning).
   */
  const combine = (
    inputs: readonly Factor[],
    assignment: readonly number[],
    value: number,
    ceiling: number,
  ): Frontier => {
    // Node and edge factors contribute a single point: add those first, as a shift (this loop is the DP's
    // hot path, hence plain numbers rather than objects).
    let cost = 0;
    let memory = 0;
    let least = 0;
    let most = 0;
    let multi: number[] | null = null;
    work += inputs.length;
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i]!;
      const frontier = input.entries[entryIndex(input, assignment)]!;
      if (frontier.length === 0) return [];
      if (frontier.length > 1) {
        multi ??= [];
        multi.push(i);
      } else {
        cost += frontier[0]!.cost;
        memory += frontier[0]!.memory;
        least += input.covered.least;
        most += input.covered.most;
      }
    }
    let coveredSoFar = { least, most };
    // The inputs still to add cost at least their Lagrangian inside minima: that much of the ceiling is spoken for.
    let pending = 0;
    if (pruning !== null) for (const i of multi ?? []) pending += pruning.inside(inputs[i]!, assignment);
    if (!admissible(cost, memory, rulesFor(coveredSoFar, ceiling - pending))) return [];
    let sum: Frontier = [{ cost, memory, value, slot: -1, index: 0, previous: null }];
    for (const i of multi ?? []) {
      const input = inputs[i]!;
      const frontier = input.entries[entryIndex(input, assignment)]!;
      coveredSoFar = addRanges(coveredSoFar, input.covered);
      if (pruning !== null) pending -= pruning.inside(input, assignment);
      work += sum.length * frontier.length;
      sum = minkowskiSum(sum, frontier, i, rulesFor(coveredSoFar, ceiling - Math.max(0, pending)));
    }
    return sum;
  };

  /** Multiplies `inputs` over the union of their scopes and minimises `variable` out (-1: nothing to minimise). */
  const eliminate = (inputs: readonly Factor[], step: number): Factor => {
    const { variable, scope } = steps[step]!;
    const strides = stridesOf(scope, sizes);
    const entryCount = scope.reduce((n, v) => n * sizes[v]!, 1);
    const covered = inputs.reduce((sum, f) => addRanges(sum, f.covered), NO_MEMORY);
    const values = variable < 0 ? [-1] : [...Array(sizes[variable]!).keys()];
    const assignment = sizes.map(() => 0);
    const entries: Frontier[] = [];
    for (let entry = 0; entry < entryCount; entry++) {
      for (let i = 0; i < scope.length; i++)
        assignment[scope[i]!] = Math.floor(entry / strides[i]!) % sizes[scope[i]!]!;
      if (performance.now() > deadlineMs) throw new DeadlinePassed();
      const ceiling = pruning?.ceiling(step, entry) ?? Number.POSITIVE_INFINITY;
      const perValue = values.map((value) => {
        if (value >= 0) assignment[variable] = value;
        return combine(inputs, assignment, value, ceiling);
      });
      const frontier = mergeFrontiers(perValue, rulesFor(covered, ceiling));
      work += perValue.reduce((n, f) => n + f.length, 0);
      if (frontier.length > maxFrontierSize)
        throw new Declined(`a frontier exceeds ${maxFrontierSize} points`);
      if (work > maxWork) throw new Declined(`the work exceeds ${maxWork} point combinations`);
      entries.push(frontier);
    }
    return { id: factors.length + step, scope, strides, entries, eliminated: variable, inputs, covered };
  };

  const built: Factor[] = [...factors];
  try {
    for (let step = 0; step < steps.length; step++)
      built.push(
        eliminate(
          steps[step]!.inputs.map((id) => built[id]!),
          step,
        ),
      );
  } catch (error) {
    if (error instanceof DeadlinePassed) {
      const answer: BackendAnswer = bound?.incumbent
        ? { ...incumbentAnswer(problem, bound.incumbent), status: 'feasible' }
        : { backend: 'elimination', status: 'timeout', selection: null, claimedObjective: null };
      return { applicable: true, answer, bound };
    }
    if (error instanceof Declined) return { applicable: false, reason: error.message, bound };
    throw error;
  }
  return { applicable: true, answer: readBack(problem, built.at(-1)!, bound?.incumbent ?? null), bound };
}

/**
 * The bounds that let the budgeted DP drop partial choices: a point of step s's table at `entry` whose
 * cost + λ·memory, plus the least the rest can add (the outside minimum), minus λ·budget, exceeds the
 * incumbent cannot be part of a better choice (every choice within the budget costs at least its
 * cost + λ·memory − λ·budget). A tolerance keeps a choice that merely ties the incumbent.
 */
function lagrangianPruning(
  bound: LagrangianBound,
  tables: NonNullable<LagrangianBound['tables']>,
  budget: number,
) {
  const incumbent = bound.incumbent?.objective ?? Number.POSITIVE_INFINITY;
  const allowance = incumbent + bound.lambda * budget;
  const slack = PROOF_RELATIVE_GAP * Math.abs(allowance);
  return {
    lambda: bound.lambda,
    ceiling: (step: number, entry: number) => allowance + slack - tables.outside[step]![entry]!,
    inside: (factor: Factor, assignment: readonly number[]) =>
      tables.inside[factor.id]![entryIndex(factor, assignment)]!,
  };
}

/** A known choice phrased as the DP's answer. */
function incumbentAnswer(problem: IlpProblem, incumbent: Incumbent): BackendAnswer {
  return {
    backend: 'elimination',
    status: 'optimal',
    selection: problem.nodes.map((node, v) => node.cost.map((_, k) => (k === incumbent.choice[v] ? 1 : 0))),
    claimedObjective: incumbent.objective,
  };
}

/**
 * Picks the cheapest final point and follows the parts down to every eliminated variable. With Lagrangian
 * pruning, an empty final frontier means that no choice beats the incumbent: the incumbent is optimal.
 */
function readBack(problem: IlpProblem, root: Factor, incumbent: Incumbent | null): BackendAnswer {
  const final = root.entries[0]!;
  const best = final[0];
  if (incumbent !== null && (best === undefined || incumbent.objective <= best.cost))
    return incumbentAnswer(problem, incumbent);
  if (best === undefined)
    return { backend: 'elimination', status: 'infeasible', selection: null, claimedObjective: null };
  const assignment = problem.nodes.map(() => -1);
  const stack: [Factor, FrontierPoint][] = [[root, best]];
  while (stack.length > 0) {
    const [factor, point] = stack.pop()!;
    if (factor.eliminated >= 0) assignment[factor.eliminated] = point.value;
    const parts = partsOf(point, factor.inputs.length);
    factor.inputs.forEach((input, i) => {
      stack.push([input, input.entries[entryIndex(input, assignment)]![parts[i]!]!]);
    });
  }
  const selection = problem.nodes.map((node, v) => node.cost.map((_, k) => (k === assignment[v] ? 1 : 0)));
  return { backend: 'elimination', status: 'optimal', selection, claimedObjective: best.cost };
}
