import type { LogicalMesh } from '../cluster/mesh.ts';
import type { OpGraph } from '../graph/graph.ts';
import type { GpuSpec, Recompute, RecomputeModule } from '../schema/index.ts';
import { edgeMoveKeys, edgeReshards } from './edge-cost.ts';
import type { OuterGroups } from './exchange.ts';
import { buildIntraOpModel, type IntraOpModel } from './intra-op.ts';
import { type Layout, shardCount } from './layout.ts';
import type { OpCost, PricedCollective } from './op-cost.ts';
import { heldParamTensors, regatheredAfterRecompute } from './param-tensors.ts';
import { NO_RESHARD, type Reshard, thenReshard } from './reshard.ts';
import { type OpStrategy, operandLayout, outputLayout } from './strategy.ts';

/** One op of an evaluated layout: its strategy, its own cost and the resharding of its inputs. */
export interface EvaluatedOp {
  readonly strategy: OpStrategy;
  readonly inputLayouts: readonly Layout[];
  readonly outputLayout: Layout;
  readonly cost: OpCost;
  readonly reshards: readonly PricedCollective[];
  readonly reshardSec: number;
}

/** A whole graph's layout priced op by op (one microbatch, forward + backward). */
export interface LayoutEval {
  readonly ops: readonly EvaluatedOp[];
  readonly forwardComputeSec: number;
  readonly backwardComputeSec: number;
  /** In-op collectives: output reductions, parameter-gradient all-reduces within the mesh, recompute. */
  readonly commSec: number;
  /** Of `commSec`, frameworks' own output gathers (OpCost.outputGatherSec), which no overlap hides. */
  readonly outputGatherSec: number;
  readonly reshardSec: number;
  /** Context parallelism's exchange of keys and values, exposed (forward + backward). */
  readonly cpCommSec: number;
  /** Expert parallelism's dispatch and combine all-to-alls (forward + backward). */
  readonly epCommSec: number;
  /**
   * Of `reshardSec`, what can travel while the GEMMs computing weight gradients run: each layer's
   * input gradient, reduced onto its producer's layout as soon as it is computed, alongside the same
   * layer's weight-gradient GEMM, which does not wait for it (Megatron-LM's and Transformer Engine's
   * linear layers launch that reduce-scatter or all-reduce asynchronously), never more than that GEMM.
   */
  readonly inputGradientHideableSec: number;
  /** Per microbatch: compute + in-op collectives + resharding + exchanges. */
  readonly totalSec: number;
  /** Per step: all-reduces of parameter gradients partial on a mesh axis. */
  readonly gradSyncSec: number;
  /** Parameter elements held per device. */
  readonly paramElements: number;
  /** Of those, the experts'. */
  readonly expertParamElements: number;
  /** Of those, quantized GEMMs' weights (which keep quantized copies). */
  readonly quantizedWeightElements: number;
  /** Of those, the experts'. */
  readonly expertQuantizedWeightElements: number;
  /** Parameter tensors that are not experts', as the model holds them (param-tensors.ts). */
  readonly paramTensors: number;
  /**
   * Of those, what DeepSpeed's ZeRO-3 gathers again after a recomputed forward (none unless the layer
   * is recomputed whole): tensors and their elements (param-tensors.ts).
   */
  readonly regathered: { readonly tensors: number; readonly elements: number };
  /** Activations kept for the backward pass, per microbatch, per device. */
  readonly activationBytes: number;
}

export interface LayoutEvalOptions {
  readonly gpu: GpuSpec;
  readonly recompute: Recompute;
  /** What selective recomputation redoes (default Megatron's: the attention core). */
  readonly recomputeModules?: readonly RecomputeModule[];
  readonly carry?: { readonly from: string; readonly to: string };
  readonly outer?: OuterGroups;
  /**
   * Whether a linear layer whose input arrives all-gathered keeps only its own shard for the backward
   * pass and gathers it again there: Megatron-LM's sequence parallelism does (Korthikanti et al. 2022
   * §4.2.2; `LinearWithGradAccumulationAndAsyncCommunication` saves the local input and re-runs the
   * all-gather in backward, overlapped with the input-gradient GEMM), so the activation is s·b·h/t,
   * not s·b·h. Frameworks whose autograd saves the gathered tensor (DTensor's) keep it whole.
   */
  readonly savesGatheredInputSharded?: boolean;
}

