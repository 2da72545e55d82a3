import { describe, expect, it } from 'vitest';
import type { Plan, SweepRow } from '../../src/schema/index.ts';
import { sweepFrontier } from '../../src/sweep/frontier.ts';
import { sweepOf } from '../../src/sweep/rows.ts';
import { renderPlanPage, renderSweepPage } from '../../src/view/index.ts';
import { attributeValues, HOSTILE, sweepRow, VIEW_REQUEST, viewPlan } from './fixtures.ts';

const planUrl = (jobId: string) => `../../plans/${encodeURIComponent(jobId)}/view`;

/** The marks of a frontier chart (the part of the page from its <svg id> to its </svg>). */
function chartOf(page: string, id: string): string {
  const start = page.indexOf(`<svg id="${id}"`);
  expect(start).toBeGreaterThanOrEqual(0);
  return page.slice(start, page.indexOf('</svg>', start));
}

/** Rows over 64 to 1,024 GPUs: days fall as GPUs grow, except one slower, larger point. */
function costedRows(): SweepRow[] {
  const rows = [
    [64, 40],
    [128, 21],
    [256, 25],
    [1024, 6],
  ].map(([gpus, days], i) => ({
    ...sweepRow(`job-${i}`, { 'cluster.nodes': gpus! / 8 }, 1000 * gpus!),
    gpus: gpus!,
    trainingDays: days!,
    costUsd: gpus! * days! * 24 * 2,
  }));
  return [...rows, { ...sweepRow('queued', { 'cluster.nodes': 128 }, null), status: 'queued' }];
}

describe('the sweep page frontier', () => {
  it('draws every row with both values, the frontier rows marked and joined, each a link to its plan', () => {
    const sweep = sweepOf('s', costedRows());
    const frontier = sweepFrontier(sweep, { x: 'gpus', y: 'trainingDays' });
    const chart = chartOf(renderSweepPage(sweep, { planUrl, frontier }), 'frontier-chart');
    const marks = [...chart.matchAll(/href="([^"]*)" data-frontier="(true|false)" data-job-id="([^"]*)"/g)];
    expect(marks.map((m) => [m[3], m[2]]).sort()).toEqual([
      ['job-0', 'true'],
      ['job-1', 'true'],
      ['job-2', 'false'],
      ['job-3', 'true'],
    ]);
    for (const m of marks) expect(m[1]).toBe(planUrl(m[3]!));
    // Three frontier points and the two corners between them.
    expect(chart.match(/class="staircase"[^>]*points="([^"]*)"/)![1]!.split(' ')).toHaveLength(5);
    expect(chart).toContain('GPUs (lower is better, log scale)');
    expect(chart).toContain('Days to train (lower is better)');
  });

  it('adds GPUs, days and cost to the rows table when the rows have them', () => {
    const page = renderSweepPage(sweepOf('s', costedRows()), { planUrl });
    for (const head of ['>GPUs<', '>Days to train<', '>Cost<']) expect(page).toContain(head);
    expect(page).not.toContain('frontier-chart');
  });

  it('escapes what users name in a tooltip', () => {
    const rows = costedRows().map((r) => ({ ...r, point: { 'model.name': HOSTILE } }));
    const sweep = sweepOf('s', rows);
    const page = renderSweepPage(sweep, {
      planUrl,
      frontier: sweepFrontier(sweep, { x: 'costUsd', y: 'gpus' }),
    });
    expect(page).not.toContain('<script>alert');
  });
});

describe('the plan page alternatives', () => {
  it('draws each alternative with the plan marked, lists them, and shows the costs of the plan', async () => {
    const plan: Plan = structuredClone(await viewPlan());
    const summary = { ...plan.summary!, trainingDays: 3.5, gpuHours: 1344, costUsd: 2688 };
    const slower = (k: number) => ({
      summary: {
        ...summary,
        stepTimeSec: summary.stepTimeSec * k,
        peakMemoryBytes: summary.peakMemoryBytes / k,
      },
      chosen: false,
    });
    const priced = { ...plan, summary, alternatives: [{ summary, chosen: true }, slower(2), slower(3)] };
    const page = renderPlanPage({ plan: priced, request: VIEW_REQUEST });
    const chart = chartOf(page, 'alternatives-chart');
    expect(attributeValues(chart, 'data-frontier')).toEqual(['true', 'true', 'true']);
    expect(attributeValues(chart, 'data-chosen')).toEqual(['true']);
    expect(page.match(/<tr data-chosen="true">/g)).toHaveLength(1);
    expect(page.match(/<table id="alternatives"[\s\S]*?<\/table>/)![0].match(/<tr/g)).toHaveLength(4);
    expect(page).toContain('data-metric="costUsd" data-value="2688">$2,688<');
    expect(page).toContain('data-metric="trainingDays" data-value="3.5">3.50 d<');
    expect(page).toContain('data-metric="gpus"');
  });

  it('says so when the plan is the whole frontier', async () => {
    const plan = await viewPlan();
    const alone = { ...plan, alternatives: [{ summary: plan.summary!, chosen: true }] };
    const page = renderPlanPage({ plan: alone });
    expect(page).toContain('No other configuration the search completed');
    expect(page).not.toContain('alternatives-chart');
  });
});
