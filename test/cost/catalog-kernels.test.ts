/**
 * What the grounded kernels need from the GPU catalog: every factor a calibration fits, and the SM
 * count and tile of every generation whose vendor publishes them.
 */
import { describe, expect, it } from 'vitest';
import { GPU_CATALOG } from '../../src/cluster/catalog.ts';
import { CALIBRATED_FACTORS } from '../../src/schema/index.ts';

describe('catalog facts for the compute model', () => {
  it('every GPU carries every calibrated factor as a share in (0, 1]', () => {
    for (const { spec } of Object.values(GPU_CATALOG)) {
      for (const factor of CALIBRATED_FACTORS) {
        expect(spec.efficiency[factor], `${spec.name} ${factor}`).toBeGreaterThan(0);
        expect(spec.efficiency[factor], `${spec.name} ${factor}`).toBeLessThanOrEqual(1);
      }
    }
  });

  it('only the GPUs whose SM count or tile is unpublished go without wave quantization', () => {
    const without = Object.values(GPU_CATALOG)
      .filter(({ spec }) => spec.smCount === undefined || spec.gemmTile === undefined)
      .map(({ spec }) => spec.name)
      .sort();
    // The tile hipBLASLt picks on MI300X is not published (gpus/cdna3.ts); GB200's SM count is the
    // one its GPU reports (gpus/blackwell.ts).
    expect(without).toEqual(['MI300X-192GB']);
  });

  it('SM count × FLOP per clock per SM × boost clock gives back the dense fp16 peak', () => {
    // Vendors' peaks are SMs × FLOP per clock per SM × boost clock: where the clock is given, the
    // peak per SM is a whole number of FLOP per clock (1,024 on Volta, 2,048 Ampere, 4,096 Hopper).
    for (const { spec } of Object.values(GPU_CATALOG)) {
      if (spec.smCount === undefined || spec.boostClockMHz === undefined) continue;
      const flopPerClockPerSm = (spec.peakTflops.fp16 * 1e12) / (spec.smCount * spec.boostClockMHz * 1e6);
      expect(flopPerClockPerSm / 1024, spec.name).toBeCloseTo(Math.round(flopPerClockPerSm / 1024), 1);
    }
  });
});
