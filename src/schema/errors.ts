import type { z } from 'zod';

/** One thing wrong with the input, located by a dotted/indexed path such as `ops[3].einsum`. */
export interface InputIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * Bad input: a stable `name`/`code` that survives process boundaries, and every issue with the
 * field it concerns, so a CLI can print it and an HTTP layer can turn it into a problem document.
 */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
  readonly code = 'INVALID_INPUT';
  readonly issues: readonly InputIssue[];
  /** What was invalid ("request", "cluster", "graph"), as the message's head says. */
  readonly what: string;

  constructor(issues: readonly InputIssue[], what = 'input') {
    super(`invalid ${what}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
    this.issues = issues;
    this.what = what;
  }

  /** The same error located inside a larger input: every path under `prefix` (`cluster.gpu`). */
  under(prefix: string): InvalidInputError {
    const issues = this.issues.map((i) => ({
      path: i.path ? `${prefix}.${i.path}` : prefix,
      message: i.message,
    }));
    return new InvalidInputError(issues, this.what);
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** Parses with a zod schema, turning its issues into an InvalidInputError with `prefix` paths. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
  prefix: readonly PropertyKey[] = [],
): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new InvalidInputError(
    result.error.issues.flatMap((issue) =>
      // A misspelt field is located at the field itself, not at the object holding it.
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({
            path: formatPath([...prefix, ...issue.path, key]),
            message: `unknown field "${key}"`,
          }))
        : [{ path: formatPath([...prefix, ...issue.path]), message: issue.message }],
    ),
    what,
  );
}
