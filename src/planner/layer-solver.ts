import { solveIlp } from '../../solvers/index.ts';
import type { IlpProblem, IlpStatus } from '../../solvers/problem.ts';
import type { Cluster } from '../cluster/cluster.ts';
import type { LogicalMesh, MeshAxis } from '../cluster/mesh.ts';
import { NO_OUTER_GROUPS, type OuterGroups } from '../cost/exchange.ts';
import { toIlpProblem, withBudget } from '../cost/ilp-problem.ts';
import { buildIntraOpModel, type IntraOpModel, strandedOps, strategiesOfChoice } from '../cost/intra-op.ts';
import { evaluateLayout, type LayoutEval } from '../cost/layout-eval.ts';
import { megatronStrategy } from '../cost/megatron-layout.ts';
import { PARAM_STATE_BYTES } from '../cost/memory.ts';
import { LayerSeries } from '../cost/stage.ts';
import type { OpStrategy } from '../cost/strategy.ts';
import { DIM } from '../graph/letters.ts';
import type { PlannedLayer } from '../model/planned.ts';
import type { FrameworkTarget, Recompute, RecomputeModule } from '../schema/index.ts';

/**
 * How a layer's layout is chosen: by the ILP with no memory budget ('fast'), by the ILP under
 * tighter budgets ('balanced': halfway to the least memory; 'lean': the least memory any layout
 * needs), or pinned to Megatron-LM's layout (with or without sequence parallelism).
 */
/**
 * How a layer's ops are laid out on a stage mesh: the ILP's (`fast`, `balanced`, `lean`) or
 * Megatron-LM's (`megatron`, with sequence parallelism `megatron-sp`; `-ep` with the experts over
 * the tp ranks: MoE parallel folding at expert TP 1).
 */
export type LayoutChoice =
  | 'fast'
  | 'balanced'
  | 'lean'
  | 'megatron'
  | 'megatron-sp'
  | 'megatron-ep'
  | 'megatron-sp-ep';

/** Whether a choice is one of Megatron-LM's layouts, and which of their variants. */
/** Megatron-LM's layout choice for these variants. */
export function megatronChoice(sequenceParallel: boolean, expertsOverTp: boolean): LayoutChoice {
  if (expertsOverTp) return sequenceParallel ? 'megatron-sp-ep' : 'megatron-ep';
  return sequenceParallel ? 'megatron-sp' : 'megatron';
}

export function megatronVariant(
  choice: LayoutChoice,
): { readonly sequenceParallel: boolean; readonly expertsOverTp: boolean } | null {
  if (choice === 'megatron') return { sequenceParallel: false, expertsOverTp: false };
  if (choice === 'megatron-sp') return { sequenceParallel: true, expertsOverTp: false };
  if (choice === 'megatron-ep') return { sequenceParallel: false, expertsOverTp: true };
  if (choice === 'megatron-sp-ep') return { sequenceParallel: true, expertsOverTp: true };
  return null;
}

export interface LayerLayout {
  readonly strategies: readonly OpStrategy[];
  readonly status: IlpStatus;
}

export interface LayerSolverOptions {
  readonly cluster: Cluster;
  /**
   * A pinned tensor-parallel degree means the fast mesh axis does tensor parallelism: the ILP may
   * not use it to split the batch.
   */
  readonly tensorParallelPinned?: boolean;
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
  /** What selective recomputation redoes, the request's (default Megatron's: the attention core). */
  readonly recomputeModules?: readonly RecomputeModule[];
  /**
   * The framework whose runtime the Megatron-style layouts are priced as (default `any`: Megatron-LM's).
   * Past the key/value heads Megatron-LM gathers the QKV output; a JAX program's GSPMD computes each
   * rank's query heads where they are.
   */
  readonly target?: FrameworkTarget;
}

function axesKey(axes: readonly MeshAxis[]): string {
  return axes.map((a) => `${a.size}${a.spansNodes ? 'n' : 'l'}`).join('x');
}

