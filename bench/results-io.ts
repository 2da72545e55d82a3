import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

/** Writes one benchmark's machine-readable results as bench/results/NAME.json. */
export function writeResults(name: string, data: unknown): string {
  mkdirSync(RESULTS, { recursive: true });
  const path = `${RESULTS}${name}.json`;
  writeFileSync(
    path,
    `${JSON.stringify({ name, recordedAt: new Date().toISOString(), node: process.version, ...(data as object) }, null, 2)}\n`,
  );
  return path;
}

export function writeText(name: string, text: string): string {
  mkdirSync(RESULTS, { recursive: true });
  const path = `${RESULTS}${name}`;
  writeFileSync(path, text);
  return path;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
