/**
 * The timeout of every AWS call, from `TIMEBOUND_IAM_TIMEOUT`. Kept apart from the SDK's
 * modules so that the root command can check the variable before any command runs.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";

/** How long an AWS call may take by default, in milliseconds (`TIMEBOUND_IAM_TIMEOUT`). */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The timeout of every AWS call: `TIMEBOUND_IAM_TIMEOUT` in seconds (1 to 300), else
 * {@linkcode DEFAULT_TIMEOUT_MS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { awsTimeoutMs } from "./timeout.ts";
 * assert.equal(awsTimeoutMs({ TIMEBOUND_IAM_TIMEOUT: "3" }), 3000);
 * ```
 */
export function awsTimeoutMs(env: Readonly<Record<string, string | undefined>>): number {
  const text = env.TIMEBOUND_IAM_TIMEOUT;
  if (text === undefined || text === "") return DEFAULT_TIMEOUT_MS;
  const seconds = Number(text);
  if (!/^\d{1,3}$/.test(text) || seconds < 1 || seconds > 300) {
    throw new UsageError(
      `Invalid TIMEBOUND_IAM_TIMEOUT "${text.slice(0, 20)}": give seconds from 1 to 300`,
    );
  }
  return seconds * 1000;
}
