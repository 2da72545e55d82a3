import { writeFile } from 'node:fs/promises';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { CalibrationProfile } from '../schema/index.ts';
import { table } from './format.ts';
import { inFile, readJsonFile } from './io.ts';

/** The profile's residuals, one row per measured run, then the factors it fitted. */
export function formatProfile(profile: CalibrationProfile): string {
  const rows = [
    ['run', 'measured s', 'estimated s', 'error'],
    ...profile.residuals.map((r) => [
      r.run,
      r.measuredSec.toFixed(3),
      r.estimatedSec.toFixed(3),
      signedPct(r.errorPct),
    ]),
  ];
  const factors = Object.entries(profile.factors)
    .map(([name, value]) => `${name} ${value}`)
    .join(', ');
  const sections = [table(rows), `${profile.gpu}: ${factors} (fitted on ${profile.fittedOn} runs)`];
  const memory = profile.memoryResiduals ?? [];
  if (memory.length > 0)
    sections.push(
      table([
        ['run', 'measured GiB', 'estimated GiB', 'error', 'fits'],
        ...memory.map((m) => [
          m.run,
          m.measuredGiB.toFixed(1),
          m.estimatedGiB.toFixed(1),
          signedPct(m.errorPct),
          m.predictedToFit ? 'yes' : `no (${m.capacityGiB.toFixed(1)} GiB usable)`,
        ]),
      ]),
    );
  for (const warning of profile.warnings ?? []) sections.push(`warning: ${warning}`);
  return sections.join('\n\n');
}

function signedPct(pct: number): string {
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%`;
}

/** `meshplan calibrate MEASURED.json --out PROFILE.json`. */
export function registerCalibrateCommand(program: Command): void {
  program
    .command('calibrate')
    .description(
      "fit the GPU's efficiency factors to your cluster's measured step times; plans then name the profile",
    )
    .argument(
      '<measured>',
      'MEASURED.json: {"runs": [{"request": <estimate request>, "measured": {"stepTimeSec"}}]}',
    )
    .requiredOption(
      '--out <file>',
      'where to write the profile (cluster.profile in plan and estimate requests)',
    )
    .action(async (file: string, opts: { out: string }) => {
      const body = await readJsonFile(file, 'measured');
      const { calibrateProfile } = await import('../planner/calibration/user-profile.ts');
      const { FIT_EVALUATION_BUDGET } = await import('../planner/calibration/fit.ts');
      // Each evaluation prices every run: a fit of large runs takes minutes, so show it moving.
      const bar = process.stderr.isTTY
        ? new SingleBar(
            {
              format: 'fitting [{bar}] {value}/{total} evaluations, best mean |error| {best}',
              hideCursor: true,
            },
            Presets.shades_classic,
          )
        : null;
      bar?.start(FIT_EVALUATION_BUDGET, 0, { best: '—' });
      let profile: CalibrationProfile;
      try {
        profile = await calibrateProfile(body, {
          onProgress: (p) =>
            bar?.update(p.evaluations, {
              best: `${p.bestMeanAbsErrorPct.toFixed(1)}%`,
            }),
        });
      } catch (error) {
        throw inFile(error, file);
      } finally {
        bar?.stop();
      }
      await writeFile(opts.out, `${JSON.stringify(profile, null, 2)}\n`);
      process.stdout.write(`${formatProfile(profile)}\nprofile written to ${opts.out}\n`);
    });
}
