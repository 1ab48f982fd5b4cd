/**
 * The expiry of credentials that STS hands out, bounded by what was asked: never later than the
 * request's time plus its TTL (an endpoint, or a clock, that says otherwise is not believed),
 * and credentials that have already expired are refused before anyone holds or caches them.
 *
 * @module
 */

import { RuntimeError } from "../core/errors.ts";

/** Options of {@linkcode boundedExpiration}. */
export interface ExpirationBounds {
  /** The operation that returned the credentials, for the message (`AssumeRole`). */
  operation: string;
  /** The latest expiry asked for: the request's time plus its TTL. */
  notAfter: Date;
  /** The time now, after the answer. */
  now: Date;
}

/**
 * The expiry to hand on: STS's `expiration`, or `notAfter` (the request's time plus its TTL) when
 * that is earlier. Throws when the credentials have expired already.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { boundedExpiration } from "./expiration.ts";
 * const now = new Date("2030-01-01T00:00:00Z");
 * const clamped = boundedExpiration(new Date("2030-01-01T12:00:00Z"), {
 *   operation: "AssumeRole", notAfter: new Date("2030-01-01T00:15:00Z"), now,
 * });
 * assert.equal(clamped.toISOString(), "2030-01-01T00:15:00.000Z");
 * ```
 */
export function boundedExpiration(expiration: Date, bounds: ExpirationBounds): Date {
  const limit = bounds.notAfter;
  const bounded = Number.isNaN(expiration.getTime()) || expiration > limit ? limit : expiration;
  if (bounded <= bounds.now) {
    throw new RuntimeError(
      `${bounds.operation} returned credentials that expired at ${
        Number.isNaN(expiration.getTime()) ? "an unreadable time" : expiration.toISOString()
      }, before they arrived (now ${bounds.now.toISOString()})`,
      {
        hint: "no credentials were handed out; check this machine's clock, and " +
          "AWS_ENDPOINT_URL_STS if you set it",
      },
    );
  }
  return bounded;
}
