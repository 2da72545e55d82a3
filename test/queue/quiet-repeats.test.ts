import { afterEach, describe, expect, it, vi } from 'vitest';
import { quietRepeats } from '../../src/queue/quiet-repeats.ts';

describe('quietRepeats', () => {
  afterEach(() => vi.useRealTimers());

  it('writes a repeating line once per interval, then says how many it held back', () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const log = quietRepeats((line) => lines.push(line), 1000);
    for (let i = 0; i < 50; i++) {
      log('redis: connect ECONNREFUSED');
      vi.advanceTimersByTime(10);
    }
    expect(lines).toEqual(['redis: connect ECONNREFUSED']);
    vi.advanceTimersByTime(1000);
    log('redis: connect ECONNREFUSED');
    expect(lines).toEqual([
      'redis: connect ECONNREFUSED',
      'redis: connect ECONNREFUSED (and 49 more like it since)',
    ]);
  });

  it('lets different lines through at once', () => {
    const lines: string[] = [];
    const log = quietRepeats((line) => lines.push(line), 60_000);
    log('a');
    log('b');
    log('a');
    log('c');
    expect(lines).toEqual(['a', 'b', 'c']);
  });
});
