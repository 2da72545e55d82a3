/**
 * One argument of the entry script (`pretrain_gpt.py`, `pretrain_hybrid.py`): a switch (argparse
 * store_true/store_false) alone, or a flag and its value, or its values (nargs "+" or "*").
 */
export type Arg =
  | readonly [flag: string]
  | readonly [flag: string, value: string | number, ...more: readonly (string | number)[]];

/** The arguments as the words of a command line. */
export function argv(args: readonly Arg[]): string[] {
  return args.flatMap((a) => [a[0], ...a.slice(1).map(String)]);
}
