import type { Lowering, Operand, OpRecord } from './lowering.ts';

/**
 * Kernels as a training step runs them, not as ONNX spells them: torch.onnx.export writes GELU as
 * five elementwise nodes, RMSNorm as seven, attention as matmul, scale, mask, softmax and matmul,
 * and a biased Linear as MatMul + Add. Each of those runs as one kernel in practice (fused
 * activations and norms, FlashAttention / scaled_dot_product_attention, cuBLAS bias epilogues), and
 * pricing every ONNX node as a kernel of its own would charge their memory traffic many times over.
 */
export function fuse(L: Lowering): void {
  fuseAttention(L);
  fuseBias(L);
  fuseElementwise(L);
}

/** Which record writes each tensor, and which read it (by the tensor they finally read). */
function edges(L: Lowering) {
  const producer = new Map<string, OpRecord>();
  const consumers = new Map<string, OpRecord[]>();
  for (const r of L.records) {
    producer.set(L.base(r.output.tensor), r);
    for (const o of r.operands) {
      const base = L.base(o.tensor);
      consumers.set(base, [...(consumers.get(base) ?? []), r]);
    }
  }
  return { producer, consumers };
}

const isWeight = (L: Lowering, o: Operand) => L.tensors.get(L.base(o.tensor))?.origin === 'weight';

/** Rewrites every variable of a record through `sub` (variables found to be one index). */
function substitute(r: OpRecord, sub: (v: number) => number): void {
  const map = (o: Operand): Operand => ({
    tensor: o.tensor,
    vars: o.vars.map((v) => (v === null ? null : sub(v))),
  });
  r.operands = r.operands.map(map);
  r.output = map(r.output);
  for (const v of [...r.reduced]) {
    r.reduced.delete(v);
    r.reduced.add(sub(v));
  }
  for (const [v, width] of [...r.halo]) {
    r.halo.delete(v);
    r.halo.set(sub(v), width);
  }
}

/** Variables found to be one index while fusing, as a union-find over variable ids. */
class VarUnion {
  private readonly parent = new Map<number, number>();

  find = (v: number): number => {
    let r = v;
    while (this.parent.has(r)) r = this.parent.get(r)!;
    return r;
  };

  union(a: number, b: number): void {
    const [ra, rb] = [this.find(a), this.find(b)];
    if (ra !== rb) this.parent.set(rb, ra);
  }

  /** Position-wise: a producer's output and a consumer's operand reading it without a view. */
  pair(a: Operand, b: Operand): void {
    a.vars.forEach((v, i) => {
      const w = b.vars[i];
      if (v !== null && w !== null && w !== undefined) this.union(v, w);
    });
  }
}

function replace(L: Lowering, removed: ReadonlySet<OpRecord>, at: OpRecord, fused: OpRecord): void {
  const kept = L.records.filter((r) => r === at || !removed.has(r));
  L.records.length = 0;
  L.records.push(...kept.map((r) => (r === at ? fused : r)));
}

/**
 * Attention as one kernel: scores = q·kᵀ (two activations), any elementwise scale or mask, softmax
 * over the key position, optional dropout, context = probs·v. The fused op (kind `attention`) reads
 * q, k and v, may not split the key position nor the contracted head dim, and does the two
 * contractions' FLOPs (half of them performed under a causal mask).
 */
