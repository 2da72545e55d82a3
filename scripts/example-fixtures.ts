/**
 * Writes the answers meshplan gives for the files in examples/ to test/fixtures/examples/, which
 * test/planner/examples.test.ts compares against: a refactoring must leave them identical. Run it
 * (`npx tsx scripts/example-fixtures.ts`) only when a change is meant to move plans, and say so in
 * the commit.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { EXAMPLE_FIXTURES, exampleAnswer, stable } from '../test/planner/example-answers.ts';

const dir = new URL('../test/fixtures/examples/', import.meta.url);
await mkdir(dir, { recursive: true });
for (const fixture of EXAMPLE_FIXTURES) {
  const request: unknown = JSON.parse(
    await readFile(new URL(`../examples/${fixture.file}`, import.meta.url), 'utf8'),
  );
  const answer = stable(await exampleAnswer(fixture, request));
  await writeFile(new URL(fixture.fixture, dir), `${JSON.stringify(answer, null, 1)}\n`);
  process.stdout.write(`${fixture.fixture}\n`);
}
