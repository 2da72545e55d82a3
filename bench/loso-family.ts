/**
 * One leave-one-source-out fit in its own process (`tsx bench/loso-family.ts FAMILY`): the fidelity
 * bench runs the families side by side, each pricing hundreds of estimates. Prints the HeldOut as
 * JSON on stdout, progress on stderr.
 */
import { Calibrator, holdOut } from '../src/planner/calibration/by-generation.ts';
import { loadReferenceRuns } from './reference-runs.ts';

const family = process.argv[2];
if (family === undefined) {
  process.stderr.write('usage: tsx bench/loso-family.ts FAMILY\n');
  process.exit(2);
}
const result = await holdOut(new Calibrator(), await loadReferenceRuns(), family, (m) =>
  process.stderr.write(`[without ${family}] ${m}\n`),
);
process.stdout.write(`${JSON.stringify({ ...result, fits: [...result.fits] })}\n`);
