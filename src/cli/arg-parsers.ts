/**
 * Parsers of numeric flags (and their environment variables) shared by the commands: a blank or
 * malformed value is an error naming what was expected, never a silent 0 or NaN.
 */
import { InvalidArgumentError } from 'commander';

function parser(accepts: (n: number) => boolean, expected: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || !accepts(n)) {
      throw new InvalidArgumentError(`expected ${expected}`);
    }
    return n;
  };
}

export const positiveInteger = parser((n) => Number.isInteger(n) && n >= 1, 'an integer ≥ 1');
export const positiveNumber = parser((n) => n > 0, 'a positive number');
export const nonNegativeNumber = parser((n) => n >= 0, 'a number ≥ 0');
export const atLeastOne = parser((n) => n >= 1, 'a number ≥ 1');
