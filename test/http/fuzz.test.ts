/**
 * Hostile input, generated: valid requests mutated at a random place into wrong types, huge or NaN-like
 * values, deep nesting, unicode, cycles and dims that do not divide, sent to every endpoint. The oracle
 * is the HTTP contract itself: never a 5xx, and every 4xx a problem document; a 400 names each field.
 * Jobs that pass go to the real inline queue with an instant stand-in planner, so nothing is planned.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type MeshplanApp } from '../../src/http/app.ts';
import { InlineJobQueue } from '../../src/queue/inline-queue.ts';
import { instantRunner } from '../queue/helpers.ts';

const KEY = { authorization: 'Bearer fuzz-key' };
/** Tight limits keep every estimate (priced on the API thread) in milliseconds. */
const LIMITS = {
  bodyBytes: 256 * 1024,
  graphOps: 48,
  graphTensors: 96,
  modelLayers: 12,
  clusterGpus: 2048,
  sweepPoints: 40,
  waitSec: 1,
  rateLimitMax: 0,
};

let app: MeshplanApp;
let queue: InlineJobQueue;
let sent = 0;
/** Ids the server handed out, so GET/DELETE also hit real jobs and sweeps. */
const knownIds: string[] = [];
/** Answers per route (`POST /v1/plans`) and status: an API that refused everything would pass the rest. */
const tally = new Map<string, Map<number, number>>();

beforeAll(async () => {
  queue = new InlineJobQueue({ runner: instantRunner(), concurrency: 2 });
  app = buildApp({ queue, apiKeys: ['fuzz-key'], limits: LIMITS });
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await queue.close();
  // The brief's floor: at least 10,000 generated requests in all.
  expect(sent).toBeGreaterThanOrEqual(10_000);
  // The generators reach both sides of every submitting route: accepted work and named rejections,
  // and the key is never the reason (no 401 anywhere).
  for (const route of ['POST /v1/plans', 'POST /v1/estimates', 'POST /v1/sweeps']) {
    const statuses = [...(tally.get(route) ?? new Map<number, number>()).entries()];
    const count = (match: (status: number) => boolean) =>
      statuses.reduce((n, [status, c]) => (match(status) ? n + c : n), 0);
    expect(
      count((status) => status < 300),
      route,
    ).toBeGreaterThan(0);
    expect(
      count((status) => status === 400),
      route,
    ).toBeGreaterThan(0);
  }
  for (const [route, statuses] of tally) expect(statuses.get(401) ?? 0, route).toBe(0);
});

interface Sent {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  payload?: string;
  contentType?: string;
}

