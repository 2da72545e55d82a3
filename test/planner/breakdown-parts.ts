import type { Breakdown } from '../../src/schema/index.ts';

/** A breakdown's terms less what overlap hides: the step time, to rounding. */
export function breakdownParts(b: Breakdown): number {
  return (
    b.computeSec +
    b.tpCommSec +
    b.reshardSec +
    b.cpCommSec +
    b.epCommSec +
    b.ppCommSec +
    b.dpCommSec +
    b.bubbleSec +
    b.optimizerSec -
    b.hiddenByOverlapSec
  );
}
