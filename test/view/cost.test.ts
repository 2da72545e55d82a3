import { describe, expect, it } from 'vitest';
import type { Breakdown } from '../../src/schema/index.ts';
import { renderCostBreakdown } from '../../src/view/cost.ts';
import { formatSec } from '../../src/view/format.ts';

const breakdown: Breakdown = {
  computeSec: 8,
  tpCommSec: 2,
  reshardSec: 1,
  cpCommSec: 0,
  epCommSec: 0,
  ppCommSec: 0.5,
  dpCommSec: 0.25,
  bubbleSec: 0.25,
  optimizerSec: 0,
  hiddenByOverlapSec: 1.5,
  totalSec: 10.5,
};

describe('the cost breakdown on the plan page', () => {
  it('takes what overlap hides off the terms, so they add up to the step time', () => {
    const page = String(renderCostBreakdown(breakdown));
    expect(page).toContain('data-term="hiddenByOverlapSec"');
    expect(page).toContain(`−${formatSec(1.5)}`);
    expect(page).not.toContain('The terms add up to');
  });

  it('says so when the terms and the step time disagree', () => {
    const page = String(renderCostBreakdown({ ...breakdown, hiddenByOverlapSec: 0 }));
    expect(page).not.toContain('data-term="hiddenByOverlapSec"');
    expect(page).toContain(`The terms add up to ${formatSec(12)}, the step time is ${formatSec(10.5)}`);
  });
});
