/**
 * How often an agent may call a tool: at most `limit` calls in any window of `windowMs`. A call
 * over the limit is refused at once, before any work, and the refusals are reported at most once
 * a window, with their count, so an agent that loops cannot fill the disk with audit lines, the
 * human's screen with approval prompts, or STS with requests.
 *
 * @module
 */

/** Refusals over the limit that have not been reported yet. */
export interface Unreported {
  /** How many calls were refused. */
  count: number;
  /** When the first of them came. */
  since: Date;
}

/** What {@linkcode CallLimit.take} says of a call over the limit. */
export interface OverLimit {
  /** Whole seconds until a call may go ahead again (at least 1). */
  retryAfterSeconds: number;
  /** The refusals to report now (this one included); absent when reported less than a window ago. */
  report?: Unreported;
}

/** A sliding-window limit on calls. */
export interface CallLimit {
  /** Counts a call: `undefined` when it may go ahead, else why not. */
  take(): OverLimit | undefined;
  /**
   * The refusals not reported yet, if a window has passed since the last report (for a call
   * that went ahead: an agent that stopped looping), and forgets them.
   */
  due(): Unreported | undefined;
  /** The refusals not reported yet (at close), and forgets them. */
  drain(): Unreported | undefined;
}

/**
 * A limit of `limit` calls in any `windowMs`, by the clock `now`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCallLimit } from "./rate_limit.ts";
 * let t = 0;
 * const limit = createCallLimit({ limit: 1, windowMs: 60_000, now: () => new Date(t) });
 * assert.equal(limit.take(), undefined);
 * assert.deepEqual(limit.take(), {
 *   retryAfterSeconds: 60,
 *   report: { count: 1, since: new Date(0) },
 * });
 * t = 60_000;
 * assert.equal(limit.take(), undefined);
 * ```
 */
export function createCallLimit(options: {
  limit: number;
  windowMs: number;
  now: () => Date;
}): CallLimit {
  const { limit, windowMs, now } = options;
  // The times of the calls let through within the last window: at most `limit` of them.
  const times: number[] = [];
  let unreported: Unreported | undefined;
  let reportedAt = -Infinity;
  const report = (t: number) => {
    reportedAt = t;
    const left = unreported;
    unreported = undefined;
    return left;
  };
  return {
    take() {
      const t = now().getTime();
      // A clock stepped back (NTP, a resumed laptop) must not lock calls out for the step.
      if (times.length && times[times.length - 1] > t) times.length = 0;
      if (reportedAt > t) reportedAt = -Infinity;
      while (times.length && times[0] <= t - windowMs) times.shift();
      if (times.length < limit) {
        times.push(t);
        return undefined;
      }
      const retryAfterSeconds = Math.max(1, Math.ceil((times[0] + windowMs - t) / 1000));
      unreported = { count: (unreported?.count ?? 0) + 1, since: unreported?.since ?? new Date(t) };
      if (t - reportedAt < windowMs) return { retryAfterSeconds };
      return { retryAfterSeconds, report: report(t) };
    },
    due() {
      const t = now().getTime();
      return unreported && t - reportedAt >= windowMs ? report(t) : undefined;
    },
    drain() {
      const left = unreported;
      unreported = undefined;
      return left;
    },
  };
}