/** Sends one request and checks the contract; returns the parsed body for further checks. */
async function send(request: Sent): Promise<{ status: number; body: unknown }> {
  sent += 1;
  const response = await app.inject({
    method: request.method,
    url: request.url,
    headers: {
      ...KEY,
      ...(request.payload === undefined ? {} : { 'content-type': request.contentType ?? 'application/json' }),
    },
    ...(request.payload === undefined ? {} : { payload: request.payload }),
  });
  const route = `${request.method} ${request.url.split('?')[0]}`;
  const byStatus = tally.get(route) ?? new Map<number, number>();
  byStatus.set(response.statusCode, (byStatus.get(response.statusCode) ?? 0) + 1);
  tally.set(route, byStatus);
  const where = `${request.method} ${request.url} ${request.payload?.slice(0, 300) ?? ''}`;
  expect(response.statusCode, `${where}\n→ ${response.body.slice(0, 500)}`).toBeLessThan(500);
  expect(response.body, where).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
  if (response.statusCode >= 400) {
    expect(String(response.headers['content-type']), where).toMatch(/^application\/problem\+json/);
    const problem = response.json() as {
      status: number;
      type: string;
      title: string;
      errors?: { path: string }[];
    };
    expect(problem.status, where).toBe(response.statusCode);
    expect(typeof problem.title).toBe('string');
    if (problem.type === 'urn:meshplan:problem:invalid-input') {
      expect(problem.errors?.length, `${where}\n→ ${response.body}`).toBeGreaterThan(0);
      for (const error of problem.errors!) expect(error.path, `${where}\n→ ${response.body}`).not.toBe('');
    }
  }
  const body = response.body === '' ? null : safeJson(response.body);
  const id = (body as { id?: unknown } | null)?.id;
  if (response.statusCode < 300 && typeof id === 'string' && knownIds.length < 200) knownIds.push(id);
  return { status: response.statusCode, body };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// ---- generators -------------------------------------------------------------------------------

const nasty = fc.oneof(
  fc.constantFrom(
    null,
    true,
    '',
    'NaN',
    'Infinity',
    '-Infinity',
    '1e9',
    '0x10',
    '  8 ',
    '💥名前\u0000\u202e',
    '__proto__',
    0,
    -1,
    0.5,
    1e9,
    1e21,
    Number.MAX_SAFE_INTEGER,
    2 ** 53 + 1,
    1.7976931348623157e308,
    -0,
    [],
    {},
    [null],
    { __proto__: null, constructor: { prototype: 1 } },
  ),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.nat(40).map((depth) => nest(depth)),
  fc.jsonValue({ maxDepth: 3 }),
);

function nest(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

const transformer = fc.record({
  kind: fc.constant('transformer'),
  layers: fc.integer({ min: 1, max: 16 }),
  hidden: fc.constantFrom(64, 128, 256, 4096, 1_000_000),
  heads: fc.constantFrom(1, 2, 3, 4, 8),
  vocab: fc.constantFrom(100, 1000, 50_000),
  seqLen: fc.constantFrom(16, 128, 2048),
  activation: fc.constantFrom('gelu', 'swiglu'),
});

/** A chain of matmuls; `twist` makes it cyclic, its dims disagree, or its names clash. */
const graph = fc
  .record({
    ops: fc.integer({ min: 1, max: 60 }),
    dim: fc.constantFrom(8, 12, 64, 96),
    twist: fc.constantFrom('none', 'cycle', 'mismatch', 'duplicate', 'unknown', 'unicode'),
  })
  .map(({ ops, dim, twist }) => {
    const tensors: unknown[] = [{ name: 't0', shape: [4, dim] }];
    const list: unknown[] = [];
    for (let i = 0; i < ops; i++) {
      tensors.push({
        name: `w${i}`,
        shape: [twist === 'mismatch' && i === ops - 1 ? dim + 1 : dim, dim],
        param: true,
      });
      tensors.push({ name: `t${i + 1}`, shape: [4, dim] });
      list.push({
        name: twist === 'duplicate' ? 'op' : twist === 'unicode' ? `öp-${i}-名` : `op${i}`,
        einsum: 'bh,hf->bf',
        inputs: [twist === 'cycle' && i === 0 ? `t${ops}` : `t${i}`, twist === 'unknown' ? 'ghost' : `w${i}`],
        output: `t${i + 1}`,
        kind: 'matmul',
      });
    }
    return { kind: 'graph', graph: { tensors, ops: list } };
  });

const planRequest = fc.record(
  {
    model: fc.oneof(transformer, graph),
    cluster: fc.record({
      gpu: fc.constantFrom('A100-80GB', 'H100-80GB', 'a100-80gb', 'H900', ''),
      nodes: fc.constantFrom(1, 2, 4, 1000, 100_000, 1e9),
      gpusPerNode: fc.constantFrom(1, 2, 8, 1024),
    }),
    training: fc.record({ globalBatch: fc.constantFrom(1, 8, 16, 1e9) }, { requiredKeys: [] }),
    parallel: fc.record(
      {
        tp: fc.constantFrom(1, 2, 3, 8),
        pp: fc.constantFrom(1, 2, 5),
        dp: fc.constantFrom(1, 2, 4),
        microBatch: fc.constantFrom(1, 2, 8),
      },
      { requiredKeys: [] },
    ),
    options: fc.record(
      { timeLimitSec: fc.constantFrom(1, 0, 3600, 1e9), memoryHeadroom: fc.constantFrom(0.9, 0, 2) },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['model', 'cluster', 'training'] },
);

/** Every path to a value inside `value`, the root included. */
function paths(
  value: unknown,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(prefix);
  if (out.length > 400) return out;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) paths(item, [...prefix, i], out);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) paths(item, [...prefix, key], out);
  }
  return out;
}

type Mutation =
  | { kind: 'replace'; value: unknown }
  | { kind: 'delete' }
  | { kind: 'extra'; key: string; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: nasty.map((value) => ({ kind: 'replace' as const, value })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'delete' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('extra' as const),
      key: fc.string({ maxLength: 8 }),
      value: nasty,
    }),
  },
);

/** `value` with one mutation applied at the `pick`-th path (a fresh copy; the root may be replaced). */
function mutate(value: unknown, pick: number, how: Mutation): unknown {
  const copy = structuredClone(value);
  const all = paths(copy);
  const path = all[pick % all.length]!;
  if (path.length === 0) return how.kind === 'replace' ? how.value : copy;
  let parent = copy as Record<string | number, unknown>;
  for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (how.kind === 'replace') parent[last] = how.value;
  else if (how.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else {
    const target = parent[last];
    if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
      Object.defineProperty(target, how.key, {
        value: how.value,
        enumerable: true,
        configurable: true,
        writable: true,
      });
    }
  }
  return copy;
}

