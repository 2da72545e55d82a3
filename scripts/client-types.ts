import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';

/**
 * The `paths` / `components` types of the typed client, as `openapi-typescript openapi/openapi.json
 * -o openapi/schema.d.ts --default-non-nullable=false --array-length` writes them; one function, so the script and
 * the freshness test agree byte for byte.
 */
export async function renderClientTypes(openApiJson: string): Promise<string> {
  // openapi-typescript would make every field with a default required, so a request body could not
  // omit `options` or `training.precision`; in the output schemas such fields are required anyway.
  // `arrayLength` turns the document's fixed-length arrays (short ones, minItems = maxItems) back into
  // the tuples they are in the schemas.
  const ast = await openapiTS(JSON.parse(openApiJson), { defaultNonNullable: false, arrayLength: true });
  return `${COMMENT_HEADER}${astToString(ast)}`;
}