/** What a layer's layout and price depend on besides its signature: the stage mesh and the groups around it. */
function placementKey(mesh: LogicalMesh, outer: OuterGroups): string {
  return `${axesKey(mesh.axes)}|${axesKey([outer.cp, outer.ep])}`;
}

/**
 * Intra-op layouts per (layer signature, mesh, choice), solved once and shared by every identical
 * layer (DESIGN.md §6: this, not raw speed, makes a 96-layer model as cheap as a 1-layer one),
 * and their prices per recomputation mode.
 */
export class LayerSolver {
  private readonly layouts = new Map<string, Promise<LayerLayout | null>>();
  private readonly prices = new Map<string, LayoutEval>();
  private readonly intraOpModels = new Map<
    string,
    { readonly model: IntraOpModel; readonly problem: IlpProblem }
  >();
  private readonly seriesByModel = new WeakMap<
    readonly PlannedLayer[],
    Map<string, Promise<LayerSeries | null>>
  >();
  ilpSolves = 0;

  constructor(private readonly options: LayerSolverOptions) {}

  layout(
    layer: PlannedLayer,
    mesh: LogicalMesh,
    choice: LayoutChoice,
    outer: OuterGroups = NO_OUTER_GROUPS,
  ): Promise<LayerLayout | null> {
    const key = `${layer.signature}|${placementKey(mesh, outer)}|${choice}`;
    let found = this.layouts.get(key);
    if (found === undefined) {
      found = this.solve(layer, mesh, choice, outer);
      this.layouts.set(key, found);
    }
    return found;
  }

  /** The layout priced under a recomputation mode; null when the choice has no layout on this mesh. */
  async price(
    layer: PlannedLayer,
    mesh: LogicalMesh,
    choice: LayoutChoice,
    recompute: Recompute,
    outer: OuterGroups = NO_OUTER_GROUPS,
  ): Promise<LayoutEval | null> {
    const layout = await this.layout(layer, mesh, choice, outer);
    if (layout === null) return null;
    // Full and per-op recomputation leave the layers outside the checkpointed blocks as they are.
    const mode: Recompute =
      (recompute === 'full' || recompute === 'per-op') && !layer.checkpointed ? 'none' : recompute;
    const key = `${layer.signature}|${placementKey(mesh, outer)}|${choice}|${mode}`;
    let price = this.prices.get(key);
    if (price === undefined) {
      const evaluated = evaluateLayout(
        layer.graph,
        mesh,
        {
          gpu: this.options.cluster.gpu,
          recompute: mode,
          ...(this.options.recomputeModules ? { recomputeModules: this.options.recomputeModules } : {}),
          outer,
          ...(layer.carry ? { carry: layer.carry } : {}),
          savesGatheredInputSharded: megatronVariant(choice)?.sequenceParallel ?? false,
        },
        (op) => layout.strategies[op]!,
      );
      if (evaluated === null) return null;
      price = evaluated;
      this.prices.set(key, price);
    }
    return price;
  }

  /**
   * Every layer of the model priced on one mesh with one layout choice and recomputation mode, as a
   * series a stage DP can sum over; null when the choice has no layout for some layer on this mesh.
   */
  series(
    layers: readonly PlannedLayer[],
    mesh: LogicalMesh,
    choice: LayoutChoice,
    recompute: Recompute,
    outer: OuterGroups = NO_OUTER_GROUPS,
  ): Promise<LayerSeries | null> {
    // Every replica shape, data-parallel degree and goal that offers this mesh to the same model asks
    // again: the series is built once per model (its layer list) and placement.
    let ofModel = this.seriesByModel.get(layers);
    if (ofModel === undefined) {
      ofModel = new Map();
      this.seriesByModel.set(layers, ofModel);
    }
    const key = `${placementKey(mesh, outer)}|${choice}|${recompute}`;
    let found = ofModel.get(key);
    if (found === undefined) {
      found = this.priceSeries(layers, mesh, choice, recompute, outer);
      ofModel.set(key, found);
    }
    return found;
  }

