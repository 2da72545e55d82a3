import { describe, expect, it } from 'vitest';
import { estimate } from '../../src/planner/estimate.ts';
import type { Plan } from '../../src/schema/index.ts';
import { formatSec } from '../../src/view/format.ts';
import { renderPlanPage } from '../../src/view/index.ts';
import { forwardShare, MAX_TIMELINE_BARS } from '../../src/view/timeline.ts';
import {
  attributeValues,
  cspHash,
  HOSTILE,
  INFEASIBLE_REQUEST,
  infeasiblePlan,
  VIEW_REQUEST,
  viewPlan,
  withHostileNames,
} from './fixtures.ts';

/** The timeline's pass bars as (stage, microbatch, chunk, pass) keys. */
function passBars(page: string): string[] {
  return [
    ...page.matchAll(
      /data-stage="(\d+)" data-microbatch="(\d+)" data-chunk="(\d+)" data-pass="(forward|backward)"/g,
    ),
  ].map((m) => `${m[1]}/${m[2]}/${m[3]}/${m[4]}`);
}

function metricValue(page: string, key: string): string | undefined {
  return page.match(new RegExp(`data-metric="${key}" data-value="([^"]*)"`))?.[1];
}

describe('renderPlanPage', () => {
  it('draws one timeline bar per (stage, microbatch, pass) of a 1F1B plan', async () => {
    const plan = await viewPlan();
    const summary = plan.summary!;
    expect(plan.schedule?.kind).toBe('1f1b');
    expect(plan.stages.length).toBeGreaterThanOrEqual(2);
    expect(summary.microbatches).toBeGreaterThanOrEqual(2);
    const bars = passBars(renderPlanPage({ plan, request: VIEW_REQUEST }));
    expect(bars).toHaveLength(plan.stages.length * summary.microbatches * 2);
    expect(new Set(bars).size).toBe(bars.length);
  });

  it('shows the stage count, step time and tokens/s of the plan JSON', async () => {
    const plan = await viewPlan();
    const summary = plan.summary!;
    const page = renderPlanPage({ id: 'job-1', plan, request: VIEW_REQUEST });
    expect(page).toContain(`data-stage-count="${plan.stages.length}"`);
    expect(attributeValues(page, 'data-stages')).toEqual([String(plan.stages.length)]);
    expect(Number(metricValue(page, 'stepTimeSec'))).toBe(summary.stepTimeSec);
    expect(Number(metricValue(page, 'tokensPerSec'))).toBe(summary.tokensPerSec);
    expect(Number(metricValue(page, 'pp'))).toBe(plan.stages.length);
    expect(page).toContain(`>${formatSec(summary.stepTimeSec)}</dd>`);
    expect(page).toContain(Math.round(summary.tokensPerSec).toLocaleString('en-US'));
    // Every stage's logical mesh, and every cost term with its exact seconds.
    expect(attributeValues(page, 'data-mesh')).toEqual(plan.stages.map((s) => s.logicalMesh.join('x')));
    for (const [key, value] of Object.entries(plan.breakdown!)) {
      // What overlap hides gets its row only when there is some (this plan has no tensor parallelism).
      if (key === 'hiddenByOverlapSec' && value === 0) continue;
      if (key !== 'totalSec') expect(page).toContain(`data-term="${key}"><th scope="row">`);
      expect(page).toContain(`data-value="${value}"`);
    }
    // The request's node shape: 2 nodes of 8 GPUs, every GPU owned by a stage.
    expect(page.match(/class="gpu"/g)).toHaveLength(16);
    expect(page).toContain('<title>meshplan plan: tiny-gpt (');
  });

  it('escapes every user-supplied name', async () => {
    const plan = withHostileNames(await viewPlan());
    const request = { ...VIEW_REQUEST, model: { ...VIEW_REQUEST.model, name: HOSTILE } };
    const page = renderPlanPage({ id: `"><script>alert(2)</script>`, plan, request });
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img');
    expect(page).toContain(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&#39;&amp;',
    );
    // The page's own script is the only one.
    expect(page.match(/<script/g)).toHaveLength(1);
  });

  it('lets its inline script and style run under its own content security policy', async () => {
    const page = renderPlanPage({ plan: await viewPlan() });
    const policy = (
      page.match(/http-equiv="Content-Security-Policy" content="([^"]*)"/)?.[1] ?? ''
    ).replaceAll('&#39;', "'");
    const script = page.match(/<script>([\s\S]*?)<\/script>/)?.[1] ?? '';
    const style = page.match(/<style>([\s\S]*?)<\/style>/)?.[1] ?? '';
    expect(policy).toContain(`script-src ${cspHash(script)}`);
    expect(policy).toContain(`style-src ${cspHash(style)}`);
    expect(policy).toContain("default-src 'none'");
    expect(page).not.toMatch(/\sstyle="|\son[a-z]+="|https?:\/\//);
  });

  it('draws a shorter step, and says so, when the bars would be too many', async () => {
    const plan = structuredClone(await viewPlan());
    plan.summary!.microbatches = 5000;
    const page = renderPlanPage({ plan });
    const bars = passBars(page);
    expect(bars.length).toBeLessThanOrEqual(MAX_TIMELINE_BARS);
    expect(bars.length).toBeGreaterThan(0);
    expect(page).toMatch(/Showing the first [\d,]+ of 5,000 microbatches/);
  });

  it('draws every model chunk of an interleaved schedule', async () => {
    const plan: Plan = structuredClone(await viewPlan());
    plan.summary = { ...plan.summary!, schedule: 'interleaved', virtualStages: 2 };
    plan.schedule = { ...plan.schedule!, kind: 'interleaved', virtualStages: 2 };
    const bars = passBars(renderPlanPage({ plan }));
    expect(bars).toHaveLength(plan.stages.length * plan.summary.microbatches * 2 * 2);
    expect(new Set(bars.map((b) => b.split('/')[2]))).toEqual(new Set(['0', '1']));
  });

  it('explains an infeasible plan: the reason and the shortfall, no empty charts', async () => {
    const plan = await infeasiblePlan();
    expect(plan.status).toBe('infeasible');
    expect(plan.summary).toBeNull();
    const page = renderPlanPage({ id: 'job-9', plan, request: INFEASIBLE_REQUEST });
    expect(page).toContain('id="unplanned"');
    expect(page).toContain(plan.reason!);
    expect(attributeValues(page, 'data-shortfall-bytes')).toEqual([String(plan.shortfallBytes)]);
    expect(page).toContain(`${plan.shortfallBytes!.toLocaleString('en-US')} bytes`);
    for (const chart of ['id="timeline"', 'id="cluster-map"', 'id="cost-bar"', 'data-pass=']) {
      expect(page).not.toContain(chart);
    }
  });
});

