import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type MeshplanApp } from '../../src/http/app.ts';
import { type Plan, type PlanJob, PlanRequest } from '../../src/schema/index.ts';
import { MemoryQueue } from '../http/memory-queue.ts';
import { INFEASIBLE_REQUEST, infeasiblePlan, sweepRow, VIEW_REQUEST, viewPlan } from './fixtures.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `test/view/browser.test.ts skipped: ${CHROMIUM} is missing (.ci/run installs Debian's chromium)`,
  );
}

const SCREENSHOTS = new URL('../../test-output/', import.meta.url);

describe.skipIf(!hasChromium)('plan viewer in headless Chromium', () => {
  let app: MeshplanApp;
  let browser: Browser;
  let baseUrl: string;
  let planJob: PlanJob;
  let infeasibleJob: PlanJob;
  let sweepId: string;

  beforeAll(async () => {
    const queue = new MemoryQueue();
    app = buildApp({ queue });
    const [plan, noPlan] = await Promise.all([viewPlan(), infeasiblePlan()]);
    planJob = queue.finish((await queue.submit(PlanRequest.parse(VIEW_REQUEST))).job.id, plan);
    infeasibleJob = queue.finish((await queue.submit(PlanRequest.parse(INFEASIBLE_REQUEST))).job.id, noPlan);
    const sweep = await queue.submitSweep({
      base: PlanRequest.parse(VIEW_REQUEST),
      grid: { 'parallel.pp': [2] },
    });
    // The sweep's one point is the plan job above, so its link leads to a real page.
    queue.setRows(sweep.id, [sweepRow(planJob.id, { 'parallel.pp': 2 }, plan.summary!.tokensPerSec)]);
    sweepId = sweep.id;
    baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    await mkdir(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  /** A fresh page that fails the test on any script error or console error (a CSP violation is one). */
  async function open(path: string): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    const response = await page.goto(`${baseUrl}${path}`);
    expect(response?.status()).toBe(200);
    return { page, errors };
  }

  it('draws the plan: a timeline bar per (stage, microbatch, pass), its stages and numbers', async () => {
    const { page, errors } = await open(`/v1/plans/${planJob.id}/view`);
    // The plan as the JSON API serves it is the reference.
    const json = (await (await fetch(`${baseUrl}/v1/plans/${planJob.id}`)).json()) as PlanJob;
    const plan = json.plan as Plan;
    const summary = plan.summary!;
    const chunks = summary.schedule === 'interleaved' ? summary.virtualStages : 1;

    const bars = await page.$$eval('#timeline [data-pass]', (nodes) =>
      nodes.map(
        (n) =>
          `${n.getAttribute('data-stage')}/${n.getAttribute('data-microbatch')}/${n.getAttribute('data-chunk')}/${n.getAttribute('data-pass')}`,
      ),
    );
    const expected: string[] = [];
    for (let s = 0; s < plan.stages.length; s++)
      for (let m = 0; m < summary.microbatches; m++)
        for (let c = 0; c < chunks; c++)
          for (const pass of ['forward', 'backward']) expected.push(`${s}/${m}/${c}/${pass}`);
    expect(bars.sort()).toEqual(expected.sort());
    // Hovering a bar shows its seconds.
    expect(await page.locator('#timeline [data-pass] title').first().textContent()).toMatch(
      /\d (s|ms|µs|ns)\b/,
    );

    expect(await page.locator('#stages tbody tr').count()).toBe(plan.stages.length);
    expect(await page.locator('#timeline').getAttribute('data-stages')).toBe(String(plan.stages.length));
    const metric = async (key: string) =>
      Number(await page.locator(`[data-metric="${key}"]`).getAttribute('data-value'));
    expect(await metric('stepTimeSec')).toBe(summary.stepTimeSec);
    expect(await metric('tokensPerSec')).toBe(summary.tokensPerSec);
    expect(await metric('pp')).toBe(plan.stages.length);
    expect(await page.locator('[data-metric="tokensPerSec"]').textContent()).toBe(
      Math.round(summary.tokensPerSec).toLocaleString('en-US'),
    );
    const meshes = await page.$$eval('#stages [data-mesh]', (cells) =>
      cells.map((c) => c.getAttribute('data-mesh')),
    );
    expect(meshes).toEqual(plan.stages.map((s) => s.logicalMesh.join('x')));

    // The alternatives chart has a mark per alternative, the plan's among them.
    expect(await page.locator('#alternatives-chart .frontier-point').count()).toBe(
      plan.alternatives.length > 1 ? plan.alternatives.length : 0,
    );

    await page.screenshot({ path: new URL('plan-view.png', SCREENSHOTS).pathname, fullPage: true });
    expect(errors).toEqual([]);
  });

  it('sorts an op table by the column whose header is clicked, and copies an export', async () => {
    const { page, errors } = await open(`/v1/plans/${planJob.id}/view`);
    const table = page.locator('#ops-stage-0');
    const seconds = () =>
      table
        .locator('tbody tr td:last-child')
        .evaluateAll((cells) => cells.map((c) => Number(c.getAttribute('data-sort-value'))));
    const header = table.locator('thead th').last();
    await header.locator('button').click();
    const ascending = await seconds();
    expect(ascending.length).toBeGreaterThan(2);
    expect(ascending).toEqual([...ascending].sort((a, b) => a - b));
    expect(await header.getAttribute('aria-sort')).toBe('ascending');
    await header.locator('button').click();
    expect(await seconds()).toEqual([...ascending].sort((a, b) => b - a));

    await page.locator('button[data-copy="export-megatron"]').click();
    await expect.poll(() => page.locator('#export-megatron-status').textContent()).toBe('Copied.');
    expect(errors).toEqual([]);
  });

  it('explains an infeasible plan instead of drawing empty charts', async () => {
    const { page, errors } = await open(`/v1/plans/${infeasibleJob.id}/view`);
    const plan = infeasibleJob.plan!;
    await expect.poll(() => page.locator('#unplanned').isVisible()).toBe(true);
    expect(await page.locator('[data-reason]').textContent()).toBe(plan.reason);
    expect(Number(await page.locator('[data-shortfall-bytes]').getAttribute('data-shortfall-bytes'))).toBe(
      plan.shortfallBytes,
    );
    expect(await page.locator('#timeline, #cluster-map, #cost-bar, [data-pass]').count()).toBe(0);
    await page.screenshot({
      path: new URL('plan-view-infeasible.png', SCREENSHOTS).pathname,
      fullPage: true,
    });
    expect(errors).toEqual([]);
  });

  it('links each sweep point to its plan page', async () => {
    const { page, errors } = await open(`/v1/sweeps/${sweepId}/view`);
    expect(await page.locator('#sweep-chart a.point').count()).toBe(1);
    // The one finished point is its own frontier.
    expect(await page.locator('#frontier-chart a.frontier-point[data-frontier="true"]').count()).toBe(1);
    expect(await page.locator('#frontier-chart a.frontier-point').getAttribute('href')).toBe(
      await page.locator('#sweep-chart a.point').getAttribute('href'),
    );
    await page.locator('#sweep-chart a.point').first().click();
    await page.waitForURL(`**/v1/plans/${planJob.id}/view`);
    expect(await page.locator('#timeline').count()).toBe(1);
    expect(errors).toEqual([]);
  });
});