  private async priceSeries(
    layers: readonly PlannedLayer[],
    mesh: LogicalMesh,
    choice: LayoutChoice,
    recompute: Recompute,
    outer: OuterGroups,
  ): Promise<LayerSeries | null> {
    const prices: LayoutEval[] = [];
    for (const layer of layers) {
      const price = await this.price(layer, mesh, choice, recompute, outer);
      if (price === null) return null;
      prices.push(price);
    }
    return new LayerSeries(mesh, prices, this.options.cluster.gpu.efficiency.tpOverlap);
  }

  /** The layer's intra-op model and ILP on a placement, built once for every layout choice that solves it. */
  private intraOp(
    layer: PlannedLayer,
    mesh: LogicalMesh,
    outer: OuterGroups,
  ): { readonly model: IntraOpModel; readonly problem: IlpProblem } {
    const key = `${layer.signature}|${placementKey(mesh, outer)}`;
    let built = this.intraOpModels.get(key);
    if (built === undefined) {
      const model = buildIntraOpModel(layer.graph, mesh, {
        gpu: this.options.cluster.gpu,
        outer,
        ...(layer.carry ? { carry: layer.carry } : {}),
        ...(this.options.tensorParallelPinned ? { forbidden: [[], [DIM.batch]] as const } : {}),
      });
      built = { model, problem: toIlpProblem(model, null, 0) };
      this.intraOpModels.set(key, built);
    }
    return built;
  }

  private async solve(
    layer: PlannedLayer,
    mesh: LogicalMesh,
    choice: LayoutChoice,
    outer: OuterGroups,
  ): Promise<LayerLayout | null> {
    const { graph } = layer;
    const megatron = megatronVariant(choice);
    if (megatron !== null) {
      if (mesh.shape[0] !== 1) return null;
      const { sequenceParallel: sp, expertsOverTp: folded } = megatron;
      return {
        strategies: graph.ops.map((op) =>
          megatronStrategy(op, {
            tp: mesh.shape[1],
            sequenceParallel: sp,
            expertsOverTp: folded,
            gathersQueries: this.options.target !== 'jax',
          }),
        ),
        status: 'optimal',
      };
    }
    const { model, problem: unbudgeted } = this.intraOp(layer, mesh, outer);
    // An op with no valid strategy on this mesh (an axis no dimension of it divides, e.g. 9 of a
    // 72-GPU NVL72 rack against 64 heads) leaves the layer without a layout here, as a failed solve does.
    if (strandedOps(model).length > 0) return null;
    let budget: number | null = null;
    if (choice !== 'fast') {
      const least = model.groups.reduce((s, g) => s + Math.min(...g.strategies.map((x) => x.memoryBytes)), 0);
      const fast = await this.layout(layer, mesh, 'fast', outer);
      if (fast === null) return null;
      const fastPrice = await this.price(layer, mesh, 'fast', 'none', outer);
      if (fastPrice === null) return null;
      const fastMemory = fastPrice.paramElements * PARAM_STATE_BYTES + fastPrice.activationBytes;
      budget = choice === 'lean' ? least : (least + fastMemory) / 2;
      if (budget >= fastMemory) return fast;
    }
    const remainingSec = Math.max(0.5, (this.options.deadlineMs - Date.now()) / 1000);
    const problem = withBudget(unbudgeted, budget, Math.min(remainingSec, 20));
    this.ilpSolves++;
    const solution = await solveIlp(problem, {
      ...(this.options.signal ? { signal: this.options.signal } : {}),
    });
    if (solution.choice === null) return null;
    return { strategies: strategiesOfChoice(model, solution.choice), status: solution.status };
  }
}
