import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type MeshplanApp } from '../../src/http/app.ts';
import { keyId } from '../../src/http/auth.ts';
import { PlanRequest } from '../../src/schema/index.ts';
import { renderJobStatusPage } from '../../src/view/index.ts';
import { expectProblem } from '../http/fixtures.ts';
import { MemoryQueue } from '../http/memory-queue.ts';
import { sweepRow, VIEW_REQUEST, viewPlan } from './fixtures.ts';

let app: MeshplanApp | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

/** The app as `serve` builds it, with the view routes mounted where the JSON routes are. */
function setup(apiKeys: readonly string[] = []) {
  const queue = new MemoryQueue();
  app = buildApp({ queue, apiKeys });
  return { app, queue };
}

describe('GET /v1/plans/:id/view', () => {
  it('serves a finished plan as an HTML page under its own content security policy', async () => {
    const { app, queue } = setup();
    const { job } = await queue.submit(PlanRequest.parse(VIEW_REQUEST));
    const plan = await viewPlan();
    queue.finish(job.id, plan);
    const response = await app.inject({ method: 'GET', url: `/v1/plans/${job.id}/view` });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(String(response.headers['content-security-policy'])).toMatch(
      /^default-src 'none'; script-src 'sha256-/,
    );
    expect(response.body).toMatch(/^<!doctype html>/);
    expect(response.body).toContain(`data-stage-count="${plan.stages.length}"`);
  });

  it('answers a queued job with a page that says so and reloads', async () => {
    const { app, queue } = setup();
    const { job } = await queue.submit(PlanRequest.parse(VIEW_REQUEST));
    const response = await app.inject({ method: 'GET', url: `/v1/plans/${job.id}/view` });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('data-job-status="queued"');
    expect(response.body).toMatch(/<meta http-equiv="refresh" content="\d+">/);
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('says why a failed job has no plan, without reloading', () => {
    const page = renderJobStatusPage({
      id: 'job-7',
      status: 'failed',
      progress: { phase: 'failed', fraction: 1 },
      createdAt: new Date(0).toISOString(),
      startedAt: null,
      finishedAt: null,
      plan: null,
      error: {
        type: 'about:blank',
        title: 'Internal Server Error',
        status: 500,
        detail: 'the <solver> crashed',
      },
      sweepId: null,
    });
    expect(page).toContain('data-job-status="failed"');
    expect(page).toContain('the &lt;solver&gt; crashed');
    expect(page).not.toContain('http-equiv="refresh"');
  });

  it('is a 404 problem for an unknown id', async () => {
    const { app } = setup();
    const problem = expectProblem(await app.inject({ method: 'GET', url: '/v1/plans/nope/view' }), 404);
    expect(problem.code).toBe('NOT_FOUND');
  });
});

describe('on a server with API keys', () => {
  it('shows a plan and a sweep to the key that made them only', async () => {
    const { app, queue } = setup(['key-a', 'key-b']);
    const request = PlanRequest.parse(VIEW_REQUEST);
    const { job } = await queue.submit(request, keyId('key-a'));
    queue.finish(job.id, await viewPlan());
    const sweep = await queue.submitSweep({ base: request, grid: { 'cluster.nodes': [1] } }, keyId('key-a'));
    for (const url of [`/v1/plans/${job.id}/view`, `/v1/sweeps/${sweep.id}/view`]) {
      const as = (key: string) =>
        app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
      expect((await as('key-a')).statusCode).toBe(200);
      expectProblem(await as('key-b'), 403);
      expectProblem(await app.inject({ method: 'GET', url }), 401);
    }
  });
});

describe('GET /v1/sweeps/:id/view', () => {
  it('links each point to its plan page relative to the sweep page', async () => {
    const { app, queue } = setup();
    const sweep = await queue.submitSweep({
      base: PlanRequest.parse(VIEW_REQUEST),
      grid: { 'cluster.nodes': [1, 2] },
    });
    queue.setRows(
      sweep.id,
      sweep.rows.map((row, i) => sweepRow(row.jobId, row.point, 1000 * (i + 1))),
    );
    const response = await app.inject({ method: 'GET', url: `/v1/sweeps/${sweep.id}/view` });
    expect(response.statusCode).toBe(200);
    const hrefs = [...response.body.matchAll(/<a class="point" href="([^"]*)"/g)].map((m) => m[1]);
    expect(hrefs).toEqual(sweep.rows.map((r) => `../../plans/${r.jobId}/view`));
    // Resolved against the sweep page, the links land on the plan pages.
    const base = `http://localhost/v1/sweeps/${sweep.id}/view`;
    expect(new URL(hrefs[0]!, base).pathname).toBe(`/v1/plans/${sweep.rows[0]!.jobId}/view`);
  });

  it('is a 404 problem for an unknown id', async () => {
    const { app } = setup();
    expectProblem(await app.inject({ method: 'GET', url: '/v1/sweeps/nope/view' }), 404);
  });
});

describe('OpenAPI', () => {
  it('documents the view routes as HTML pages, with problem answers', async () => {
    const { app } = setup();
    await app.ready();
    type Operation = { responses: Record<string, { content: Record<string, unknown> }> };
    const paths = (app.swagger() as { paths: Record<string, { get: Operation }> }).paths;
    for (const path of ['/v1/plans/{id}/view', '/v1/sweeps/{id}/view']) {
      const { responses } = paths[path]!.get;
      expect(Object.keys(responses['200']!.content)).toEqual(['text/html']);
      expect(Object.keys(responses['404']!.content)).toEqual(['application/problem+json']);
    }
  });
});
