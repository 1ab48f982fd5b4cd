/**
 * The time limit of every AWS call: `TIMEBOUND_IAM_TIMEOUT`, and the deadline that holds a
 * client's calls to it. Kept apart from the SDK's modules so that the root command can check the
 * variable before any command runs.
 *
 * One deadline per call, retries included: the SDK's HTTP timeouts bound each attempt, and it
 * tries up to three times, so against an endpoint that never answers a call took three timeouts
 * (30.5 s by default). A middleware at the start of the client's stack gives the whole call
 * `TIMEBOUND_IAM_TIMEOUT`: when it passes, the caller gets the SDK's `TimeoutError` at once, and
 * the SDK's retry loop, which reads the same abort signal, tries no more.
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

/** The part of an SDK client this needs: its middleware stack and its credentials. */
export interface DeadlineClient {
  // deno-lint-ignore no-explicit-any
  middlewareStack: { add(middleware: any, options: { step: "initialize"; name: string }): void };
  /** The client's resolved config: its memoized credential provider. */
  config: { credentials?: unknown };
}

/** Where the SDK keeps a call's abort signal in its handler context (`SMITHY_CONTEXT_KEY`). */
const SMITHY_CONTEXT = "__smithy_context";

/**
 * Bounds every call of `client` to `timeoutMs` in all, retries and their waits included. A call
 * given its own `abortSignal` keeps it too. The base credentials are resolved before the clock
 * starts: a profile's MFA prompt waits for the person typing, not for AWS.
 */
export function addCallDeadline(client: DeadlineClient, timeoutMs: number): void {
  client.middlewareStack.add(
    deadlineMiddleware(timeoutMs, () => client.config.credentials),
    { step: "initialize", name: DEADLINE_NAME },
  );
}

/**
 * The same deadline as a client plugin, for a client the AWS SDK makes itself (the STS client
 * of `fromTemporaryCredentials`, whose credentials are given resolved).
 */
export function callDeadlinePlugin(timeoutMs: number): {
  // deno-lint-ignore no-explicit-any
  applyToStack(stack: { add(middleware: any, options: Record<string, unknown>): void }): void;
} {
  return {
    applyToStack(stack) {
      stack.add(deadlineMiddleware(timeoutMs, () => undefined), {
        step: "initialize",
        name: DEADLINE_NAME,
        override: true,
      });
    },
  };
}

const DEADLINE_NAME = "timeboundCallDeadline";

function deadlineMiddleware(timeoutMs: number, credentialsOf: () => unknown) {
  return (next: (args: unknown) => Promise<unknown>, context: Record<string, unknown>) =>
  async (args: unknown) => {
    // The SDK memoizes the provider: signing then finds the credentials resolved.
    const credentials = credentialsOf();
    if (typeof credentials === "function") await credentials();
    const deadline = new AbortController();
    const smithy = (context[SMITHY_CONTEXT] ?? {}) as { abortSignal?: AbortSignal };
    const given = smithy.abortSignal;
    // The retry middleware reads this signal: once it is aborted, no attempt follows.
    context[SMITHY_CONTEXT] = {
      ...smithy,
      abortSignal: given ? AbortSignal.any([given, deadline.signal]) : deadline.signal,
    };
    const timedOut = Promise.withResolvers<never>();
    const timer = setTimeout(() => {
      deadline.abort();
      timedOut.reject(timeoutError(timeoutMs));
    }, timeoutMs);
    try {
      return await Promise.race([next(args), timedOut.promise]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * The error of a call that found no answer within `timeoutMs`: a plain `Error` named
 * `TimeoutError`, as the SDK's own request timeout throws.
 */
export function timeoutError(timeoutMs: number): Error {
  return Object.assign(
    new Error(`No answer within ${timeoutMs / 1000}s, retries included (TIMEBOUND_IAM_TIMEOUT)`),
    { name: "TimeoutError" },
  );
}
