/**
 * Dotted request paths (`cluster.nodes`, `parallel.tp`) as a sweep's grid names them: one rule for
 * which paths are allowed and how a value is set at one, for the grid's expansion and for the API's
 * checks of each value alone.
 */

/** Path segments that would reach an object's prototype rather than a request field. */
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

/** Why a grid path is not a request path, or null when it is one. */
export function pathProblem(path: string): string | null {
  const segments = path.split('.');
  return segments.some((segment) => segment === '' || FORBIDDEN_SEGMENTS.has(segment))
    ? 'expected a dotted path to a request field, e.g. cluster.nodes'
    : null;
}

/**
 * Sets `value` at `path` inside `root`. Missing objects on the way are created (`parallel.tp` on a
 * request without `parallel`); a segment that holds something other than an object is an error,
 * returned as its message (null when the value was set).
 */
export function setAtPath(root: Record<string, unknown>, path: string, value: unknown): string | null {
  const segments = path.split('.');
  let cursor = root;
  for (const [depth, segment] of segments.slice(0, -1).entries()) {
    const next = Object.hasOwn(cursor, segment) ? cursor[segment] : undefined;
    if (next === undefined) {
      cursor[segment] = {};
    } else if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      return `${segments.slice(0, depth + 1).join('.')} is not an object in the base request`;
    }
    cursor = cursor[segment] as Record<string, unknown>;
  }
  cursor[segments.at(-1)!] = value;
  return null;
}

/** A copy of `base` with `value` at `path`, or null when the path cannot hold it. */
export function withPath(base: object, path: string, value: unknown): Record<string, unknown> | null {
  const root = structuredClone(base) as Record<string, unknown>;
  return setAtPath(root, path, value) === null ? root : null;
}
