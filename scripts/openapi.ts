// `npm run openapi`: regenerates openapi/openapi.json from the routes and openapi/schema.d.ts (the
// typed client's types) from it. Both files are checked in; test/http/openapi.test.ts fails when
// either is out of date.
import { writeFile } from 'node:fs/promises';
import { generateOpenApiDocument, renderOpenApiJson } from '../src/http/openapi-document.ts';
import { renderClientTypes } from './client-types.ts';

const jsonUrl = new URL('../openapi/openapi.json', import.meta.url);
const typesUrl = new URL('../openapi/schema.d.ts', import.meta.url);

const json = renderOpenApiJson(await generateOpenApiDocument());
await writeFile(jsonUrl, json);
await writeFile(typesUrl, await renderClientTypes(json));
process.stdout.write(`wrote ${jsonUrl.pathname} and ${typesUrl.pathname}\n`);
