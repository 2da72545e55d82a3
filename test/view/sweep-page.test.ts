import { describe, expect, it } from 'vitest';
import type { Sweep, SweepRow } from '../../src/schema/index.ts';
import { niceTicksCovering } from '../../src/view/axis.ts';
import { renderSweepPage } from '../../src/view/index.ts';
import { attributeValues, HOSTILE, sweepRow } from './fixtures.ts';

function sweepOf(rows: SweepRow[]): Sweep {
  const counts = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const row of rows) counts[row.status]++;
  return { id: 'sweep-1', points: rows.length, counts, rows };
}

const planUrl = (jobId: string) => `../../plans/${encodeURIComponent(jobId)}/view`;

/** A 4 × 2 grid: one point infeasible (no metrics), one still queued. */
function gridSweep(): Sweep {
  const rows: SweepRow[] = [];
  let n = 0;
  for (const nodes of [1, 2, 4, 8]) {
    for (const tp of [1, 2]) {
      const jobId = `job-${n++}`;
      const point = { 'cluster.nodes': nodes, 'parallel.tp': tp };
      if (nodes === 8 && tp === 1)
        rows.push({ ...sweepRow(jobId, point, null), status: 'queued', planStatus: null });
      else rows.push(sweepRow(jobId, point, nodes === 1 && tp === 2 ? null : 1000 * nodes * tp));
    }
  }
  return sweepOf(rows);
}

const pointHrefs = (page: string) =>
  [...page.matchAll(/<a class="point" href="([^"]*)" data-job-id="([^"]*)"/g)].map((m) => ({
    href: m[1]!,
    id: m[2]!,
  }));

describe('renderSweepPage', () => {
  it('plots one point per finished plan, each linking to its plan page', () => {
    const sweep = gridSweep();
    const page = renderSweepPage(sweep, { planUrl });
    const finished = sweep.rows.filter((r) => r.status === 'succeeded' && r.tokensPerSec !== null);
    expect(finished).toHaveLength(6);
    const points = pointHrefs(page);
    expect(points.map((p) => p.id).sort()).toEqual(finished.map((r) => r.jobId).sort());
    for (const p of points) expect(p.href).toBe(planUrl(p.id));
    // x is the first numeric grid path; the other one makes a line per value.
    expect(page).toContain('Tokens per second by cluster.nodes');
    expect(attributeValues(page, 'data-group').sort()).toEqual(['parallel.tp = 1', 'parallel.tp = 2']);
    expect(page).toContain('2 not plotted');
    // The table keeps every row, plotted or not.
    expect(page.match(/<tr data-job-id=/g)).toHaveLength(sweep.rows.length);
  });

  it('uses categories on x when no grid path is numeric', () => {
    const rows = ['1f1b', 'gpipe', 'interleaved'].map((schedule, i) =>
      sweepRow(`job-${i}`, { 'parallel.schedule': schedule }, 1000 + i),
    );
    const page = renderSweepPage(sweepOf(rows), { planUrl });
    expect(pointHrefs(page)).toHaveLength(3);
    for (const label of ['>1f1b</text>', '>gpipe</text>', '>interleaved</text>'])
      expect(page).toContain(label);
  });

  it('falls back to step time when no row has tokens/s, and says when nothing is plotted', () => {
    const empty = renderSweepPage(sweepOf([sweepRow('job-0', { 'training.globalBatch': 8 }, null)]), {
      planUrl,
    });
    expect(empty).toContain('Step time by training.globalBatch');
    expect(empty).toContain('No finished plan yet');
    expect(pointHrefs(empty)).toHaveLength(0);
  });

  it('escapes grid values and ids, and reloads while points are unfinished', () => {
    const rows = [sweepRow('job-"1"', { 'model.name': HOSTILE }, 1000)];
    const page = renderSweepPage(sweepOf(rows), { planUrl, refreshSec: 5 });
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img');
    expect(page.match(/<script/g)).toHaveLength(1);
    expect(page).toContain('data-job-id="job-&quot;1&quot;"');
    expect(page).toContain('<meta http-equiv="refresh" content="5">');
  });
});

describe('niceTicksCovering', () => {
  it('ends at or above the largest value on a round step', () => {
    for (const max of [0.7, 1, 9.99, 82_000, 78_233, 1234.5, 3e-5]) {
      const ticks = niceTicksCovering(0, max, 6);
      expect(ticks[0]).toBe(0);
      expect(ticks[ticks.length - 1]!).toBeGreaterThanOrEqual(max);
      const step = ticks[1]! - ticks[0]!;
      const mantissa = step / 10 ** Math.floor(Math.log10(step));
      expect(
        [1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-9),
        `step ${step}`,
      ).toBe(true);
      expect(ticks[ticks.length - 2]!).toBeLessThan(max);
    }
  });
});
