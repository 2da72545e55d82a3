import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { plan } from '../../src/planner/plan.ts';

const gpt3 = JSON.parse(
  readFileSync(new URL('../../examples/gpt3-175b-1024xa100.request.json', import.meta.url), 'utf8'),
);

/*
 * The stage DP prices 1F1B; interleaving is chosen afterwards. Candidates must be ranked by the step
 * time they run at once interleaved, or a configuration that interleaves well loses to one that
 * does not: pinning degrees only narrows the search, so it can never find a faster plan.
 */
describe('candidates ranked by their scheduled step time', () => {
  it('finds a plan at least as fast as any pinned sub-space of its search (GPT-3 175B on 1,024 A100)', async () => {
    const free = await plan(gpt3);
    const pinned = await plan({ ...gpt3, parallel: { ...(gpt3.parallel ?? {}), tp: 4, pp: 8 } });
    expect(free.status).toBe('optimal');
    expect(pinned.status).toBe('optimal');
    expect(pinned.summary!.virtualStages).toBeGreaterThan(1);
    expect(free.summary!.stepTimeSec).toBeLessThanOrEqual(pinned.summary!.stepTimeSec * (1 + 1e-9));
  }, 120_000);
});
