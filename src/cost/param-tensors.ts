/**
 * Parameter tensors as a framework's model holds them, which is what a runtime that gathers tensor
 * by tensor sends one collective each for. The graph keeps q, k and v (and gate and up) apart;
 * Megatron-LM's layers hold each group as one fused weight (linear_qkv, linear_fc1) and its bias as
 * one, so the ops that read the same activation in the same kind of op share their parameter
 * tensors, and so do the ops that add parameters to those ops' outputs (the biases).
 */
import type { GraphOp, OpGraph } from '../graph/graph.ts';

/** Parameter tensors held, given the count each op owns (0 for ops that own none). */
export function heldParamTensors(graph: OpGraph, owned: (op: number) => number): number {
  const keys = new Map<number, string>();
  const keyOf = (op: GraphOp): string => {
    const known = keys.get(op.index);
    if (known !== undefined) return known;
    const input = op.inputs.map((name) => graph.tensors.get(name)!).find((t) => !t.param);
    const producer = input?.producer ?? null;
    // A bias (or any parameter) applied to a parameterised op's output is fused with that op's.
    const key =
      producer !== null && owned(producer) > 0
        ? `${keyOf(graph.ops[producer]!)}+${op.kind}`
        : `${input?.name ?? op.name}|${op.kind}`;
    keys.set(op.index, key);
    return key;
  };
  const groups = new Map<string, number>();
  for (const op of graph.ops) {
    const count = owned(op.index);
    if (count === 0) continue;
    const key = keyOf(op);
    groups.set(key, Math.max(groups.get(key) ?? 0, count));
  }
  let total = 0;
  for (const count of groups.values()) total += count;
  return total;
}
