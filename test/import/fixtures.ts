import { readFileSync } from 'node:fs';

/** PyTorch's own count of each fixture's matmul and convolution FLOPs (scripts/onnx-fixtures.py). */
export interface TorchCount {
  readonly file: string;
  /** The symbolic dims the count ran with (besides the batch). */
  readonly dims: Readonly<Record<string, number>>;
  readonly batch: number;
  readonly flopsPerSample: number;
  readonly params: number;
}

const DIR = new URL('../fixtures/onnx/', import.meta.url);

export const TORCH_COUNTS: Readonly<Record<string, TorchCount>> = JSON.parse(
  readFileSync(new URL('flops.json', DIR), 'utf8'),
);

export function fixtureBytes(name: string): Buffer {
  return readFileSync(new URL(name, DIR));
}

export function fixturePath(name: string): string {
  return new URL(name, DIR).pathname;
}
