/**
 * One deadline per AWS call, retries included. The SDK's HTTP timeouts bound each attempt, and it
 * tries up to three times: against an endpoint that never answers, a call took three timeouts
 * (30.5 s by default). A middleware at the start of the client's stack gives the whole call
 * `TIMEBOUND_IAM_TIMEOUT`: when it passes, the caller gets the SDK's `TimeoutError` at once, and
 * the SDK's retry loop, which reads the same abort signal, tries no more.
 *
 * @module
 */

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
    (next: (args: unknown) => Promise<unknown>, context: Record<string, unknown>) =>
    async (args: unknown) => {
      // The SDK memoizes the provider: signing then finds the credentials resolved.
      const credentials = client.config.credentials;
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
    },
    { step: "initialize", name: "timeboundCallDeadline" },
  );
}

/** The error the SDK's own request timeout throws: a plain `Error` named `TimeoutError`. */
function timeoutError(timeoutMs: number): Error {
  return Object.assign(
    new Error(`No answer within ${timeoutMs / 1000}s, retries included (TIMEBOUND_IAM_TIMEOUT)`),
    { name: "TimeoutError" },
  );
}
