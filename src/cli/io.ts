import { readFile } from 'node:fs/promises';
import { InvalidInputError } from '../schema/errors.ts';

/** Reads a JSON file, turning a missing file or bad JSON into an InvalidInputError that names it. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InvalidInputError(
      [{ path: what, message: `cannot read ${path}: ${code ?? String(error)}` }],
      what,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidInputError(
      [{ path: what, message: `${path} is not valid JSON: ${(error as Error).message}` }],
      what,
    );
  }
}

/** Prefixes every issue path with the file it came from, so the user knows where to look. */
export function inFile(error: unknown, file: string): unknown {
  if (!(error instanceof InvalidInputError)) return error;
  return new InvalidInputError(
    error.issues.map((i) => ({ path: i.path, message: `${i.message} (in ${file})` })),
    'input',
  );
}

/** Reads and parses a JSON file; any fault (unreadable, not JSON, invalid) names the file. */
export async function loadJsonFile<T>(file: string, what: string, parse: (value: unknown) => T): Promise<T> {
  try {
    return parse(await readJsonFile(file, what));
  } catch (error) {
    throw inFile(error, file);
  }
}
