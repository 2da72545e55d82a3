import type { FrontierField } from '../schema/index.ts';
import { formatBytes, formatCount, formatPercent, formatSec, sig } from './format.ts';

export interface FieldView {
  /** What an axis or a column is called. */
  readonly label: string;
  /** A value of the field as people read it. */
  readonly format: (value: number) => string;
}

/** Whole amounts with separators for a training run, three significant digits for one step. */
function formatAmount(value: number): string {
  return Math.abs(value) >= 100 ? formatCount(value) : sig(value);
}

/** How the frontier fields (and GPU-hours, their companion) read in the pages and the CLI. */
export const FIELD_VIEWS: Readonly<Record<FrontierField | 'gpuHours', FieldView>> = {
  gpus: { label: 'GPUs', format: formatCount },
  stepTimeSec: { label: 'Step time', format: formatSec },
  peakMemoryBytes: { label: 'Peak memory per GPU', format: formatBytes },
  costUsd: { label: 'Cost', format: (usd) => `$${formatAmount(usd)}` },
  gpuHours: { label: 'GPU-hours', format: formatAmount },
  trainingDays: { label: 'Days to train', format: (days) => `${sig(days)} d` },
  tokensPerSec: { label: 'Tokens per second', format: formatCount },
  mfu: { label: 'MFU', format: formatPercent },
};
