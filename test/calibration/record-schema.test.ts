/**
 * Reading a file of published-run records someone else wrote (a check file, a hidden set): every
 * record is read or refused with the field it names, never a crash of the whole read, and fields a
 * record may leave out read as what their absence means.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRuns } from '../../bench/check.ts';
import { activationOf, RecordError, statedOrImpliedActivation } from '../../bench/record-facts.ts';
import { readRecord, recordsOfFile } from '../../bench/record-schema.ts';
import { readRunsFile } from '../../bench/reference-runs.ts';

const REFERENCE = new URL('../../../shared/reference/', import.meta.url);
type Json = Record<string, unknown>;
const classic = JSON.parse(readFileSync(new URL('published-runs.json', REFERENCE), 'utf8')) as Json[];
const modern = JSON.parse(readFileSync(new URL('published-runs-modern.json', REFERENCE), 'utf8')) as Json[];

function writeRecords(name: string, records: unknown[]): string {
  const path = join(tmpdir(), `meshplan-${name}-${process.pid}.json`);
  writeFileSync(path, JSON.stringify(records));
  return path;
}

/** A copy of `record` with the field at `path` set to null, or removed. */
function mutated(record: Json, path: readonly string[], mode: 'null' | 'delete'): Json {
  const copy = structuredClone(record);
  let at: Json = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Json;
  const last = path.at(-1)!;
  if (mode === 'null') at[last] = null;
  else delete at[last];
  return { ...copy, id: `${copy.id}/${path.join('.')}:${mode}` };
}

/** Every field path of a record: its sections and the fields inside them. */
function fieldPaths(record: Json, prefix: string[] = []): string[][] {
  return Object.entries(record).flatMap(([key, value]) => {
    const path = [...prefix, key];
    const isSection = typeof value === 'object' && value !== null && !Array.isArray(value);
    return isSection ? [path, ...fieldPaths(value as Json, path)] : [path];
  });
}

