import type { GraphOp, OpGraph } from '../graph/graph.ts';
import { SAVED_FOR_BACKWARD } from '../schema/graph.ts';
import type { Recompute } from '../schema/vocabulary.ts';

/** A tensor kept from the forward to the backward pass, charged to the first op that needs it. */
export interface SavedTensor {
  readonly op: number;
  readonly tensor: string;
  /** 'input' j: the op's j-th operand; 'output': its result; 'mask': one byte per output element. */
  readonly as: { readonly kind: 'input'; readonly index: number } | { readonly kind: 'output' | 'mask' };
}

/** Whether the op's forward runs a second time during backward. */
export function recomputesForward(op: GraphOp, recompute: Recompute): boolean {
  return recompute === 'full' || (recompute === 'selective' && op.selectiveRecompute);
}

/**
 * What the backward pass keeps, per Korthikanti et al. 2022: each kind's needs (SAVED_FOR_BACKWARD),
 * every tensor once. Selective recomputation drops what the attention core makes for itself (it is
 * redone from the core's inputs, which stay); full recomputation keeps only the graph's inputs
 * (a layer's input), as Megatron's uniform checkpointing does.
 */
export function savedTensors(graph: OpGraph, recompute: Recompute): SavedTensor[] {
  const seen = new Set<string>();
  const saved: SavedTensor[] = [];
  if (recompute === 'full') {
    // Only what enters the graph from outside (the layer's input) stays; the rest is redone.
    for (const op of graph.ops) {
      op.inputs.forEach((name, index) => {
        const t = graph.tensors.get(name)!;
        if (t.param || t.producer !== null || seen.has(name)) return;
        seen.add(name);
        saved.push({ op: op.index, tensor: name, as: { kind: 'input', index } });
      });
    }
    return saved;
  }
  const core = (op: GraphOp) => recompute === 'selective' && op.selectiveRecompute;
  for (const op of graph.ops) {
    const rule = SAVED_FOR_BACKWARD[op.kind];
    if (rule === 'inputs') {
      op.inputs.forEach((name, index) => {
        const t = graph.tensors.get(name)!;
        if (t.param || seen.has(name)) return;
        if (core(op) && t.producer !== null && core(graph.ops[t.producer]!)) return;
        seen.add(name);
        saved.push({ op: op.index, tensor: name, as: { kind: 'input', index } });
      });
    } else if ((rule === 'output' || rule === 'mask') && !core(op)) {
      const key = rule === 'mask' ? `mask:${op.name}` : op.output;
      if (seen.has(key)) continue;
      seen.add(key);
      saved.push({ op: op.index, tensor: op.output, as: { kind: rule } });
    }
  }
  return saved;
}
