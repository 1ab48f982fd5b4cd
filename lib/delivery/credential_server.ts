/**
 * The renewing credential endpoint of `exec --refresh` and `shell --refresh`: an HTTP server on
 * 127.0.0.1 (random port, random path) that serves the current session's credentials in the
 * container-credentials format, which the AWS SDKs and the AWS CLI read from
 * `AWS_CONTAINER_CREDENTIALS_FULL_URI` with the `AWS_CONTAINER_AUTHORIZATION_TOKEN` header. It
 * assumes the role again before the credentials expire, on a timer, so no request ever waits on
 * AWS; each credential lives at most the TTL, and renewals stop at a deadline.
 *
 * Only a client that knows the token, sends `Host: 127.0.0.1:PORT` (or `localhost:PORT`, so a
 * web page cannot reach it through DNS rebinding) and asks for the exact path gets an answer; the
 * token is compared in constant time. Everything else gets 401 or 404 and no detail.
 *
 * @module
 */

import { formatTime } from "../core/time_text.ts";
import type { SessionCredentials } from "../aws/broker.ts";
import { RENEWAL_MARGIN_SECONDS } from "../request/ttl.ts";
import { errorMessage } from "../core/log_text.ts";
import { type LoopbackOptions, serveLoopback } from "./loopback_server.ts";

/** The variable that points the SDKs at the endpoint. */
export const FULL_URI_VARIABLE = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
/** The variable holding the token the SDKs send in the `Authorization` header. */
export const TOKEN_VARIABLE = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
/** The longest a renewal waits before the credentials expire. */
const MAX_MARGIN_MS = RENEWAL_MARGIN_SECONDS * 1000;
/** The longest wait before another try after a failed renewal. */
const MAX_RETRY_MS = 30_000;
/**
 * `on-request`: credentials received less than this long ago (and not expired) are served again
 * instead of being renewed, so a client that POSTs in a loop makes no new sessions.
 */
export const FRESH_FOR_MS = 60_000;
/** `on-request`: at most this many renewals (tried or done) in any minute; more are refused. */
export const RENEWALS_PER_MINUTE = 3;

/** Options of {@linkcode startCredentialServer}. */
export interface CredentialServerOptions {
  /** The credentials to serve first. */
  initial: SessionCredentials;
  /**
   * Assumes the role again; called on a timer, never while a request waits (or, `on-request`,
   * for the clients that POST). `signal` aborts when the endpoint closes: nobody waits for the
   * call then, and what it settles to is dropped.
   */
  renew: (signal: AbortSignal) => Promise<SessionCredentials>;
  /**
   * When renewing stops: a renewal happens only if its credentials (as long-lived as the last
   * ones) would expire by then, so no credential outlives it.
   */
  renewUntil: Date;
  /** Told one line (no secret) when a renewal fails or renewing ends. */
  warn: (line: string) => void;
  /** The clock (default: the real one). */
  now?: () => Date;
  /** The server's bounds on slow clients (tests give shorter ones). */
  limits?: LoopbackOptions;
  /**
   * `renewing` (the default) renews on a timer, for `--refresh`. `on-request` renews only when
   * a client POSTs to the path (`timebound-iam refresh` inside `shell`), and answers with the
   * new credentials; credentials received less than {@linkcode FRESH_FOR_MS} ago are served
   * again instead, and more than {@linkcode RENEWALS_PER_MINUTE} renewals a minute are refused
   * (429, one line).
   */
  mode?: "renewing" | "on-request";
}

/** A running endpoint. */
export interface CredentialServer {
  /** The URL to give as `AWS_CONTAINER_CREDENTIALS_FULL_URI` (holds the random path). */
  readonly url: string;
  /** The variables that hand the endpoint to a child: the URL and the token. */
  readonly env: Readonly<Record<string, string>>;
  /** How many renewals succeeded. */
  readonly renewals: number;
  /** The credentials served now. */
  readonly current: SessionCredentials;
  /**
   * Stops renewing and serving, without waiting for a renewal in flight: the renewal is aborted,
   * and a client still waiting for it gets 503 at once. Safe to repeat.
   */
  close(): Promise<void>;
}

/**
 * When to renew credentials that were received at `receivedAt`: half their lifetime before they
 * expire, but no earlier than five minutes before (so a 15-minute session is renewed after 10
 * minutes, a 1-hour one after 55, a 1-minute one after 30 seconds).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renewalTime } from "./credential_server.ts";
 * const at = renewalTime(new Date("2030-01-01T00:00:00Z"), new Date("2030-01-01T00:15:00Z"));
 * assert.ok(at.toISOString() === "2030-01-01T00:10:00.000Z");
 * ```
 */
export function renewalTime(receivedAt: Date, expiration: Date): Date {
  const lifetime = Math.max(0, expiration.getTime() - receivedAt.getTime());
  return new Date(expiration.getTime() - Math.min(MAX_MARGIN_MS, lifetime / 2));
}

