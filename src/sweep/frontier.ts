/**
 * A sweep's frontier (issue 18): the rows no other row beats on every chosen axis, each axis
 * minimised or maximised as ROW_DIRECTIONS says. A row without a value on an axis (unfinished,
 * failed, without a plan, or a cost the request did not price) takes no part.
 */
import {
  type FrontierAxes,
  type FrontierField,
  frontierFields,
  nonDominated,
  ROW_DIRECTIONS,
  type Sweep,
  type SweepFrontier,
  type SweepRow,
} from '../schema/index.ts';
import { sortSweepRows } from './table.ts';

export function sweepFrontier(sweep: Sweep, axes: FrontierAxes): SweepFrontier {
  const fields = frontierFields(axes);
  const compared = sweep.rows.filter((row) => fields.every((field) => row[field] !== null));
  const objectives = (row: SweepRow) =>
    fields.map((field) => (ROW_DIRECTIONS[field] === 'min' ? row[field]! : -row[field]!));
  let rows = nonDominated(compared, objectives);
  // Sorted by x, equal x by y, then z: stable sorts from the last axis to the first.
  for (const field of [...fields].reverse()) rows = sortSweepRows(rows, field);
  return {
    ...sweep,
    rows,
    axes: fields.map((field) => ({ field, direction: ROW_DIRECTIONS[field] })),
    compared: compared.length,
  };
}

/**
 * The frontier a sweep page draws unasked: what it costs (dollars when priced, else GPUs, else
 * memory: the first that varies) against how long it takes (days to train when the tokens are
 * known, else the step time).
 */
export function defaultFrontierAxes(rows: readonly SweepRow[]): FrontierAxes {
  const y: FrontierField = rows.some((row) => row.trainingDays !== null) ? 'trainingDays' : 'stepTimeSec';
  const varies = (field: FrontierField) =>
    new Set(rows.flatMap((row) => (row[field] === null || row[y] === null ? [] : [row[field]]))).size > 1;
  const x = (['costUsd', 'gpus'] as const).find(varies) ?? 'peakMemoryBytes';
  return { x, y };
}
