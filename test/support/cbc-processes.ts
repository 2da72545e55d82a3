/** What the cbc tests share: a problem cbc cannot prove quickly, and the process table as the oracle. */
import { execFileSync } from 'node:child_process';
import { randomProblem } from '../../solvers/random.ts';

/** Takes cbc far longer than these tests wait (it runs to a 20 s limit without proving it). */
export const HARD_FOR_CBC = randomProblem({
  seed: 7,
  nodes: 150,
  strategies: 6,
  edgeProbability: 0.05,
  budget: 0.3,
  timeLimitSec: 20,
});

/**
 * cbc processes whose parent is this process (the solver threads' children); zombies too unless
 * `liveOnly`: a killed process nobody collected stays in the table until this process exits.
 */
export function cbcPids(liveOnly: boolean): number[] {
  let listing = '';
  try {
    listing = execFileSync('ps', ['-o', 'pid=,stat=,comm=', '--ppid', String(process.pid)], {
      encoding: 'utf8',
    });
  } catch {
    // ps exits 1 when the process has no children at all.
  }
  return listing
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, stat, comm]) => comm === 'cbc' && !(liveOnly && stat!.startsWith('Z')))
    .map(([pid]) => Number(pid));
}
