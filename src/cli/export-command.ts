import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Command, Option } from 'commander';
import { InvalidInputError, parseOrThrow } from '../schema/errors.ts';
import { type ExportFile, FrameworkName, Plan } from '../schema/index.ts';
import { loadJsonFile } from './io.ts';

interface ExportOptions {
  framework: FrameworkName;
  out?: string;
}

interface Chosen {
  readonly files: readonly ExportFile[];
  readonly notes: readonly string[];
  /** Said on stderr when the artefact is not the plan's own (its framework's best instead). */
  readonly remark: string | null;
}

/**
 * The export a user runs: the plan's own when the framework can run it, else the best plan that
 * framework can run (from `frameworks`), said so; a plan neither way has is bad input, naming why.
 */
function chosenExport(plan: Plan, framework: FrameworkName): Chosen {
  const own = plan.exports?.[framework];
  if (own?.expressible) return { files: own.files, notes: own.notes, remark: null };
  const best = plan.frameworks?.[framework];
  if (best?.available && best.exports.expressible) {
    const slower = `${((best.slowdown - 1) * 100).toFixed(1)}% slower`;
    return {
      files: best.exports.files,
      notes: best.exports.notes,
      remark: `the plan itself does not run on ${best.exports.release}; this is the best plan it can run (${slower})`,
    };
  }
  const why =
    plan.summary === null
      ? `the plan is ${plan.status}${plan.reason ? `: ${plan.reason}` : ''}`
      : best?.available === false
        ? best.reason
        : (own?.notes.find((n) => n.startsWith('Not')) ?? 'it has no export for this framework');
  throw new InvalidInputError([{ path: `exports.${framework}`, message: `not expressible: ${why}` }], 'plan');
}

/** Writes the main artefact to `out` (stdout without it) and any companion files next to it. */
async function writeArtefacts(files: readonly ExportFile[], out: string | undefined): Promise<void> {
  const [main, ...companions] = files;
  if (main === undefined)
    throw new InvalidInputError([{ path: 'files', message: 'the export has no files' }], 'plan');
  if (out === undefined) {
    process.stdout.write(main.content.endsWith('\n') ? main.content : `${main.content}\n`);
    for (const f of companions) {
      process.stderr.write(`note: ${f.path} (${f.description}) is needed too; give --out to write it\n`);
    }
    return;
  }
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, main.content);
  process.stderr.write(`wrote ${out}: ${main.description}\n`);
  for (const f of companions) {
    const path = join(dirname(out), f.path);
    await writeFile(path, f.content);
    process.stderr.write(`wrote ${path}: ${f.description}\n`);
  }
}

/** `meshplan export PLAN.json --framework F [--out FILE]`: the artefact a user runs, from a saved plan. */
export function registerExportCommand(program: Command): Command {
  return program
    .command('export')
    .description('write what a framework runs (command line, TOML, JSON or Python) from a saved plan')
    .argument('<plan>', 'PLAN.json, as `meshplan plan … --json` prints it')
    .addOption(
      new Option('--framework <name>', 'the framework to export for')
        .choices(FrameworkName.options)
        .makeOptionMandatory(),
    )
    .option('--out <file>', 'write the main artefact here (companion files go next to it); default stdout')
    .action(async (file: string, opts: ExportOptions) => {
      const plan = await loadJsonFile(file, 'plan', (v) => parseOrThrow(Plan, v, 'plan'));
      const chosen = chosenExport(plan, opts.framework);
      if (chosen.remark !== null) process.stderr.write(`note: ${chosen.remark}\n`);
      await writeArtefacts(chosen.files, opts.out);
      for (const note of chosen.notes) process.stderr.write(`note: ${note}\n`);
    });
}
