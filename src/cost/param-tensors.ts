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

/** Non-expert parameter tensors of a layer graph as its model holds them. */
export function heldParamTensors(graph: OpGraph): number {
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
  const groups = new Map<string, number>();
  for (const [index, count] of owned) {
    const key = keyOf(graph.ops[index]!);
    groups.set(key, Math.max(groups.get(key) ?? 0, count));
  }
  let total = 0;
  for (const count of groups.values()) total += count;
  return total;
}
