import { describe, expect, it } from 'vitest';
import type { SweepRow } from '../../src/schema/index.ts';
import { SWEEP_SORT_FIELDS, sortSweepRows, sweepRowsToCsv } from '../../src/sweep/table.ts';
import { emptyRow } from '../http/memory-queue.ts';

describe('sweep table', () => {
  it('offers exactly the numeric row fields for sorting', () => {
    const numeric = Object.entries(emptyRow('x', {}))
      .filter(([key]) => !['jobId', 'point', 'status', 'planStatus'].includes(key))
      .map(([key]) => key);
    expect([...SWEEP_SORT_FIELDS].sort()).toEqual(numeric.sort());
  });

  it('sorts stably: equal values keep their order', () => {
    const rows: SweepRow[] = ['a', 'b', 'c'].map((id) => ({ ...emptyRow(id, {}), mfu: 0.5 }));
    expect(sortSweepRows(rows, 'mfu').map((r) => r.jobId)).toEqual(['a', 'b', 'c']);
  });

  it('quotes cells as RFC 4180 asks and writes objects as JSON', () => {
    const csv = sweepRowsToCsv([emptyRow('j"1', { 'model.name': 'a,b', 'cluster.gpu': { name: 'g' } })]);
    expect(csv).toBe(
      'jobId,status,planStatus,model.name,cluster.gpu,stepTimeSec,tokensPerSec,tflopsPerDevice,mfu,peakMemoryBytes,dp,tp,pp,gpus,trainingDays,costUsd,gpuHours\r\n' +
        '"j""1",queued,,"a,b","{""name"":""g""}",,,,,,,,,,,,\r\n',
    );
  });
});
