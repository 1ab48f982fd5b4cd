/**
 * Grants shorter than STS's 15-minute floor. AssumeRole will not issue a session of less than
 * 15 minutes, so a shorter grant asks STS for 15 minutes and adds to the session policy an
 * explicit `Deny` on every action once `aws:CurrentTime` is past the deadline: the credentials
 * still exist for the rest of the quarter hour, but they allow nothing.
 *
 * @module
 */

/** AWS's shortest AssumeRole session, in seconds (15 minutes). */
export const STS_MIN_SESSION_SECONDS = 15 * 60;

/** The statement that denies everything after `deadline`. */
export interface DeadlineStatement {
  /** Always `Deny`. */
  Effect: "Deny";
  /** Every action. */
  Action: "*";
  /** Every resource. */
  Resource: "*";
  /** `DateGreaterThan aws:CurrentTime` at the deadline. */
  Condition: { DateGreaterThan: { "aws:CurrentTime": string } };
}

/**
 * Whether a grant of `ttlSeconds` needs a deadline in its policy: only when it is shorter than
 * the session STS can issue.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { needsDeadline } from "./deadline.ts";
 * assert.equal(needsDeadline(300), true);
 * assert.equal(needsDeadline(900), false);
 * ```
 */
export function needsDeadline(ttlSeconds: number): boolean {
  return ttlSeconds < STS_MIN_SESSION_SECONDS;
}

/**
 * The `DurationSeconds` to ask STS for: the TTL, or STS's 15-minute minimum for shorter grants.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stsDurationSeconds } from "./deadline.ts";
 * assert.equal(stsDurationSeconds(300), 900);
 * assert.equal(stsDurationSeconds(3600), 3600);
 * ```
 */
export function stsDurationSeconds(ttlSeconds: number): number {
  return Math.max(ttlSeconds, STS_MIN_SESSION_SECONDS);
}

/**
 * The statement that denies every action after `deadline`. The time is written to the second
 * (`2030-01-01T00:05:00Z`), so the statement has the same size whatever the deadline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deadlineStatement } from "./deadline.ts";
 * const s = deadlineStatement(new Date("2030-01-01T00:05:00.250Z"));
 * assert.equal(s.Condition.DateGreaterThan["aws:CurrentTime"], "2030-01-01T00:05:00Z");
 * ```
 */
export function deadlineStatement(deadline: Date): DeadlineStatement {
  return {
    Effect: "Deny",
    Action: "*",
    Resource: "*",
    Condition: { DateGreaterThan: { "aws:CurrentTime": awsTime(deadline) } },
  };
}

/**
 * The deadline of a grant of `ttlSeconds` that starts at `now`, to the whole second (as the
 * policy states it, so what is reported is exactly what AWS enforces).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grantDeadline } from "./deadline.ts";
 * const at = grantDeadline(new Date("2030-01-01T00:00:00.900Z"), 300);
 * assert.equal(at.toISOString(), "2030-01-01T00:05:00.000Z");
 * ```
 */
export function grantDeadline(now: Date, ttlSeconds: number): Date {
  return new Date(Math.floor(now.getTime() / 1000) * 1000 + ttlSeconds * 1000);
}

/** Whether a policy statement is a {@linkcode DeadlineStatement}. */
export function isDeadlineStatement(statement: unknown): statement is DeadlineStatement {
  const s = statement as Partial<DeadlineStatement> | null;
  return s?.Effect === "Deny" && s.Condition?.DateGreaterThan?.["aws:CurrentTime"] !== undefined;
}

/** A time as IAM conditions take it, to the second: `2030-01-01T00:05:00Z`. */
function awsTime(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, "Z");
}