/** A layer graph's held parameter tensors: they do not depend on the layout, so counted once a graph. */
const heldTensors = new WeakMap<
  OpGraph,
  { readonly held: number; readonly regathered: LayoutEval['regathered'] }
>();
function heldTensorsOf(graph: OpGraph) {
  let found = heldTensors.get(graph);
  if (found === undefined) {
    found = { held: heldParamTensors(graph), regathered: regatheredAfterRecompute(graph) };
    heldTensors.set(graph, found);
  }
  return found;
}

const NOTHING_REGATHERED = { tensors: 0, elements: 0 } as const;

/**
 * Prices fixed per-op strategies (null when one of them is not valid on this mesh, e.g. a split
 * that does not divide the dim): the ILP's answer re-priced under another recomputation mode, or a
 * framework's layout pinned for `estimate`. Reuses the ILP model's machinery with one strategy per
 * group, so both paths share every cost formula.
 */
export function evaluateLayout(
  graph: OpGraph,
  mesh: LogicalMesh,
  options: LayoutEvalOptions,
  strategyOf: (op: number) => OpStrategy,
): LayoutEval | null {
  const model: IntraOpModel = buildIntraOpModel(graph, mesh, {
    gpu: options.gpu,
    recompute: options.recompute,
    ...(options.recomputeModules ? { recomputeModules: options.recomputeModules } : {}),
    ...(options.carry ? { carry: options.carry } : {}),
    ...(options.outer ? { outer: options.outer } : {}),
    pin: (op) => strategyOf(op.index),
  });
  if (model.groups.some((g) => g.strategies.length !== 1)) return null;
  const chosen = (op: number) => model.groups[model.groupOf[op]!]!.strategies[0]!.members.get(op)!;
  const reshards = new Map<number, { list: PricedCollective[]; sec: number; inputGradientSec: number }>();
  /** Bytes a consumer's saved input shrinks by when it is kept as the producer's shard. */
  let keptAsShardBytes = 0;
  // Consumers that read one tensor in one layout share its move, and their input gradients, summed
  // where they arrive, travel once: Megatron-LM gathers one input for its fused QKV and gate/up
  // linears, torchtitan's PrepareModuleInput one per attention or feed-forward module, XLA merges
  // identical collectives. The first consumer in graph order moves it (the last to run backward,
  // when every gradient is in). The ILP's pairwise edge costs still charge every consumer, as Alpa's
  // formulation does; the layout it picks is priced here.
  const moved = new Set<string>();
  const firstMove = (key: string, r: Reshard): Reshard => {
    if (moved.has(key)) return NO_RESHARD;
    moved.add(key);
    return r;
  };
  for (const edge of model.tensorEdges) {
    const producer = chosen(edge.producer).strategy;
    const consumer = chosen(edge.consumer).strategy;
    const all = edgeReshards(model, edge, producer, consumer);
    if (options.savesGatheredInputSharded && all.forward.collectives.some((c) => c.kind === 'all-gather')) {
      keptAsShardBytes += gatheredInputSavings(model, edge, chosen(edge.producer), chosen(edge.consumer));
    }
    const keys = edgeMoveKeys(model, edge, producer, consumer);
    const forward = firstMove(keys.forward, all.forward);
    const inputGradient = firstMove(keys.gradient, all.inputGradient);
    const backward = thenReshard(inputGradient, firstMove(`again ${keys.forward}`, all.recomputed));
    const entry = reshards.get(edge.consumer) ?? { list: [], sec: 0, inputGradientSec: 0 };
    entry.inputGradientSec += inputGradient.sec;
    for (const [phase, r] of [
      ['forward', forward],
      ['backward', backward],
    ] as const) {
      for (const c of r.collectives) entry.list.push({ ...c, phase, reason: `reshard ${edge.tensor}` });
      entry.sec += r.sec;
    }
    reshards.set(edge.consumer, entry);
  }
  const sums = {
    forwardComputeSec: 0,
    backwardComputeSec: 0,
    commSec: 0,
    outputGatherSec: 0,
    gradSyncSec: 0,
    reshardSec: 0,
    cpCommSec: 0,
    epCommSec: 0,
    paramElements: 0,
    expertParamElements: 0,
    quantizedWeightElements: 0,
    expertQuantizedWeightElements: 0,
    activationBytes: 0,
    inputGradientHideableSec: 0,
  };
  const ops = graph.ops.map((op) => {
    const { strategy, cost } = chosen(op.index);
    const r = reshards.get(op.index) ?? { list: [], sec: 0, inputGradientSec: 0 };
    sums.forwardComputeSec += cost.forwardSec;
    sums.backwardComputeSec += cost.backwardSec;
    sums.commSec += cost.commSec;
    sums.outputGatherSec += cost.outputGatherSec;
    sums.gradSyncSec += cost.gradSyncSec;
    sums.reshardSec += r.sec;
    sums.inputGradientHideableSec += Math.min(r.inputGradientSec, cost.weightGradientSec);
    const exchanged = cost.exchange.forwardSec + cost.exchange.backwardSec;
    if (op.exchange?.group === 'cp') sums.cpCommSec += exchanged;
    if (op.exchange?.group === 'ep') sums.epCommSec += exchanged;
    sums.paramElements += cost.paramElements;
    sums.expertParamElements += cost.expertParamElements;
    sums.quantizedWeightElements += cost.quantizedWeightElements;
    sums.expertQuantizedWeightElements += cost.expertQuantizedWeightElements;
    sums.activationBytes += cost.activationBytes;
    return {
      strategy,
      inputLayouts: op.einsum.inputs.map((letters) => operandLayout(strategy, letters)),
      outputLayout: outputLayout(op, strategy, model.keepsPartial[op.index]!),
      cost,
      reshards: r.list,
      reshardSec: r.sec,
    };
  });
  const { forwardComputeSec, backwardComputeSec, commSec, reshardSec, cpCommSec, epCommSec } = sums;
  return {
    ops,
    ...sums,
    paramTensors: heldTensorsOf(graph).held,
    regathered: options.recompute === 'full' ? heldTensorsOf(graph).regathered : NOTHING_REGATHERED,
    activationBytes: sums.activationBytes - keptAsShardBytes,
    totalSec: forwardComputeSec + backwardComputeSec + commSec + reshardSec + cpCommSec + epCommSec,
  };
}

/**
 * What a matmul's saved input costs less when kept as its producer's shard: zero unless this
 * consumer is the op charged with saving that input (saved.ts charges each tensor to one reader).
 */
function gatheredInputSavings(
  model: IntraOpModel,
  edge: IntraOpModel['tensorEdges'][number],
  producer: { readonly strategy: OpStrategy },
  consumer: { readonly strategy: OpStrategy },
): number {
  const op = model.graph.ops[edge.consumer]!;
  if (op.kind !== 'matmul') return 0;
  const charged = (model.ctx.saved.get(edge.consumer) ?? []).some(
    (s) => s.as.kind === 'input' && s.as.index === edge.input && s.tensor === edge.tensor,
  );
  if (!charged) return 0;
  const bytes = model.graph.tensors.get(edge.tensor)!.bytes;
  const sizes = model.mesh.shape;
  const produced = outputLayout(
    model.graph.ops[edge.producer]!,
    producer.strategy,
    model.keepsPartial[edge.producer]!,
  );
  const read = operandLayout(consumer.strategy, op.einsum.inputs[edge.input]!);
  return Math.max(0, bytes / shardCount(read, sizes) - bytes / shardCount(produced, sizes));
}
