/** About `count` round tick values (1, 2 or 5 × 10^k apart) covering [min, max]. */
export function niceTicks(min: number, max: number, count: number): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) {
    // Rounded so 0.1 + 0.2 prints as 0.3 in the labels.
    ticks.push(Number(t.toPrecision(12)));
  }
  return ticks;
}

/** Round ticks from `min` up to the first one at or above `max`, so the axis spans every value. */
export function niceTicksCovering(min: number, max: number, count: number): number[] {
  const ticks = niceTicks(min, max, count);
  const step = ticks.length >= 2 ? ticks[1]! - ticks[0]! : Math.abs(max - min) || 1;
  while (ticks[ticks.length - 1]! < max)
    ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

/** A linear map from [d0, d1] onto [r0, r1]. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (x: number) => number {
  const span = d1 - d0 || 1;
  return (x) => r0 + ((x - d0) / span) * (r1 - r0);
}