describe('published-run records', () => {
  it('read or are refused naming a field, whatever field a record nulls or leaves out', () => {
    // One record of each format, every field and section in turn set to null or removed.
    for (const record of [classic[0]!, modern[0]!]) {
      for (const path of fieldPaths(record)) {
        for (const mode of ['null', 'delete'] as const) {
          const broken = mutated(record, path, mode);
          try {
            readRecord(broken, 0);
          } catch (error) {
            expect(error, `${broken.id}`).toBeInstanceOf(RecordError);
            expect((error as RecordError).field, `${broken.id}`).not.toBe('');
          }
        }
      }
    }
  });

  it('price a file of good and broken records, refusing only the broken ones with the field at fault', async () => {
    const dense = modern.find((r) => (r.model as Json).moe === null)!;
    const withoutMoe = mutated(dense, ['model', 'moe'], 'delete');
    const withoutActivation = mutated(dense, ['model', 'activation'], 'null');
    const withoutDp = mutated(dense, ['parallelism', 'dp'], 'delete');
    const withoutNodeSize = mutated(dense, ['cluster', 'gpus_per_node'], 'delete');
    const withoutGpu = mutated(dense, ['cluster', 'gpu_type'], 'delete');
    const oddDp = structuredClone(withoutDp);
    (oddDp.cluster as Json).num_gpus = 1001;
    oddDp.id = 'odd-dp';
    const path = writeRecords('records', [
      withoutMoe,
      withoutActivation,
      withoutDp,
      withoutNodeSize,
      withoutGpu,
      oddDp,
      'not a record',
    ]);
    const { runs, refused } = await readRunsFile(path);
    // Under an id of its own, so that it is read from its fields as the others are, not pinned facts.
    const unpinned = { ...dense, id: `${dense.id}/as-stated` };
    const [original] = (await readRunsFile(writeRecords('original', [unpinned]))).runs;
    // Read as the record that states them: no MoE block is a dense model, a gated MLP's width implies
    // SwiGLU, dp is the GPUs over the other degrees, nodes hold eight GPUs.
    expect(runs.map((r) => r.request)).toEqual(
      [withoutMoe, withoutActivation, withoutDp, withoutNodeSize].map((r) => ({
        ...original!.request,
        model: { ...original!.request.model, name: r.id },
      })),
    );
    expect(refused).toEqual([
      { id: withoutGpu.id, reason: expect.stringMatching(/^cluster\.gpu_type: /) },
      { id: 'odd-dp', reason: expect.stringMatching(/^parallelism\.dp: .*1001 GPUs do not divide/) },
      { id: 'record 7', reason: '(record): expected an object' },
    ]);
  });

  it('refuse a mixture-of-experts model in the classic format, which has no expert degree to price it by', () => {
    const moe = structuredClone(classic[0]!);
    (moe.model as Json).moe = { experts: 8, top_k: 2, ffn_per_expert: 14336, shared_experts: 0 };
    expect(() => readRecord(moe, 0)).toThrow(/model\.moe: a mixture-of-experts model in the classic format/);
    // Stated as null it is a dense model, as before.
    (moe.model as Json).moe = null;
    expect(readRecord(moe, 0).format).toBe('classic');
  });

  it('come as a JSON array, an object holding one, or JSON Lines; any other file is refused as a file', async () => {
    const records = [modern[0]!, classic[0]!];
    const lines = records.map((r) => JSON.stringify(r)).join('\n');
    for (const [name, text] of [
      ['array', JSON.stringify(records)],
      ['wrapped', JSON.stringify({ source: 'somewhere', runs: records })],
      ['lines', `${lines}\n`],
    ] as const) {
      const path = join(tmpdir(), `meshplan-records-${name}-${process.pid}.json`);
      writeFileSync(path, text);
      expect(recordsOfFile(path), name).toEqual(records);
    }
    const notJson = join(tmpdir(), `meshplan-records-bad-${process.pid}.json`);
    writeFileSync(notJson, 'not json\nat all');
    expect(() => recordsOfFile(notJson)).toThrow(/\(file\): not JSON: /);
    const twoArrays = writeRecords('two-arrays', [] as unknown[]);
    writeFileSync(twoArrays, JSON.stringify({ a: [], b: [] }));
    expect(() => recordsOfFile(twoArrays)).toThrow(
      /expected a JSON array of run records, or an object holding one/,
    );
    // A check goes on past a file it cannot read, and reports it.
    const good = writeRecords('good', [classic[0]!]);
    const checked = await checkRuns(['/nonexistent/records.json', good]);
    expect(checked.rows.map((r) => r.run)).toEqual([classic[0]!.id]);
    expect(checked.summary.notPriced).toEqual([
      {
        id: '(file)',
        file: 'records.json',
        reason: expect.stringMatching(/^\(file\): cannot be read: ENOENT/),
      },
    ]);
  });

  it('take the activation stated, else the one the MLP width implies', () => {
    expect(activationOf('r', 'ReLU')).toBe('gelu');
    expect(activationOf('r', 'gated-GeLU')).toBe('geglu');
    expect(activationOf('r', 'ReLU²')).toBe('squared-relu');
    expect(activationOf('r', 'Swish')).toBe('swiglu');
    expect(statedOrImpliedActivation('r', { activation: null, hidden: 12288, ffn_hidden: 49152 })).toBe(
      'gelu',
    );
    expect(statedOrImpliedActivation('r', { activation: '', hidden: 8192, ffn_hidden: 28672 })).toBe(
      'swiglu',
    );
    expect(statedOrImpliedActivation('r', { activation: null, hidden: 4096, ffn_hidden: null })).toBe(
      'swiglu',
    );
    expect(statedOrImpliedActivation('r', { activation: 'GeLU', hidden: 4096, ffn_hidden: 11008 })).toBe(
      'gelu',
    );
  });
});
