import { z } from 'zod';

/*
 * Pairs are tuples; the position names travel into the OpenAPI document's descriptions, where tools
 * that see only a two-item array still learn which end is which.
 */
export const LayerRange = z
  .tuple([z.number().int().describe('first'), z.number().int().describe('last')])
  .describe("First and last layer (inclusive), as indices into the model's layer list");
export const LayerNameRange = z
  .tuple([z.string().describe('first'), z.string().describe('last')])
  .describe('Names of the first and last layer');
