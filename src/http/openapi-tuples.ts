/**
 * zod writes a fixed-length array (`z.tuple`) the JSON Schema 2020-12 way: one schema per position in
 * `prefixItems` and `items: false` for "nothing after them". Validators and generators that read
 * OpenAPI schemas as draft 4/7 (Stoplight Prism, openapi-typescript-codegen, …) skip `prefixItems`
 * and take `items: false` as "no items at all", so they reject every real answer or type the field
 * `any[]`. Every reader understands a typed array with `minItems`/`maxItems`; what each position
 * means moves into the description, where people and tools that ignore positions still see it.
 */

type JsonObject = { [key: string]: unknown };

const isObject = (value: unknown): value is JsonObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function withoutDescription(schema: unknown): unknown {
  if (!isObject(schema)) return schema;
  const { description: _description, ...rest } = schema;
  return rest;
}

/** A short name for a position without a description: its type, or its schema as JSON. */
function label(schema: unknown): string {
  if (isObject(schema) && typeof schema.description === 'string') return schema.description;
  if (isObject(schema) && typeof schema.type === 'string') return schema.type;
  return JSON.stringify(schema);
}

function typedArray(tuple: JsonObject, positions: readonly unknown[]): JsonObject {
  const { prefixItems: _prefixItems, items: rest, description, ...keep } = tuple;
  const open = rest !== undefined && rest !== false;
  const shapes = [...positions, ...(open ? [rest] : [])].map(withoutDescription);
  const distinct = [...new Map(shapes.map((shape) => [JSON.stringify(shape), shape])).values()];
  const sameEverywhere = distinct.length === 1 && positions.every((p) => !isObject(p) || !p.description);
  const count = `${open ? 'At least' : 'Exactly'} ${positions.length} item${positions.length === 1 ? '' : 's'}`;
  const meaning = sameEverywhere
    ? `${count}.`
    : `${count}: [${[...positions.map(label), ...(open ? [`…${label(rest)}`] : [])].join(', ')}].`;
  return {
    ...keep,
    description: typeof description === 'string' ? `${description.replace(/\.?$/, '.')} ${meaning}` : meaning,
    items: distinct.length === 1 ? distinct[0] : { anyOf: distinct },
    minItems: positions.length,
    ...(open ? {} : { maxItems: positions.length }),
  };
}

function rewrite(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewrite);
  if (!isObject(value)) return value;
  const node = Object.fromEntries(Object.entries(value).map(([key, child]) => [key, rewrite(child)]));
  return Array.isArray(node.prefixItems) ? typedArray(node, node.prefixItems) : node;
}

/** The document with every `prefixItems` array rewritten as a typed array of fixed (or minimum) length. */
export function tuplesAsTypedArrays<D extends JsonObject>(document: D): D {
  return rewrite(document) as D;
}