function fuseAttention(L: Lowering): void {
  // Edges are read once: each fusion replaces records no other fusion looks at.
  const { producer, consumers } = edges(L);
  for (const softmax of L.records.filter((r) => r.kind === 'softmax')) {
    const chain: OpRecord[] = [softmax];
    let scores: OpRecord | undefined;
    for (let r = softmax; ; ) {
      const input = r.operands.find((o) => !isWeight(L, o));
      const p = input && input.tensor === L.base(input.tensor) ? producer.get(input.tensor) : undefined;
      if (p === undefined || (consumers.get(p.output.tensor) ?? []).length !== 1) break;
      if (p.kind === 'matmul' && p.operands.length === 2 && !p.operands.some((o) => isWeight(L, o))) {
        scores = p;
        break;
      }
      if (p.kind !== 'elementwise' || p.operands.filter((o) => !isWeight(L, o)).length !== 1) break;
      chain.unshift(p);
      r = p;
    }
    let context: OpRecord | undefined;
    for (let r = softmax; scores !== undefined; ) {
      const next = consumers.get(r.output.tensor) ?? [];
      if (next.length !== 1) break;
      const c = next[0]!;
      if (
        c.kind === 'matmul' &&
        c.operands.length === 2 &&
        c.operands[0]!.tensor === r.output.tensor &&
        !isWeight(L, c.operands[1]!)
      ) {
        context = c;
        break;
      }
      if (
        (c.kind !== 'dropout' && c.kind !== 'elementwise') ||
        c.operands.length !== 1 ||
        c.operands[0]!.tensor !== r.output.tensor
      )
        break;
      chain.push(c);
      r = c;
    }
    if (scores === undefined || context === undefined) continue;
    const sub = new VarUnion();
    let previous = scores;
    for (const r of [...chain, context]) {
      sub.pair(previous.output, r.operands[0]!);
      previous = r;
    }
    const find = sub.find;
    substitute(context, find);
    for (const r of chain) substitute(r, find);
    const outVars = scores.output.vars;
    const keyPosition = outVars.at(-1);
    const qVars = scores.operands[0]!.vars;
    const headDim = qVars.at(-1);
    // The chain admits only ops with one activation operand, so a mask fused into it (masked_fill,
    // ONNX Where) is a constant of the model: the causal mask a decoder exports (masked_fill with
    // ~tril), which the fused kernel applies by skipping the masked blocks.
    const fused = L.record({
      name: `${scores.name}+attention`,
      op: context.op,
      kind: 'attention',
      operands: [...scores.operands, context.operands[1]!],
      output: context.output,
      flops: scores.flops + context.flops,
      causal: chain.some((r) => r.op === 'Where'),
    });
    L.records.pop();
    for (const v of [keyPosition, headDim]) if (v !== null && v !== undefined) fused.reduced.add(v);
    for (const v of outVars.slice(0, -2)) if (v !== null) L.hints.push({ v, role: 'heads' });
    for (const v of [headDim, context.output.vars.at(-1)])
      if (v !== null && v !== undefined) L.hints.push({ v, role: 'headDim' });
    replace(L, new Set([scores, ...chain, context]), context, fused);
  }
}

/** A bias added to a contraction's output joins the contraction (its epilogue). */
function fuseBias(L: Lowering): void {
  const { producer, consumers } = edges(L);
  for (const add of [...L.records]) {
    if (add.kind !== 'elementwise' || add.operands.length !== 2) continue;
    const bias = add.operands.find((o) => isWeight(L, o));
    const input = add.operands.find((o) => !isWeight(L, o));
    if (bias === undefined || input === undefined || input.tensor !== L.base(input.tensor)) continue;
    const mm = producer.get(input.tensor);
    if (mm?.kind !== 'matmul' || (consumers.get(input.tensor) ?? []).length !== 1) continue;
    // The add's operands use its output's variables: map them onto the contraction's output.
    const sub = new VarUnion();
    sub.pair(mm.output, input);
    substitute(add, sub.find);
    substitute(mm, sub.find);
    mm.operands.push(add.operands.find((o) => isWeight(L, o))!);
    mm.output = L.bind(add.output.tensor, mm.output.vars);
    mm.flops += add.flops;
    replace(L, new Set([add]), mm, mm);
  }
}

/**
 * Ops a fused elementwise kernel can hold: elementwise math, sums of two activations, and the
 * slices and concatenations that only move elements within it (rotary embeddings' rotate-half).
 */
