import type { FrontierField } from '../schema/index.ts';
import { formatBytes, formatCount, formatPercent, formatSec, sig } from './format.ts';

export interface FieldView {
  /** What an axis or a column is called. */
  readonly label: string;
  /** A value of the field as people read it. */
  readonly format: (value: number) => string;
}

/** Dollars: whole ones with separators for the cost of a training run, cents for the cost of a step. */
export function formatUsd(usd: number): string {
  return Math.abs(usd) >= 100 ? `$${formatCount(usd)}` : `$${sig(usd)}`;
}

/** How the frontier fields read in the sweep page, the plan page and the CLI. */
export const FIELD_VIEWS: Readonly<Record<FrontierField, FieldView>> = {
  gpus: { label: 'GPUs', format: formatCount },
  stepTimeSec: { label: 'Step time', format: formatSec },
  peakMemoryBytes: { label: 'Peak memory per GPU', format: formatBytes },
  costUsd: { label: 'Cost', format: formatUsd },
  trainingDays: { label: 'Days to train', format: (days) => `${sig(days)} d` },
  tokensPerSec: { label: 'Tokens per second', format: formatCount },
  mfu: { label: 'MFU', format: formatPercent },
};
