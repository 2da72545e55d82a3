import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default is one worker fewer than the cores: one on CI's two, which ran the files one by
    // one (480 s). Much of the suite waits on child processes, Redis and timers, so two workers there
    // take about 255 s, and its timing checks compare against clocks that load stretches alike.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/vitest.json' },
  },
});