const FUSIBLE_LAYOUT_OPS = new Set(['Slice', 'Split', 'Concat']);
const REDUCTIONS = new Set(['ReduceMean', 'ReduceSum', 'ReduceMax']);
const fusible = (r: OpRecord) =>
  r.kind === 'elementwise' || r.kind === 'add' || (r.kind === 'reshape' && FUSIBLE_LAYOUT_OPS.has(r.op));

/**
 * Chains of elementwise ops and reductions fed by one activation become one kernel: GELU's
 * erf-based five nodes, RMSNorm's pow-mean-add-sqrt-div-mul, RoPE's multiply-rotate-add. A region grows backward from its last
 * op through producers whose outputs only the region reads. A reduction whose dim the region
 * broadcasts back (a norm's mean over h) makes the region a norm that may not split that dim.
 */
function fuseElementwise(L: Lowering): void {
  const done = new Set<OpRecord>();
  // Regions are disjoint and fused records are never grown into again: edges are read once.
  const { producer, consumers } = edges(L);
  for (const last of [...L.records].reverse()) {
    if (!fusible(last) || done.has(last)) continue;
    const region = new Set([last]);
    const sub = new VarUnion();
    for (let grew = true; grew; ) {
      grew = false;
      for (const member of [...region]) {
        for (const o of member.operands) {
          const p = o.tensor === L.base(o.tensor) ? producer.get(o.tensor) : undefined;
          // A sum of two activations joins only as the region's last op: one feeding a region is a
          // residual connection, whose output the next block reads as well.
          if (p === undefined || region.has(p) || !fusible(p) || p.kind === 'add' || done.has(p)) continue;
          if (!(consumers.get(p.output.tensor) ?? []).every((c) => region.has(c))) continue;
          region.add(p);
          grew = true;
        }
      }
    }
    for (const r of region) done.add(r);
    if (region.size === 1) continue;
    const members = L.records.filter((r) => region.has(r));
    // Internal edges pair the producer's variables with the reader's; an outside tensor read by
    // several members (RMSNorm's x, by the square and by the scaling) is one index set too.
    const firstRead = new Map<string, Operand>();
    for (const c of members)
      for (const o of c.operands) {
        const p = producer.get(o.tensor);
        if (p !== undefined && region.has(p)) sub.pair(p.output, o);
        else if (firstRead.has(o.tensor)) sub.pair(firstRead.get(o.tensor)!, o);
        else firstRead.set(o.tensor, o);
      }
    for (const r of members) substitute(r, sub.find);
    const internal = new Set(members.filter((r) => r !== last).map((r) => r.output.tensor));
    const operands: Operand[] = [];
    for (const o of members.flatMap((r) => r.operands)) {
      if (internal.has(o.tensor)) continue;
      if (!operands.some((x) => x.tensor === o.tensor && x.vars.join() === o.vars.join())) operands.push(o);
    }
    const outVars = new Set(last.output.vars);
    const reduced = new Set(members.flatMap((r) => [...r.reduced]));
    // Dims a member contracts but the region's output keeps: the region normalises over them.
    const normalised = new Set<number>();
    for (const r of members.filter((m) => REDUCTIONS.has(m.op))) {
      const own = new Set(r.output.vars);
      for (const o of r.operands)
        for (const v of o.vars) if (v !== null && !own.has(v) && outVars.has(v)) normalised.add(v);
    }
    for (const v of normalised) reduced.add(v);
    const norm = normalised.size > 0;
    const fused = L.record({
      name: `${members[0]!.name}+${members.length - 1}`,
      op: last.op,
      kind: norm ? 'norm' : 'elementwise',
      operands,
      output: last.output,
      flops: members.reduce((s, r) => s + r.flops, 0),
    });
    L.records.pop();
    for (const v of reduced) fused.reduced.add(v);
    for (const r of members) for (const [v, width] of r.halo) fused.halo.set(v, width);
    for (const v of normalised) L.hints.push({ v, role: 'hidden' });
    replace(L, region, last, fused);
  }
}
