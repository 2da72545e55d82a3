/**
 * The tuple rewrite against two oracles that share none of its code: zod decides which arrays a tuple
 * accepts, and Ajv in draft-07 mode (how Prism and most generators read schemas) decides which
 * arrays the rewritten schema accepts. Whatever zod accepts must be accepted; where every position
 * has one type the two must agree exactly.
 */
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { tuplesAsTypedArrays } from '../../src/http/openapi-tuples.ts';

const TUPLES = {
  pair: z.tuple([z.number().int(), z.number().int()]),
  labelled: z.tuple([z.string().describe('first'), z.string().describe('last')]).describe('A range'),
  mixed: z.tuple([z.string(), z.number(), z.boolean()]),
  withRest: z.tuple([z.string()], z.number()),
};

const value = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.double({ noNaN: true }),
  fc.string(),
  fc.boolean(),
);

function rewritten(schema: z.ZodType) {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  return tuplesAsTypedArrays({ schema: json }).schema;
}

describe('tuplesAsTypedArrays', () => {
  it.each(Object.entries(TUPLES))(
    '%s: accepts every array zod accepts, in draft-07 terms',
    (_name, tuple) => {
      const schema = rewritten(tuple);
      expect(JSON.stringify(schema)).not.toMatch(/prefixItems|"items":false/);
      const validate = new Ajv({ strict: true }).compile(schema);
      const arrays = fc.oneof(
        fc.array(value, { maxLength: 5 }),
        fc.tuple(fc.string(), fc.integer(), fc.boolean()),
        fc.tuple(fc.integer(), fc.integer()),
        fc.tuple(fc.string(), fc.string()),
        fc.tuple(fc.string(), fc.double(), fc.double()),
      );
      fc.assert(
        fc.property(arrays, (array) => {
          const byZod = tuple.safeParse(array).success;
          if (byZod) expect(validate(array)).toBe(true);
          // One type at every position: nothing is lost, so the answers are the same.
          if (tuple === TUPLES.pair || tuple === TUPLES.labelled) expect(validate(array)).toBe(byZod);
        }),
        { numRuns: 300 },
      );
    },
  );

  it('keeps the length and says what each position means', () => {
    expect(rewritten(TUPLES.labelled)).toEqual({
      type: 'array',
      description: 'A range. Exactly 2 items: [first, last].',
      items: { type: 'string' },
      minItems: 2,
      maxItems: 2,
    });
    expect(rewritten(TUPLES.withRest)).toMatchObject({
      description: 'At least 1 item: [string, …number].',
      items: { anyOf: [{ type: 'string' }, { type: 'number' }] },
      minItems: 1,
    });
    expect(rewritten(TUPLES.withRest)).not.toHaveProperty('maxItems');
  });
});
