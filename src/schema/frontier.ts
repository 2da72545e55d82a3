/**
 * The words of a sweep's frontier (issue 18): which way is better for each numeric row field, which
 * fields a frontier may be taken over, the axes a client asks for and the answer it gets. Sorting,
 * the frontier route, the CLI and the sweep page all read these.
 */
import { z } from 'zod';
import { Sweep, type SweepRow } from './jobs.ts';

export const Direction = z.enum(['min', 'max']);
export type Direction = z.infer<typeof Direction>;

export type NumericRowField = {
  [K in keyof SweepRow]-?: SweepRow[K] extends number | null ? K : never;
}[keyof SweepRow];

/**
 * Which way is better for each numeric row field: sorting puts the best row first, a frontier keeps
 * the rows no other beats on every axis. A new numeric row field does not compile without one.
 */
export const ROW_DIRECTIONS = {
  gpus: 'min',
  stepTimeSec: 'min',
  peakMemoryBytes: 'min',
  costUsd: 'min',
  trainingDays: 'min',
  gpuHours: 'min',
  tokensPerSec: 'max',
  tflopsPerDevice: 'max',
  mfu: 'max',
  dp: 'min',
  tp: 'min',
  pp: 'min',
} as const satisfies Record<NumericRowField, Direction>;

const FRONTIER_FIELDS = [
  'gpus',
  'stepTimeSec',
  'peakMemoryBytes',
  'costUsd',
  'trainingDays',
  'tokensPerSec',
  'mfu',
] as const satisfies readonly NumericRowField[];

/** The frontier fields with their directions, as error messages and the API's documentation list them. */
export const FRONTIER_FIELD_LIST = FRONTIER_FIELDS.map((f) => `${f} (${ROW_DIRECTIONS[f]})`).join(', ');

/** The row fields a frontier is taken over: what a question about a sweep trades off. */
export const FrontierField = z.enum(FRONTIER_FIELDS, {
  error: (issue) =>
    issue.input === undefined
      ? `expected a row field with a direction: ${FRONTIER_FIELD_LIST}`
      : `${JSON.stringify(issue.input)} is not a row field with a direction; expected one of ${FRONTIER_FIELD_LIST}`,
});
export type FrontierField = z.infer<typeof FrontierField>;

/**
 * The axes of a frontier, as `GET /v1/sweeps/:id/frontier?x=…&y=…[&z=…]` and the CLI take them:
 * distinct fields; the frontier rows come sorted by `x`.
 */
export const FrontierAxes = z
  .object({ x: FrontierField, y: FrontierField, z: FrontierField.optional() })
  .strict()
  .superRefine((axes, ctx) => {
    const seen: string[] = [];
    for (const key of ['x', 'y', 'z'] as const) {
      const field = axes[key];
      if (field === undefined) continue;
      if (seen.includes(field))
        ctx.addIssue({ code: 'custom', path: [key], message: `${field} is already an axis` });
      seen.push(field);
    }
  });
export type FrontierAxes = z.infer<typeof FrontierAxes>;

/** The axes in order, without the missing third one. */
export function frontierFields(axes: FrontierAxes): FrontierField[] {
  return axes.z === undefined ? [axes.x, axes.y] : [axes.x, axes.y, axes.z];
}

/** A sweep whose `rows` are its non-dominated rows over `axes`, sorted by the first axis, best first. */
export const SweepFrontier = Sweep.extend({
  axes: z.array(z.object({ field: FrontierField, direction: Direction })),
  /** Rows with a value on every axis (finished plans): the frontier is taken over these. */
  compared: z.number().int(),
});
export type SweepFrontier = z.infer<typeof SweepFrontier>;
