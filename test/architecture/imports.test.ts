/**
 * The house keeps its order (DESIGN.md §2): every import of src/ and solvers/ follows the "may
 * import" column of the layout table, arrows pointing one way, and no source file grows past 400
 * lines. The table is written here as DESIGN.md states it; a change to one is a change to both.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

type Room =
  | 'solvers'
  | 'schema'
  | 'graph'
  | 'model'
  | 'import'
  | 'cluster'
  | 'cost'
  | 'frameworks'
  | 'planner'
  | 'sweep'
  | 'queue'
  | 'view'
  | 'http'
  | 'cli'
  | 'client';

/** DESIGN.md §2, "may import" (a room may always import from itself). `cli` may import everything. */
const MAY_IMPORT: Readonly<Record<Exclude<Room, 'cli'>, readonly Room[]>> = {
  solvers: [],
  schema: [],
  graph: ['schema'],
  model: ['graph', 'schema'],
  import: ['graph', 'schema'],
  cluster: ['schema'],
  // …and the solvers' input types: checked apart, below.
  cost: ['graph', 'cluster', 'model', 'schema'],
  frameworks: ['cost', 'model', 'graph', 'cluster', 'schema'],
  planner: ['frameworks', 'cost', 'model', 'import', 'graph', 'cluster', 'schema', 'solvers'],
  sweep: ['schema'],
  queue: ['planner', 'sweep', 'schema'],
  view: ['schema', 'cluster'],
  http: ['queue', 'view', 'sweep', 'cluster', 'schema'],
  client: [],
};

/** Where the cost model may reach into solvers/: the types of the numeric problem it builds. */
const COST_MAY_READ_FROM_SOLVERS = 'solvers/problem.ts';

const MAX_LINES = 400;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|mjs|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function roomOf(file: string): Room | null {
  if (file.startsWith('solvers/')) return 'solvers';
  if (file === 'src/cli.ts') return 'cli';
  const match = /^src\/([^/]+)\//.exec(file);
  return match === null ? null : (match[1] as Room);
}

interface ImportOf {
  readonly specifier: string;
  readonly typeOnly: boolean;
}

/** Static imports and re-exports, and dynamic `import('…')` calls, with whether they carry types only. */
function importsOf(text: string): ImportOf[] {
  const found: ImportOf[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?[^;]*?from\s+['"]([^'"]+)['"]/gms;
  for (const m of text.matchAll(statement)) found.push({ specifier: m[3]!, typeOnly: m[2] !== undefined });
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm))
    found.push({ specifier: m[1]!, typeOnly: false });
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g))
    found.push({ specifier: m[1]!, typeOnly: false });
  return found;
}

const files = [...sourceFiles('src'), ...sourceFiles('solvers')];

describe('the layout of DESIGN.md §2', () => {
  it('finds the rooms it checks', () => {
    const rooms = new Set(files.map(roomOf));
    for (const room of [
      'solvers',
      'schema',
      'cost',
      'frameworks',
      'planner',
      'sweep',
      'queue',
      'http',
      'cli',
    ]) {
      expect(rooms, room).toContain(room);
    }
    expect(files.filter((f) => roomOf(f) === null)).toEqual([]);
  });

  it('reads static, type-only and dynamic imports', () => {
    const text = [
      "import { a } from '../graph/graph.ts';",
      "import type { B } from '../../solvers/problem.ts';",
      "export { c } from './c.ts';",
      "const d = await import('../planner/plan.ts');",
    ].join('\n');
    expect(importsOf(text)).toEqual([
      { specifier: '../graph/graph.ts', typeOnly: false },
      { specifier: '../../solvers/problem.ts', typeOnly: true },
      { specifier: './c.ts', typeOnly: false },
      { specifier: '../planner/plan.ts', typeOnly: false },
    ]);
  });

  it('every import points down the table', () => {
    const violations: string[] = [];
    for (const file of files) {
      const room = roomOf(file)!;
      if (room === 'cli') continue;
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const { specifier, typeOnly } of importsOf(text)) {
        if (!specifier.startsWith('.')) continue;
        const target = relative(ROOT, resolve(ROOT, dirname(file), specifier)).replaceAll('\\', '/');
        const to = roomOf(target);
        // Files outside src/ and solvers/ (package.json, the OpenAPI document's types) are not rooms.
        if (to === null || to === room) continue;
        if (MAY_IMPORT[room].includes(to)) continue;
        if (room === 'cost' && typeOnly && target === COST_MAY_READ_FROM_SOLVERS) continue;
        violations.push(`${file} (${room}) imports ${target} (${to})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it(`no source file outside test/ and bench/ is over ${MAX_LINES} lines`, () => {
    const long = [...files, ...sourceFiles('scripts')].flatMap((file) => {
      const lines = readFileSync(join(ROOT, file), 'utf8').split('\n').length;
      return lines > MAX_LINES ? [`${file}: ${lines} lines`] : [];
    });
    expect(long).toEqual([]);
  });
});
