import type { SweepRow } from '../schema/jobs.ts';

type NumericField = {
  [K in keyof SweepRow]-?: SweepRow[K] extends number | null ? K : never;
}[keyof SweepRow];

/**
 * Which way is "better" for each numeric row field: sorting puts the best point first. The sort
 * parameter's enum is derived from this table, so a new numeric field cannot be sortable without
 * a direction.
 */
const SORT_DIRECTION = {
  tokensPerSec: 'desc',
  tflopsPerDevice: 'desc',
  mfu: 'desc',
  stepTimeSec: 'asc',
  peakMemoryBytes: 'asc',
  dp: 'asc',
  tp: 'asc',
  pp: 'asc',
} as const satisfies Record<NumericField, 'asc' | 'desc'>;

export type SweepSortField = keyof typeof SORT_DIRECTION;

export const SWEEP_SORT_FIELDS = Object.keys(SORT_DIRECTION) as [SweepSortField, ...SweepSortField[]];

/** A stable sort by `field`, best first; rows without a value (unfinished, infeasible) go last. */
export function sortSweepRows(rows: readonly SweepRow[], field: SweepSortField): SweepRow[] {
  const sign = SORT_DIRECTION[field] === 'asc' ? 1 : -1;
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
] as const satisfies readonly NumericField[];

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
