import { type NumericRowField, ROW_DIRECTIONS } from '../schema/frontier.ts';
import type { SweepRow } from '../schema/jobs.ts';

/** Every numeric row field sorts, best first by its direction. */
export const SWEEP_SORT_FIELDS = Object.keys(ROW_DIRECTIONS) as [NumericRowField, ...NumericRowField[]];

/** A stable sort by `field`, best first; rows without a value (unfinished, infeasible) go last. */
export function sortSweepRows(rows: readonly SweepRow[], field: NumericRowField): SweepRow[] {
  const sign = ROW_DIRECTIONS[field] === 'min' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = a[field];
    const y = b[field];
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    return sign * (x - y);
  });
}

const LEADING_COLUMNS = ['jobId', 'status', 'planStatus'] as const;
const METRIC_COLUMNS = [
  'stepTimeSec',
  'tokensPerSec',
  'tflopsPerDevice',
  'mfu',
  'peakMemoryBytes',
  'dp',
  'tp',
  'pp',
  'gpus',
  'trainingDays',
  'costUsd',
  'gpuHours',
] as const satisfies readonly NumericRowField[];

/** RFC 4180 quoting: only cells with a comma, quote or line break are quoted. */
function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text =
    typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * One line per row: job and statuses, then one column per grid path (in the order the grid gives
 * them), then the metrics. Lines end in CRLF as RFC 4180 asks.
 */
export function sweepRowsToCsv(rows: readonly SweepRow[]): string {
  const pointColumns = [...new Set(rows.flatMap((row) => Object.keys(row.point)))];
  const header = [...LEADING_COLUMNS, ...pointColumns, ...METRIC_COLUMNS];
  const lines = [header.map(csvCell).join(',')];
  for (const row of rows) {
    lines.push(
      [
        ...LEADING_COLUMNS.map((column) => row[column]),
        ...pointColumns.map((column) => row.point[column]),
        ...METRIC_COLUMNS.map((column) => row[column]),
      ]
        .map(csvCell)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
