import type { CollectiveKind } from '../schema/vocabulary.ts';
import type { MeshAxis } from './mesh.ts';

/**
 * Ring collectives on one mesh axis (DESIGN.md §4). A size-1 axis communicates nothing.
 * bytes: for all-reduce the buffer each device holds; for all-gather and reduce-scatter the full
 * (gathered) size; for all-to-all the total the group exchanges; for a halo exchange what one device
 * sends to its two neighbours together (they share its link).
 */
export function collectiveSec(kind: CollectiveKind, axis: MeshAxis, bytes: number): number {
  const n = axis.size;
  if (n <= 1 || bytes <= 0) return 0;
  const { alphaSec: a, betaSecPerByte: b } = axis;
  switch (kind) {
    case 'all-reduce':
      return a + (2 * b * bytes * (n - 1)) / n;
    case 'all-gather':
    case 'reduce-scatter':
      return a + (b * bytes * (n - 1)) / n;
    case 'all-to-all':
      return a + (b * bytes * (n - 1)) / (n * n);
    case 'halo-exchange':
      return a + b * bytes;
  }
}

/** Point-to-point transfer between pipeline stages. */
export function sendRecvSec(alphaSec: number, betaSecPerByte: number, bytes: number): number {
  return bytes <= 0 ? 0 : alphaSec + betaSecPerByte * bytes;
}
