import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { estimate } from '../../src/planner/estimate.ts';
import type { PlanRequestInput } from '../../src/schema/index.ts';
import { breakdownParts } from './breakdown-parts.ts';

const example = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../examples/${name}`, import.meta.url), 'utf8')) as PlanRequestInput;

describe('the step breakdown', () => {
  it('adds up to the step time once what the overlaps hide is taken off', async () => {
    const gpt3 = example('gpt3-175b-1024xa100.estimate.json');
    const requests: PlanRequestInput[] = [
      gpt3,
      { ...gpt3, parallel: { ...gpt3.parallel, overlapTensorParallelComm: true } },
      { ...gpt3, parallel: { ...gpt3.parallel, overlapInputGradientReduce: false } },
    ];
    const hidden: number[] = [];
    for (const request of requests) {
      const b = (await estimate(request)).breakdown!;
      expect(breakdownParts(b)).toBeCloseTo(b.totalSec, 9);
      hidden.push(b.hiddenByOverlapSec);
    }
    // Megatron's input-gradient overlap hides some; Transformer Engine's overlap more; none without either.
    expect(hidden[0]).toBeGreaterThan(0);
    expect(hidden[1]).toBeGreaterThan(hidden[0]!);
    expect(hidden[2]).toBe(0);
  });
});
