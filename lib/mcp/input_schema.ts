/**
 * The pieces of the MCP tools' input schemas, bounded: every string and list an agent sends has
 * a maximum length (the same numbers as the CLI's, from `INPUT_LIMITS`), so no request can make
 * the server work for long or write much. New tools build their schemas from these.
 *
 * @module
 */

import { z } from "zod";
import { INPUT_LIMITS } from "../request/input_bounds.ts";

/** A string of at most `max` characters. */
export function boundedText(max: number): z.ZodString {
  return z.string().max(max);
}

/** One AWS service name or alias (`"s3"`). */
export const serviceText: z.ZodString = boundedText(INPUT_LIMITS.service);
/** A list of service names. */
export const serviceList: z.ZodArray<z.ZodString> = z.array(serviceText).max(INPUT_LIMITS.services);
/** A scope list (`"s3:ro,dynamodb:full"`). */
export const scopesText: z.ZodString = boundedText(INPUT_LIMITS.scopes);
/** A level, a TTL: one short word. */
export const wordText: z.ZodString = boundedText(INPUT_LIMITS.word);
/** A profile name. */
export const profileText: z.ZodString = boundedText(INPUT_LIMITS.profile);
/** A session id, a search query. */
export const idText: z.ZodString = boundedText(INPUT_LIMITS.id);
