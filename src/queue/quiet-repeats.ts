/**
 * A log line that repeats (a Redis client reports each failed reconnect while Redis is away) is
 * written once per `intervalMs`, the next time with how many were held back: an outage of minutes
 * stays a few lines instead of hundreds.
 */
export function quietRepeats(write: (line: string) => void, intervalMs = 30_000): (line: string) => void {
  const seen = new Map<string, { lastMs: number; held: number }>();
  return (line) => {
    const now = Date.now();
    const entry = seen.get(line);
    if (entry !== undefined && now - entry.lastMs < intervalMs) {
      entry.held += 1;
      return;
    }
    const held = entry?.held ?? 0;
    write(held > 0 ? `${line} (and ${held} more like it since)` : line);
    seen.set(line, { lastMs: now, held: 0 });
    // Distinct lines are few (one per failure kind); forget stale ones so the map stays small.
    if (seen.size > 100) {
      for (const [key, value] of seen) if (now - value.lastMs >= intervalMs) seen.delete(key);
    }
  };
}
