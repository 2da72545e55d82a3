import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CalibrationProfile } from '../../src/schema/index.ts';
import { measuredUnder, SMALL_RUNS } from '../calibration/helpers.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/meshplan.js', import.meta.url).pathname;

async function meshplan(
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('meshplan calibrate', () => {
  it('writes a profile that estimate then reads from cluster.profile, relative to the request', {
    timeout: 300_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshplan-calibrate-'));
    const measured = await measuredUnder(
      { matmul: 0.5, attention: 0.6, memory: 0.8, tpOverlap: 0.5, network: 0.96 },
      SMALL_RUNS.slice(0, 3),
    );
    writeFileSync(join(dir, 'measured.json'), JSON.stringify(measured));
    const made = await meshplan(['calibrate', 'measured.json', '--out', 'profile.json'], dir);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/run0 .*%/);
    const profile = CalibrationProfile.parse(JSON.parse(readFileSync(join(dir, 'profile.json'), 'utf8')));
    expect(profile.fittedOn).toBe(3);

    const request = SMALL_RUNS[0]!;
    writeFileSync(
      join(dir, 'request.json'),
      JSON.stringify({ ...request, cluster: { ...request.cluster, profile: 'profile.json' } }),
    );
    const priced = await meshplan(['estimate', 'request.json', '--json'], dir);
    expect(priced.code, priced.stderr).toBe(0);
    const seconds = JSON.parse(priced.stdout).summary.stepTimeSec;
    expect(Math.abs(seconds / measured.runs[0]!.measured.stepTimeSec - 1)).toBeLessThan(0.02);
  });

  it('exits 2 naming the field of a bad measurement', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshplan-calibrate-'));
    writeFileSync(
      join(dir, 'bad.json'),
      JSON.stringify({ runs: [{ request: SMALL_RUNS[0], measured: { stepTimeSec: -2 } }] }),
    );
    const result = await meshplan(['calibrate', 'bad.json', '--out', 'profile.json'], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/runs\[0\]\.measured\.stepTimeSec/);
  });
});