/**
 * Compares two strings in time that depends only on their lengths, not on where they differ.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { constantTimeEqual } from "./credential_server.ts";
 * assert.ok(constantTimeEqual("abc", "abc") && !constantTimeEqual("abc", "abd"));
 * ```
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let difference = x.length ^ y.length;
  const length = Math.max(x.length, y.length);
  for (let i = 0; i < length; i++) difference |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return difference === 0;
}

/** The container-credentials JSON that the SDKs read. */
export function renderContainerCredentials(credentials: SessionCredentials): string {
  return JSON.stringify({
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    Token: credentials.sessionToken,
    Expiration: credentials.expiration.toISOString(),
  });
}

/**
 * Starts the endpoint on 127.0.0.1 (a free port), with a random 32-byte token and a random path,
 * and schedules the first renewal. A client that sends its request too slowly gets 408 and no
 * more of its connection (see `loopback_server.ts`).
 */
export async function startCredentialServer(
  options: CredentialServerOptions,
): Promise<CredentialServer> {
  const now = options.now ?? (() => new Date());
  const token = randomHex(32);
  const path = `/${randomHex(16)}`;
  // Aborted by close(): the renewal in flight gives up, and the clients waiting for it are answered.
  const stop = new AbortController();
  const state: ServerState = {
    current: options.initial,
    receivedAt: now(),
    renewals: 0,
    closed: false,
    stop,
    stopped: new Promise<"closed">((resolve) =>
      stop.signal.addEventListener("abort", () => resolve("closed"), { once: true })
    ),
  };
  const onRequest = options.mode === "on-request";
  const renewForClient = clientRenewal(state, options, now);
  let port = 0;
  const server = await serveLoopback(
    (request) => {
      const url = new URL(request.url);
      const host = request.headers.get("host") ?? "";
      if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return refuse(404);
      const renewing = onRequest && request.method === "POST";
      if (
        (request.method !== "GET" && !renewing) || url.pathname !== path || url.search !== ""
      ) {
        return refuse(404);
      }
      if (!constantTimeEqual(request.headers.get("authorization") ?? "", token)) {
        return refuse(401);
      }
      if (state.closed) return unavailable();
      if (renewing) return renewForClient();
      if (state.current.expiration.getTime() <= now().getTime()) return refuse(404);
      return new Response(renderContainerCredentials(state.current), {
        headers: { "content-type": "application/json", "cache-control": "no-store" },
      });
    },
    options.limits,
  );
  port = server.port;
  const url = `http://127.0.0.1:${port}${path}`;
  if (!onRequest) timedRenewal(state, options, now).scheduleNext();
  let closing: Promise<void> | undefined;
  return {
    url,
    env: { [FULL_URI_VARIABLE]: url, [TOKEN_VARIABLE]: token },
    get renewals() {
      return state.renewals;
    },
    get current() {
      return state.current;
    },
    close() {
      closing ??= (async () => {
        state.closed = true;
        if (state.timer !== undefined) clearTimeout(state.timer);
        // Answers the clients waiting for a renewal now, so that shutdown() (which waits for
        // the handlers) never waits on AWS.
        stop.abort();
        await server.shutdown();
      })();
      return closing;
    },
  };
}

/** What the endpoint serves and how its renewals stand, shared by the handler and the timer. */
interface ServerState {
  current: SessionCredentials;
  receivedAt: Date;
  renewals: number;
  closed: boolean;
  timer?: ReturnType<typeof setTimeout>;
  readonly stop: AbortController;
  readonly stopped: Promise<"closed">;
}

/** Serves `next` from now on. */
function accept(state: ServerState, next: SessionCredentials, now: () => Date): void {
  state.current = next;
  state.receivedAt = now();
  state.renewals++;
}

/**
 * The answer to a client's POST (`on-request` mode): fresh credentials again, else one renewal
 * shared by the clients that ask together, at most {@linkcode RENEWALS_PER_MINUTE} a minute.
 */
function clientRenewal(
  state: ServerState,
  options: CredentialServerOptions,
  now: () => Date,
): () => Response | Promise<Response> {
  let pending: Promise<SessionCredentials> | undefined;
  /** When the renewals of the last minute started, for the limit. */
  let renewalStarts: number[] = [];
  const renewAndAnswer = async (): Promise<Response> => {
    // Clients that ask together share one AssumeRole.
    if (!pending) {
      pending = options.renew(state.stop.signal).then((next) => {
        if (!state.closed) accept(state, next, now);
        return next;
      }).finally(() => pending = undefined);
      // Once the endpoint closes nobody waits for it: how it fails then is nobody's concern.
      pending.catch(() => {});
    }
    let failure: unknown;
    const outcome = await Promise.race([
      pending.then(() => "renewed" as const, (error) => {
        failure = error;
        return "failed" as const;
      }),
      state.stopped,
    ]);
    if (outcome === "closed") return unavailable();
    if (outcome === "failed") {
      return new Response(JSON.stringify({ message: firstLine(failure) }), {
        status: 502,
        headers: { "content-type": "application/json" },
      });
    }
    return credentialsResponse(state.current, true);
  };
  return () => {
    const time = now().getTime();
    // Fresh credentials are served again: POSTs in a loop make no new sessions.
    if (
      !pending && time - state.receivedAt.getTime() < FRESH_FOR_MS &&
      state.current.expiration.getTime() > time
    ) {
      return credentialsResponse(state.current, false);
    }
    if (!pending) {
      renewalStarts = renewalStarts.filter((start) => time - start < 60_000);
      if (renewalStarts.length >= RENEWALS_PER_MINUTE) {
        return tooManyRenewals(Math.ceil((renewalStarts[0] + 60_000 - time) / 1000));
      }
      renewalStarts.push(time);
    }
    return renewAndAnswer();
  };
}