describe('forwardShare', () => {
  it('splits a stage as its ops do: backward one to three forwards, the blocks once more with full recomputation', async () => {
    // Estimated, so the two plans share their stages and layouts and differ only in recomputation.
    const pinned = (recompute: 'none' | 'full') =>
      estimate({ ...VIEW_REQUEST, parallel: { tp: 1, pp: 2, dp: 8, microBatch: 1, recompute } });
    const [none, full] = await Promise.all([pinned('none'), pinned('full')]);
    none.stages.forEach((stage, i) => {
      // A GEMM's backward is its dgrad and wgrad, flash attention's 2.5× at a lower efficiency.
      const share = forwardShare(stage);
      expect(share).toBeGreaterThan(1 / 4);
      expect(share).toBeLessThan(1 / 2);
      // Full recomputation runs the blocks' forward (not the embedding's or the head's) again in the
      // backward: F / (F + B) turns into F / (F + B + F_blocks).
      let [forward, backward, blockForward] = [0, 0, 0];
      for (const { layer, count, ops } of stage.layerPlans) {
        for (const op of ops) {
          forward += count * op.computeSec.forward;
          backward += count * op.computeSec.backward;
          if (layer.startsWith('block')) blockForward += count * op.computeSec.forward;
        }
      }
      expect(blockForward).toBeGreaterThan(0);
      expect(forwardShare(full.stages[i]!)).toBeCloseTo(forward / (forward + backward + blockForward), 9);
    });
  });
});
