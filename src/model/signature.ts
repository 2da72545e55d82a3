import { createHash } from 'node:crypto';
import type { OpGraphSpec } from '../schema/graph.ts';

/**
 * JSON with object keys sorted, so equal values print equally whatever order built them. Plain
 * loops: the search fingerprints every layer of every microbatch size it builds.
 */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      // As JSON.stringify writes a hole or undefined in an array: nothing between the commas.
      out += (i > 0 ? ',' : '') + (value[i] === undefined ? '' : canonicalJson(value[i]));
    }
    return `${out}]`;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    let out = '{';
    for (const key of Object.keys(record).sort()) {
      const field = record[key];
      if (field === undefined) continue;
      out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(field)}`;
    }
    return `${out}}`;
  }
  return JSON.stringify(value);
}

/**
 * A name-free fingerprint of a graph: every field of every op in order (einsum, kind, FLOP
 * override, reduced dims, recompute flag, …) with tensors referred to by their number in order of
 * first use and a fused op's partner by its place, and every field of those tensors (shape, dtype,
 * parameter flag) but their names. Two graphs share it exactly when one is the other renamed, which
 * is when the intra-op ILP's answer for one serves the other.
 */
export function graphSignature(graph: OpGraphSpec): string {
  const byName = new Map(graph.tensors.map((t) => [t.name, t]));
  const numberOf = new Map<string, number>();
  const tensors: unknown[] = [];
  const ref = (name: string): number => {
    const known = numberOf.get(name);
    if (known !== undefined) return known;
    numberOf.set(name, tensors.length);
    const { name: _, ...fields } = byName.get(name) ?? { name };
    tensors.push(fields);
    return tensors.length - 1;
  };
  // An op fused with another is named by that op's place in the graph, not its name.
  const position = new Map(graph.ops.map((op, i) => [op.name, i]));
  const ops = graph.ops.map(({ name: _, inputs, output, fusedWith, ...fields }) => ({
    ...fields,
    ...(fusedWith === undefined ? {} : { fusedWith: position.get(fusedWith) ?? fusedWith }),
    inputs: inputs.map(ref),
    output: ref(output),
  }));
  // Tensors no op touches still occupy memory: they belong to the fingerprint too.
  for (const t of graph.tensors) ref(t.name);
  return createHash('sha256').update(canonicalJson({ ops, tensors })).digest('hex').slice(0, 32);
}