const mutatedPlan = fc
  .tuple(planRequest, fc.nat(), mutation, fc.boolean())
  .map(([request, pick, how, keep]) => (keep ? request : mutate(request, pick, how)));

/** A fixed configuration estimate() can price (tp·pp·dp = the GPUs), then maybe mutated. */
const estimable = fc
  .record({ gpus: fc.constantFrom(1, 2, 4, 8), tpShare: fc.nat(3), ppShare: fc.nat(3) })
  .map(({ gpus, tpShare, ppShare }) => {
    const tp = Math.min(gpus, 2 ** tpShare);
    const pp = Math.min(gpus / tp, 2 ** ppShare);
    return {
      model: { kind: 'transformer', layers: 4, hidden: 256, heads: 4, vocab: 1000, seqLen: 128 },
      cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: gpus },
      training: { globalBatch: 16 },
      parallel: { tp, pp, dp: gpus / tp / pp, microBatch: 1 },
    };
  });
const mutatedEstimate = fc
  .tuple(estimable, fc.nat(), mutation, fc.boolean())
  .map(([request, pick, how, keep]) => (keep ? request : mutate(request, pick, how)));

const RUNS = { seed: 20_240_601, endOnFailure: true } as const;

describe('fuzzing every endpoint (fast-check, inline queue, stand-in planner)', () => {
  it('POST /v1/plans, with and without ?wait: 3,000 requests', async () => {
    const wait = fc.constantFrom(
      '',
      '?wait=0',
      '?wait=1',
      '?wait=2',
      '?wait=NaN',
      '?wait=-1',
      '?wait=1e9',
      '?wait=abc',
      '?wait=1&x=2',
      '?wait=%F0%9F%92%A5',
    );
    await fc.assert(
      fc.asyncProperty(mutatedPlan, wait, async (body, query) => {
        await send({ method: 'POST', url: `/v1/plans${query}`, payload: JSON.stringify(body) });
      }),
      { ...RUNS, numRuns: 3000 },
    );
  });

  it('POST /v1/estimates: 2,000 requests', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 4, arbitrary: mutatedPlan }, mutatedEstimate), async (body) => {
        await send({ method: 'POST', url: '/v1/estimates', payload: JSON.stringify(body) });
      }),
      { ...RUNS, numRuns: 2000 },
    );
  });

  it('POST /v1/sweeps: 1,500 requests', async () => {
    const gridValue = fc.oneof(
      fc.array(nasty, { maxLength: 6 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
      nasty,
    );
    const gridPath = fc.constantFrom(
      'cluster.nodes',
      'cluster.gpusPerNode',
      'training.globalBatch',
      'model.layers',
      'model',
      'cluster',
      '__proto__.x',
      'a..b',
      '',
      'model.graph.ops',
      'parallel.tp',
    );
    const sweep = fc
      .tuple(
        planRequest,
        fc.dictionary(gridPath, gridValue, { maxKeys: 3 }),
        fc.nat(),
        mutation,
        fc.boolean(),
      )
      .map(([base, grid, pick, how, keep]) => (keep ? { base, grid } : mutate({ base, grid }, pick, how)));
    await fc.assert(
      fc.asyncProperty(sweep, async (body) => {
        await send({ method: 'POST', url: '/v1/sweeps', payload: JSON.stringify(body) });
      }),
      { ...RUNS, numRuns: 1500 },
    );
  });

  it('GET and DELETE of plans and sweeps, catalog and operations: 2,500 requests', async () => {
    // Ids of real jobs and sweeps, from the submissions above, so reads hit existing records too.
    expect(knownIds.length).toBeGreaterThan(0);
    const id = fc.oneof(
      fc.constantFrom(
        '',
        'x',
        '%00',
        '..%2F..%2Fetc',
        'a'.repeat(201),
        'a'.repeat(300),
        '%E0%A4%A',
        '💥',
        '0'.repeat(64),
      ),
      fc.string({ maxLength: 30 }).map(encodeURIComponent),
      fc.nat().map((i) => knownIds[i % Math.max(1, knownIds.length)] ?? 'none'),
    );
    const route = fc.constantFrom(
      ['GET', '/v1/plans/'],
      ['DELETE', '/v1/plans/'],
      ['GET', '/v1/sweeps/'],
      ['GET', '/v1/sweeps/{id}/rows.csv'],
      ['GET', '/v1/gpus?'],
      ['GET', '/healthz?'],
      ['GET', '/readyz?'],
      ['GET', '/metrics?'],
      ['POST', '/v1/plans/'],
      ['GET', '/nope/'],
    );
    const sort = fc.constantFrom('', '?sort=tokensPerSec', '?sort=nope', '?sort=', '?sort[]=mfu', '?x=1');
    await fc.assert(
      fc.asyncProperty(route, id, sort, async ([method, url], anId, query) => {
        const target = url.includes('{id}') ? url.replace('{id}', anId) : `${url}${anId}`;
        await send({ method: method as Sent['method'], url: `${target}${query}` });
      }),
      { ...RUNS, numRuns: 2500 },
    );
  });

  it('malformed bodies: broken JSON, deep nesting, wrong media types, oversize: 1,200 requests', async () => {
    const raw = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.constantFrom(
        '',
        '{',
        'null',
        '[]',
        '"x"',
        '1e999',
        '{"model":',
        '\u0000',
        '{"__proto__":{"x":1}}',
        '{"constructor":{"prototype":{}}}',
      ),
      fc.integer({ min: 1, max: 20_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
      fc.integer({ min: 1, max: 5_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
      fc.constant(JSON.stringify({ pad: 'x'.repeat(LIMITS.bodyBytes) })),
    );
    const url = fc.constantFrom('/v1/plans', '/v1/estimates', '/v1/sweeps');
    const type = fc.constantFrom(
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=latin1',
      'multipart/form-data',
    );
    await fc.assert(
      fc.asyncProperty(url, raw, type, async (target, payload, contentType) => {
        await send({ method: 'POST', url: target, payload, contentType });
      }),
      { ...RUNS, numRuns: 1200 },
    );
  });

  it('names the limit that was breached', async () => {
    const base = { cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 }, training: { globalBatch: 8 } };
    const model = { kind: 'transformer', layers: 2, hidden: 256, heads: 4, vocab: 1000, seqLen: 128 };
    const cases: [string, string, unknown, string][] = [
      [
        '/v1/plans',
        '',
        { ...base, model, cluster: { gpu: 'A100-80GB', nodes: 1000, gpusPerNode: 8 } },
        'cluster',
      ],
      ['/v1/plans', '', { ...base, model: { ...model, layers: 13 } }, 'model.layers'],
      ['/v1/plans', '?wait=2', { ...base, model }, 'wait'],
      [
        '/v1/sweeps',
        '',
        {
          base: { ...base, model },
          grid: { 'training.globalBatch': Array.from({ length: 41 }, (_, i) => 8 * (i + 1)) },
        },
        'grid',
      ],
      [
        '/v1/sweeps',
        '',
        { base: { ...base, model }, grid: { 'cluster.nodes': [1, 512] } },
        'grid.cluster.nodes',
      ],
      [
        '/v1/sweeps',
        '',
        { base: { ...base, model }, grid: { model: [{ ...model, layers: 100 }] } },
        'grid.model',
      ],
    ];
    for (const [url, query, body, path] of cases) {
      const { status, body: problem } = await send({
        method: 'POST',
        url: `${url}${query}`,
        payload: JSON.stringify(body),
      });
      expect(status).toBe(400);
      expect((problem as { errors: { path: string }[] }).errors.map((e) => e.path)).toContain(path);
    }
    const graphOps = Array.from({ length: 49 }, (_, i) => ({
      name: `op${i}`,
      einsum: 'bh,hf->bf',
      inputs: [`t${i}`, 'w'],
      output: `t${i + 1}`,
    }));
    const tensors = [
      { name: 'w', shape: [8, 8] },
      ...Array.from({ length: 50 }, (_, i) => ({ name: `t${i}`, shape: [4, 8] })),
    ];
    const big = await send({
      method: 'POST',
      url: '/v1/plans',
      payload: JSON.stringify({ ...base, model: { kind: 'graph', graph: { tensors, ops: graphOps } } }),
    });
    expect((big.body as { errors: { path: string }[] }).errors.map((e) => e.path)).toContain(
      'model.graph.ops',
    );
    const oversize = await send({
      method: 'POST',
      url: '/v1/plans',
      payload: JSON.stringify({ pad: 'x'.repeat(LIMITS.bodyBytes) }),
    });
    expect(oversize.status).toBe(413);
  });

  it('a cyclic graph is a 400 at submit, naming the op', async () => {
    const { status, body } = await send({
      method: 'POST',
      url: '/v1/plans',
      payload: JSON.stringify({
        model: {
          kind: 'graph',
          graph: {
            tensors: [
              { name: 'a', shape: [4, 8] },
              { name: 'b', shape: [4, 8] },
            ],
            ops: [
              { name: 'f', einsum: 'bh->bh', inputs: ['b'], output: 'a' },
              { name: 'g', einsum: 'bh->bh', inputs: ['a'], output: 'b' },
            ],
          },
        },
        cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 },
        training: { globalBatch: 8 },
      }),
    });
    expect(status).toBe(400);
    expect((body as { errors: { path: string }[] }).errors[0]!.path).toMatch(/^model\.graph/);
  });
});
