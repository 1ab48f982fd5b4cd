/**
 * Time-to-live values such as `15m`, `1h30m` or `90s`, and the bounds AWS puts on them.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";

/**
 * The shortest grant, in seconds (1 minute). STS's own floor is 15 minutes; shorter grants end
 * at a deadline in the session policy (see `deadline.ts`).
 */
export const MIN_TTL_SECONDS = 60;
/** AWS's longest AssumeRole session, in seconds (12 hours). */
export const MAX_TTL_SECONDS = 12 * 60 * 60;

/** Bounds for {@linkcode parseTtl}; 1m to AWS's 12h by default. */
export interface TtlBounds {
  /** The shortest TTL accepted, in seconds. */
  min?: number;
  /** The longest TTL accepted, in seconds. */
  max?: number;
  /** Who sets the upper bound, for the message (default: AWS's AssumeRole limit). */
  maxReason?: string;
}

const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1 };
const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/**
 * Parses a duration like `15m`, `1h`, `1h30m` or `90s` into seconds and checks it against the
 * bounds (1m to 12h unless told otherwise). Units are required: a bare number is refused with
 * a hint.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTtl } from "./ttl.ts";
 * assert.equal(parseTtl("1h30m"), 5400);
 * ```
 */
export function parseTtl(text: string, bounds: TtlBounds = {}): number {
  const value = text.trim().toLowerCase();
  const min = bounds.min ?? MIN_TTL_SECONDS;
  const max = bounds.max ?? MAX_TTL_SECONDS;
  if (/^\d+$/.test(value)) {
    // Suggest the reading that the bounds accept: minutes first, then hours.
    const n = Number(value);
    const guess = n * 60 >= min && n * 60 <= max
      ? `${n}m`
      : n * 3600 >= min && n * 3600 <= max
      ? `${n}h`
      : undefined;
    throw new UsageError(`Invalid TTL "${logText(text, 40)}": a unit is required`, {
      hint: `${guess ? `did you mean ${guess}? ` : ""}Units are h, m and s (e.g. 15m, 1h, 1h30m)`,
    });
  }
  const match = DURATION.exec(value);
  // Only the empty text matches DURATION without any of its parts.
  if (!value || !match) {
    throw new UsageError(
      `Invalid TTL "${logText(text, 40)}": use a duration like 15m, 1h or 1h30m`,
    );
  }
  const seconds = (["h", "m", "s"] as const).reduce(
    (sum, unit, i) => sum + Number(match[i + 1] ?? 0) * UNIT_SECONDS[unit],
    0,
  );
  if (seconds < min) {
    throw new UsageError(
      `TTL "${logText(text, 40)}" is too short: the minimum is ${formatTtl(min)}`,
    );
  }
  if (seconds > max) {
    const reason = bounds.maxReason ?? "AWS's limit for AssumeRole";
    throw new UsageError(
      `TTL "${logText(text, 40)}" is too long: the maximum is ${formatTtl(max)} (${reason})`,
    );
  }
  return seconds;
}

/**
 * Formats seconds as a compact duration: `900` → `15m`, `5400` → `1h30m`, `45` → `45s`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTtl } from "./ttl.ts";
 * assert.equal(formatTtl(5400), "1h30m");
 * ```
 */
export function formatTtl(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const text = `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}`;
  return text || "0s";
}

/** How long `--refresh` renews when no limit is given: 12 hours. */
export const DEFAULT_REFRESH_SECONDS = 12 * 60 * 60;
/** The longest `--refresh` limit: a day. Renewing for longer is a long-lived credential. */
export const MAX_REFRESH_SECONDS = 24 * 60 * 60;

/**
 * Parses the limit of `--refresh[=MAX]`: how long credentials are renewed in total. No value
 * (or `1`/`true`, from `TIMEBOUND_IAM_REFRESH`) means 12h; otherwise a duration from 1m to 24h.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRefreshLimit } from "./ttl.ts";
 * assert.ok(parseRefreshLimit(true) === 12 * 3600 && parseRefreshLimit("2h") === 7200);
 * ```
 */
export function parseRefreshLimit(value: string | true): number {
  if (value === true || ["1", "true"].includes(value.trim().toLowerCase())) {
    return DEFAULT_REFRESH_SECONDS;
  }
  try {
    return parseTtl(value, {
      min: 60,
      max: MAX_REFRESH_SECONDS,
      maxReason: "longer renewing would amount to a long-lived credential",
    });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(error.message.replace("TTL", "--refresh limit"), {
      hint: "give how long to keep renewing, e.g. --refresh=8h (default 12h)",
    });
  }
}

/** The longest `--refresh` renews ahead: five minutes before the credentials expire. */
export const RENEWAL_MARGIN_SECONDS = 5 * 60;

/**
 * How long `--refresh` serves credentials that live `ttlSeconds` before it renews them: until
 * half their lifetime before they expire, but no earlier than five minutes before (every 10
 * minutes for a 15-minute TTL, every 55 for an hour, every 30 seconds for a minute).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renewalIntervalSeconds } from "./ttl.ts";
 * assert.ok(renewalIntervalSeconds(900) === 600 && renewalIntervalSeconds(60) === 30);
 * ```
 */
export function renewalIntervalSeconds(ttlSeconds: number): number {
  return ttlSeconds - Math.min(RENEWAL_MARGIN_SECONDS, ttlSeconds / 2);
}

/**
 * Checks that a `--refresh` limit leaves room for a renewal of credentials that live
 * `ttlSeconds`: the first comes after {@linkcode renewalIntervalSeconds} and lives the TTL, and
 * renewing never serves credentials that outlive the limit, so a shorter limit renews nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkRefreshLimit } from "./ttl.ts";
 * assert.equal(checkRefreshLimit(4 * 3600, 900), 4 * 3600);
 * assert.throws(() => checkRefreshLimit(1800, 3600), /shorter than the TTL \(1h\)/);
 * ```
 */
export function checkRefreshLimit(limitSeconds: number, ttlSeconds: number): number {
  const interval = renewalIntervalSeconds(ttlSeconds);
  const needed = Math.ceil(interval + ttlSeconds);
  if (limitSeconds >= needed) return limitSeconds;
  const given = `--refresh=${formatTtl(limitSeconds)}`;
  const shorterThan = limitSeconds < ttlSeconds
    ? `the TTL (${formatTtl(ttlSeconds)})`
    : `the TTL plus one renewal (${formatTtl(needed)})`;
  throw new UsageError(`${given} is shorter than ${shorterThan}: nothing would be renewed`, {
    hint: `use --refresh=${formatTtl(needed)} or longer (with -t ${formatTtl(ttlSeconds)}, ` +
      `renewals come every ${formatTtl(interval)}), or drop --refresh`,
  });
}
