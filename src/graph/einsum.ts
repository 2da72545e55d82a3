/** A parsed einsum: one string of single-letter dims per operand and for the result. */
export interface Einsum {
  readonly inputs: readonly string[];
  readonly output: string;
  /** Every letter, in first-seen order. */
  readonly letters: readonly string[];
  /** Letters summed over: present in some input, absent from the output. */
  readonly contracted: readonly string[];
}

export type EinsumParse = { ok: true; einsum: Einsum } | { ok: false; message: string };

const OPERAND = /^[a-zA-Z]*$/;

/** Parses "bsh,hf->bsf". Repeated letters within one operand (traces, diagonals) are not supported. */
export function parseEinsum(text: string): EinsumParse {
  const parts = text.replace(/\s+/g, '').split('->');
  if (parts.length !== 2)
    return { ok: false, message: `expected "inputs->output" such as "bsh,hf->bsf", got "${text}"` };
  const [lhs, output] = parts as [string, string];
  const inputs = lhs.split(',');
  for (const operand of [...inputs, output]) {
    if (!OPERAND.test(operand))
      return { ok: false, message: `operand "${operand}" may hold only letters a-z, A-Z` };
    if (new Set(operand).size !== operand.length) {
      return {
        ok: false,
        message: `operand "${operand}" repeats a letter (traces and diagonals are not supported)`,
      };
    }
  }
  if (inputs.some((operand) => operand.length === 0 && lhs.length === 0)) {
    return { ok: false, message: 'an einsum needs at least one input operand' };
  }
  const letters: string[] = [];
  for (const operand of inputs) for (const l of operand) if (!letters.includes(l)) letters.push(l);
  for (const l of output) {
    if (!letters.includes(l)) return { ok: false, message: `output letter "${l}" appears in no input` };
  }
  return {
    ok: true,
    einsum: { inputs, output, letters, contracted: letters.filter((l) => !output.includes(l)) },
  };
}
