import type { GraphOp, OpGraph } from '../graph/graph.ts';
import { perOpKeptOps, selectivelyRecomputed } from '../graph/recompute.ts';
import { SAVED_FOR_BACKWARD } from '../schema/graph.ts';
import type { Recompute, RecomputeModule } from '../schema/vocabulary.ts';

/** A tensor kept from the forward to the backward pass, charged to the first op that needs it. */
export interface SavedTensor {
  readonly op: number;
  readonly tensor: string;
  /** 'input' j: the op's j-th operand; 'output': its result; 'mask': one byte per output element. */
  readonly as: { readonly kind: 'input'; readonly index: number } | { readonly kind: 'output' | 'mask' };
}

/**
 * Megatron's modules checkpointed with output-discarding checkpointing (CheckpointWithoutOutput):
 * their output's storage is freed once the next op has run, so whatever saved it for backward
 * holds nothing until the recompute refills it. The others (core_attn, mlp, moe, shared_experts)
 * checkpoint normally and their output stays (TransformerConfig.recompute_modules, core_v0.19.0).
 */
const OUTPUT_DISCARDING: ReadonlySet<RecomputeModule> = new Set(['moe_act', 'layernorm', 'mla_up_proj']);

/** The ops whose forward runs a second time during backward, by index. */
export function recomputedOps(
  graph: OpGraph,
  recompute: Recompute,
  modules: readonly RecomputeModule[],
): ReadonlySet<number> {
  const redone = (keep: (op: GraphOp) => boolean) =>
    new Set(graph.ops.filter((op) => !keep(op)).map((op) => op.index));
  switch (recompute) {
    case 'none':
      return new Set();
    case 'full':
      return redone(() => false);
    case 'per-op': {
      const kept = perOpKeptOps(graph);
      return redone((op) => kept.has(op.index));
    }
    case 'selective':
      return redone((op) => !selectivelyRecomputed(op, modules));
  }
}

/**
 * What the backward pass keeps, per Korthikanti et al. 2022: each kind's needs (SAVED_FOR_BACKWARD),
 * or the fewer inputs an op names (`savedInputs`), every tensor once. Selective recomputation drops
 * what a recomputed module makes for itself (it is redone from the module's inputs, which stay) and,
 * for an output-discarding module, its output wherever it was saved; full recomputation keeps only the
 * graph's inputs (a layer's input), as Megatron's uniform checkpointing does, and torchtitan's per-op
 * policy that input with the outputs of the ops it keeps.
 */
export function savedTensors(
  graph: OpGraph,
  recompute: Recompute,
  modules: readonly RecomputeModule[],
  recomputed: ReadonlySet<number> = recomputedOps(graph, recompute, modules),
): SavedTensor[] {
  const seen = new Set<string>();
  const saved: SavedTensor[] = [];
  const redone = (op: GraphOp) => recomputed.has(op.index);
  if (recompute === 'full' || recompute === 'per-op') {
    // A checkpointed layer: what enters it from outside (its input) stays, and the output of every op
    // the policy does not redo (per-op's MUST_SAVE cache; full redoes them all).
    for (const op of graph.ops) {
      if (redone(op)) continue;
      seen.add(op.output);
      saved.push({ op: op.index, tensor: op.output, as: { kind: 'output' } });
    }
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
  /** Whether `consumer` finds `producer`'s output regenerated in backward instead of kept. */
  const regenerated = (producer: GraphOp, consumer: GraphOp): boolean => {
    if (!redone(producer)) return false;
    // A graph's own marks: one recomputed region, whose inside is redone and whose output stays.
    if (producer.selectiveRecompute && consumer.selectiveRecompute) return true;
    return producer.recomputeModules.some(
      (m) => modules.includes(m) && (OUTPUT_DISCARDING.has(m) || consumer.recomputeModules.includes(m)),
    );
  };
  for (const op of graph.ops) {
    const rule = SAVED_FOR_BACKWARD[op.kind];
    if (rule === 'inputs-and-output' && !redone(op) && !seen.has(op.output)) {
      seen.add(op.output);
      saved.push({ op: op.index, tensor: op.output, as: { kind: 'output' } });
    }
    if (rule === 'inputs' || rule === 'inputs-and-output' || redone(op)) {
      op.inputs.forEach((name, index) => {
        const t = graph.tensors.get(name)!;
        if (t.param || seen.has(name)) return;
        // A recomputed op is rerun from its inputs, so the checkpoint keeps those that reach it
        // from outside the recomputed region even where its own kind would keep none (a bias add
        // opening the experts' activation, Megatron's moe_act: its checkpoint holds fc1's output).
        if (!redone(op) && !op.keptInputs.has(index)) return;
        if (t.producer !== null && regenerated(graph.ops[t.producer]!, op)) return;
        seen.add(name);
        saved.push({ op: op.index, tensor: name, as: { kind: 'input', index } });
      });
    } else if (rule === 'output' || rule === 'mask') {
      // Not recomputed (those took the branch above): what it keeps stays.
      const key = rule === 'mask' ? `mask:${op.name}` : op.output;
      if (seen.has(key)) continue;
      seen.add(key);
      saved.push({ op: op.index, tensor: op.output, as: { kind: rule } });
    }
  }
  return saved;
}
