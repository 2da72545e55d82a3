/** Human-readable quantities for the viewer; the exact figures travel in `data-value` attributes. */
import type { Zero3Collectives } from '../schema/vocabulary.ts';

export function formatSec(sec: number): string {
  if (!Number.isFinite(sec)) return String(sec);
  const abs = Math.abs(sec);
  if (abs === 0) return '0 s';
  if (abs >= 1) return `${sig(sec)} s`;
  if (abs >= 1e-3) return `${sig(sec * 1e3)} ms`;
  if (abs >= 1e-6) return `${sig(sec * 1e6)} µs`;
  return `${sig(sec * 1e9)} ns`;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${sig(value)} ${BYTE_UNITS[unit]}`;
}

/** Three significant digits, without an exponent for the magnitudes the viewer shows. */
export function sig(value: number): string {
  if (value === 0 || !Number.isFinite(value)) return String(value);
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return value.toFixed(Math.min(digits, 6));
}

/** Microbatches in flight: whole under 1F1B, a fraction (three significant digits) under interleaving. */
export function formatInFlight(value: number): string {
  return Number.isInteger(value) ? String(value) : sig(value);
}

/** Whole numbers with thousands separators (a fixed locale, so pages do not depend on the server's). */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** A plan's ZeRO stage, and how ZeRO-3 gathers where it does not prefetch or goes tensor by tensor. */
export function formatZero(s: {
  readonly zero: number;
  readonly zero3Prefetch?: boolean | undefined;
  readonly zero3Collectives?: Zero3Collectives | undefined;
}): string {
  if (s.zero3Collectives === 'per-tensor-list') return `${s.zero} (per tensor)`;
  return `${s.zero}${s.zero3Prefetch === false ? ' (no prefetch)' : ''}`;
}

export function formatPercent(fraction: number): string {
  return `${sig(fraction * 100)} %`;
}
