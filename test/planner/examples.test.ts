import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_FIXTURES, exampleAnswer, stable } from './example-answers.ts';

/** Equal up to floating-point summation order (1e-9 relative): any real change moves far more. */
function differences(actual: unknown, expected: unknown, path: string, out: string[]): void {
  if (out.length >= 10) return;
  if (typeof expected === 'number' && typeof actual === 'number') {
    const scale = Math.max(Math.abs(expected), Math.abs(actual));
    if (Math.abs(actual - expected) > 1e-9 * scale) out.push(`${path}: ${actual} ≠ ${expected}`);
    return;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (actual.length !== expected.length) out.push(`${path}: length ${actual.length} ≠ ${expected.length}`);
    else for (const [i, e] of expected.entries()) differences(actual[i], e, `${path}[${i}]`, out);
    return;
  }
  if (expected !== null && typeof expected === 'object' && actual !== null && typeof actual === 'object') {
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const k of keys) {
      differences(
        (actual as Record<string, unknown>)[k],
        (expected as Record<string, unknown>)[k],
        `${path}.${k}`,
        out,
      );
    }
    return;
  }
  if (actual !== expected) out.push(`${path}: ${JSON.stringify(actual)} ≠ ${JSON.stringify(expected)}`);
}

describe('the answers for examples/ (fixtures written by scripts/example-fixtures.ts)', () => {
  for (const fixture of EXAMPLE_FIXTURES) {
    it(`${fixture.kind} ${fixture.file}${'parallel' in fixture && fixture.parallel ? ' (pinned)' : ''}`, async () => {
      const input: unknown = JSON.parse(
        await readFile(new URL(`../../examples/${fixture.file}`, import.meta.url), 'utf8'),
      );
      const expected: unknown = JSON.parse(
        await readFile(new URL(`../fixtures/examples/${fixture.fixture}`, import.meta.url), 'utf8'),
      );
      const actual = JSON.parse(JSON.stringify(stable(await exampleAnswer(fixture, input))));
      const found: string[] = [];
      differences(actual, expected, fixture.fixture, found);
      expect(found).toEqual([]);
    }, 60_000);
  }
});