/**
 * The renewals of the default mode: each at its renewal time, until the `--refresh` limit; a
 * failed one is tried again after a quarter of what is left.
 */
function timedRenewal(
  state: ServerState,
  options: CredentialServerOptions,
  now: () => Date,
): { scheduleNext(): void } {
  const schedule = (delayMs: number) => {
    if (state.closed) return;
    state.timer = setTimeout(renewNow, Math.max(0, delayMs));
  };
  /** Whether credentials received at `time`, as long-lived as the current ones, end by the limit. */
  const withinLimit = (time: number) =>
    time + state.current.expiration.getTime() - state.receivedAt.getTime() <=
      options.renewUntil.getTime();
  const stopRenewing = () =>
    options.warn(
      `renewing stops: the --refresh limit is reached; the credentials expire at ${
        formatTime(state.current.expiration)
      }`,
    );
  const scheduleNext = () => {
    const at = renewalTime(state.receivedAt, state.current.expiration).getTime();
    if (!withinLimit(at)) return stopRenewing();
    schedule(at - now().getTime());
  };
  const renewNow = async () => {
    state.timer = undefined;
    // Checked again before every attempt: a retry after a failure comes later than planned.
    if (!withinLimit(now().getTime())) return stopRenewing();
    try {
      const next = await options.renew(state.stop.signal);
      if (state.closed) return;
      // The call took time too: credentials that would outlive the limit are never served.
      if (next.expiration.getTime() > options.renewUntil.getTime()) return stopRenewing();
      accept(state, next, now);
      scheduleNext();
    } catch (error) {
      if (state.closed) return;
      const left = state.current.expiration.getTime() - now().getTime();
      if (left <= 0) {
        options.warn(`could not renew the credentials, which have expired: ${firstLine(error)}`);
        return;
      }
      // A quarter of what is left, but at least a second (half what is left, near the end).
      const retry = Math.min(MAX_RETRY_MS, Math.max(left / 4, Math.min(1000, left / 2)));
      options.warn(
        `could not renew the credentials: ${firstLine(error)}; trying again in ${
          Math.ceil(retry / 1000)
        }s`,
      );
      schedule(retry);
    }
  };
  return { scheduleNext };
}

/** The answer over the limit of renewals a minute, with when to try again. */
function tooManyRenewals(waitSeconds: number): Response {
  return new Response(
    JSON.stringify({
      message:
        `too many renewals: at most ${RENEWALS_PER_MINUTE} a minute; try again in ${waitSeconds}s`,
    }),
    {
      status: 429,
      headers: { "content-type": "application/json", "retry-after": `${waitSeconds}` },
    },
  );
}

/** The answer to a POST: the container JSON, and whether these credentials are new. */
function credentialsResponse(credentials: SessionCredentials, renewed: boolean): Response {
  const body = JSON.parse(renderContainerCredentials(credentials));
  return new Response(JSON.stringify({ ...body, Renewed: renewed }), {
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

function refuse(status: 401 | 404): Response {
  return new Response(status === 401 ? "Unauthorized\n" : "Not Found\n", {
    status,
    headers: { "content-type": "text/plain" },
  });
}

/** What a client gets once the endpoint is closing (its shell or command has ended). */
function unavailable(): Response {
  return new Response(
    JSON.stringify({ message: "the endpoint has closed: its shell or command has ended" }),
    { status: 503, headers: { "content-type": "application/json", "cache-control": "no-store" } },
  );
}

function randomHex(bytes: number): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The first line of what was thrown: a log and a reason are one line each. */
function firstLine(error: unknown): string {
  return errorMessage(error).split("\n")[0];
}

/** What an `on-request` endpoint answered to a renewal request. */
export interface RenewalAnswer {
  /** The credentials to use now. */
  credentials: SessionCredentials;
  /** Whether they are new; false when the current ones were fresh enough to keep. */
  renewed: boolean;
}

/**
 * Asks the endpoint at `url` (an `on-request` one) to renew, and returns the credentials it
 * gives (new ones, or the current ones when they are fresh). Fails with the endpoint's one-line
 * reason, or after 30 seconds.
 */
export async function requestRenewal(url: string, token: string): Promise<RenewalAnswer> {
  const response = await fetch(url, {
    method: "POST",
    headers: { authorization: token },
    signal: AbortSignal.timeout(30_000),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(body.message ?? `the endpoint answered ${response.status}`);
  }
  return {
    credentials: {
      accessKeyId: body.AccessKeyId,
      secretAccessKey: body.SecretAccessKey,
      sessionToken: body.Token,
      expiration: new Date(body.Expiration),
    },
    renewed: body.Renewed !== false,
  };
}
