/**
 * Reads a byte stream whole, up to a bound: what the proxy, its error-answer check and the
 * federation client read from a peer they do not trust to stop.
 *
 * @module
 */

/** Options of {@linkcode readBoundedBody}. */
export interface BoundedBodyOptions {
  /** The most bytes read; one more and the read stops with {@linkcode tooLarge}'s error. */
  limit: number;
  /** The error thrown when the stream goes past the limit (the stream is cancelled first). */
  tooLarge: () => Error;
  /** Told the size of each piece as it arrives (a memory budget, a byte count). */
  count?: (bytes: number) => void;
}

/**
 * The stream's bytes in one array; an absent body is empty. Past `limit` the stream is cancelled
 * and `tooLarge()` is thrown, so a peer that never stops costs at most the bound.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readBoundedBody } from "./bounded_body.ts";
 *
 * const body = new Response("hello").body;
 * const bytes = await readBoundedBody(body, { limit: 5, tooLarge: () => new Error("big") });
 * assert.equal(new TextDecoder().decode(bytes), "hello");
 * await assert.rejects(
 *   readBoundedBody(new Response("hello!").body, { limit: 5, tooLarge: () => new Error("big") }),
 *   /big/,
 * );
 * ```
 */
export async function readBoundedBody(
  body: ReadableStream<Uint8Array> | null,
  options: BoundedBodyOptions,
): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const pieces: Uint8Array[] = [];
  let total = 0;
  // Leaving the loop by a throw cancels the stream.
  for await (const piece of body) {
    total += piece.length;
    if (total > options.limit) throw options.tooLarge();
    options.count?.(piece.length);
    pieces.push(piece);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}
