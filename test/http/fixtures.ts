import { expect } from 'vitest';
import { type AppOptions, buildApp } from '../../src/http/app.ts';
import { estimate } from '../../src/planner/estimate.ts';
import type { Plan, PlanRequestInput, SweepRow } from '../../src/schema/index.ts';
import { MemoryQueue } from './memory-queue.ts';

/** A request small enough that the real estimate() answers in milliseconds. */
export const SMALL_REQUEST = {
  model: { kind: 'transformer', layers: 4, hidden: 256, heads: 4, vocab: 1000, seqLen: 128 },
  cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 2 },
  training: { globalBatch: 8, microBatch: 1 },
  parallel: { tp: 2, pp: 1, dp: 1 },
} satisfies PlanRequestInput;

let cachedPlan: Promise<Plan> | null = null;

/** A real plan to finish test jobs with, so responses go through the full Plan schema. */
export function samplePlan(): Promise<Plan> {
  cachedPlan ??= estimate(SMALL_REQUEST);
  return cachedPlan;
}

export function testApp(options: Partial<AppOptions> = {}) {
  const queue = new MemoryQueue();
  const app = buildApp({ queue, ...options });
  return { app, queue };
}

/** A test app holding one sweep over `cluster.nodes`, its rows set as given (the queue runs nothing). */
export async function appWithSweep(nodes: readonly number[], rows: readonly SweepRow[]) {
  const made = testApp();
  const response = await made.app.inject({
    method: 'POST',
    url: '/v1/sweeps',
    payload: { base: SMALL_REQUEST, grid: { 'cluster.nodes': nodes } },
  });
  const id = response.json().id as string;
  made.queue.setRows(id, [...rows]);
  return { ...made, id, response };
}

interface InjectedResponse {
  readonly statusCode: number;
  readonly headers: Record<string, unknown>;
  readonly body: string;
  json(): unknown;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code?: string;
  errors?: { path: string; message: string }[];
}

/** Asserts an RFC 9457 document with the given status, without internals, and returns it. */
export function expectProblem(response: InjectedResponse, status: number): ProblemBody {
  expect(response.statusCode).toBe(status);
  expect(String(response.headers['content-type'])).toMatch(/^application\/problem\+json/);
  const body = response.json() as ProblemBody;
  expect(body).toMatchObject({ status, type: expect.any(String), title: expect.any(String) });
  expect(response.body).not.toMatch(/stack|at .*\.ts:\d+/);
  return body;
}

/** The `errors` entry for `path`, failing when there is none. */
export function errorAt(problem: ProblemBody, path: string): { path: string; message: string } {
  const found = problem.errors?.find((e) => e.path === path);
  expect(found, `no error at ${path} in ${JSON.stringify(problem.errors)}`).toBeDefined();
  return found!;
}
