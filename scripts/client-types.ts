import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';

/**
 * The `paths` / `components` types of the typed client, as `openapi-typescript openapi/openapi.json
 * -o openapi/schema.d.ts --default-non-nullable=false` writes them; one function, so the script and
 * the freshness test agree byte for byte.
 */
export async function renderClientTypes(openApiJson: string): Promise<string> {
  // openapi-typescript would make every field with a default required, so a request body could not
  // omit `options` or `training.precision`; in the output schemas such fields are required anyway.
  // Fixed-length arrays stay plain arrays (no `arrayLength`): openapi-fetch hands answers over as
  // arrays anyway, and `components` tuples would then not accept its own `data`.
  const ast = await openapiTS(JSON.parse(openApiJson), { defaultNonNullable: false });
  return `${COMMENT_HEADER}${astToString(ast)}`;
}
