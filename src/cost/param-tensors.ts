/**
 * Parameter tensors as a framework's model holds them, which is what a runtime that gathers tensor
 * by tensor sends one collective each for. The graph keeps q, k and v (and gate and up) apart;
 * Megatron-LM's layers hold each group as one fused weight (linear_qkv, linear_fc1) and its bias as
 * one, so the ops that read the same activation in the same kind of op share their parameter
 * tensors, and so do the ops that add parameters to those ops' outputs (the biases). Experts'
 * tensors are left out: their traffic goes over the expert-data group, a collective per layer.
 */
import type { GraphOp, OpGraph } from '../graph/graph.ts';
import { DIM } from '../graph/letters.ts';
import { paramOwners } from './op-cost.ts';

/** The non-expert parameter tensors each op owns (reads first), by op index. */
function ownedTensors(graph: OpGraph): Map<number, number> {
  const owned = new Map<number, number>();
  for (const [name, index] of paramOwners(graph)) {
    const op = graph.ops[index]!;
    const letters = op.einsum.inputs[op.inputs.indexOf(name)]!;
    if (!letters.includes(DIM.experts)) owned.set(index, (owned.get(index) ?? 0) + 1);
  }
  return owned;
}

/** Parameter tensors one module holds (a fused weight and its bias), and where it runs in the layer. */
interface HeldGroup {
  readonly tensors: number;
  /** Their elements, whole (unsharded). */
  readonly elements: number;
  /** The first op that reads them: the layer's ops are in forward order. */
  readonly position: number;
}

/** The layer graph's non-expert parameter tensors grouped by the module that holds them. */
function heldGroups(graph: OpGraph): HeldGroup[] {
  const owned = ownedTensors(graph);
  const keys = new Map<number, string>();
  const keyOf = (op: GraphOp): string => {
    const known = keys.get(op.index);
    if (known !== undefined) return known;
    const input = op.inputs.map((name) => graph.tensors.get(name)!).find((t) => !t.param);
    const producer = input?.producer ?? null;
    // A bias (or any parameter) applied to a parameterised op's output is fused with that op's.
    const key =
      producer !== null && owned.has(producer)
        ? `${keyOf(graph.ops[producer]!)}+${op.kind}`
        : `${input?.name ?? op.name}|${op.kind}`;
    keys.set(op.index, key);
    return key;
  };
  const groups = new Map<string, { tensors: number; elements: number; position: number }>();
  for (const [index, count] of owned) {
    const op = graph.ops[index]!;
    const key = keyOf(op);
    // q, k and v read the same weights' slots: the fused weight is the largest of them, counted once
    // a slot; their elements add up.
    const elements = op.inputs
      .map((name) => graph.tensors.get(name)!)
      .filter((t) => t.param)
      .reduce((sum, t) => sum + t.numel, 0);
    const group = groups.get(key) ?? { tensors: 0, elements: 0, position: index };
    groups.set(key, {
      tensors: Math.max(group.tensors, count),
      elements: group.elements + elements,
      position: Math.min(group.position, index),
    });
  }
  return [...groups.values()];
}

/** Non-expert parameter tensors of a layer graph as its model holds them. */
export function heldParamTensors(graph: OpGraph): number {
  return heldGroups(graph).reduce((sum, g) => sum + g.tensors, 0);
}

/**
 * DeepSpeed ZeRO-3's `stage3_max_reuse_distance` default, elements (v0.5.4 runtime/zero/stage3.py,
 * v0.16.4 partitioned_param_coordinator.py): a module's parameters released after its forward stay
 * gathered only if the parameters fetched before its next use number fewer.
 */
export const DEEPSPEED_MAX_REUSE_DISTANCE = 1e9;

/**
 * The tensors DeepSpeed's ZeRO-3 gathers a third time in a checkpointed layer's backward. The backward
 * first re-runs the layer's forward: each module is gathered, then released unless its next use — its
 * own backward, after the modules behind it have run forward and backward again — comes within
 * `maxReuseDistance` elements fetched (`_keep_for_later`); a released module is gathered once more.
 * The last module is used again at once; those before it wait twice the elements behind them.
 */
export function regatheredAfterRecompute(
  graph: OpGraph,
  maxReuseDistance = DEEPSPEED_MAX_REUSE_DISTANCE,
): { tensors: number; elements: number } {
  const groups = heldGroups(graph).sort((a, b) => a.position - b.position);
  let behind = 0;
  let tensors = 0;
  let elements = 0;
  for (let i = groups.length - 1; i >= 0; i--) {
    const group = groups[i]!;
    if (2 * behind >= maxReuseDistance) {
      tensors += group.tensors;
      elements += group.elements;
    }
    behind += group.elements;
  }
  return { tensors, elements };
}
