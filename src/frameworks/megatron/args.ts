/** One `pretrain_gpt.py` argument: a switch (argparse store_true/store_false) alone, or a flag and its value. */
export type Arg = readonly [flag: string] | readonly [flag: string, value: string | number];

/** The arguments as the words of a command line. */
export function argv(args: readonly Arg[]): string[] {
  return args.flatMap((a) => (a.length === 1 ? [a[0]] : [a[0], String(a[1])]));
}
