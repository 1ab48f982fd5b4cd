/**
 * The federation endpoint's `getSigninToken`: trades a session's temporary credentials for a
 * sign-in token that a login URL carries. No `SessionDuration` is sent, so the console session
 * ends with the credentials (and role-chained credentials, which refuse it, keep working).
 *
 * The session and the token are secrets: they go only into the request to the endpoint and the
 * returned value, never into an error, its detail or its cause (a network error names the URL it
 * failed on, query included, so none is kept). Every call has a timeout.
 *
 * @module
 */

import { readBoundedBody } from "../core/bounded_body.ts";
import { RuntimeError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import type { SessionCredentials } from "./broker.ts";

/** The longest answer read from the federation endpoint. */
const BODY_MAX = 64 * 1024;
/** The longest sign-in token accepted. */
const TOKEN_MAX = 16 * 1024;

/** How {@linkcode requestSigninToken} and {@linkcode checkFederationEndpoint} reach the endpoint. */
export interface FederationCallOptions {
  /** The federation endpoint (`console_url.ts`'s `federationUrl`). */
  federation: URL;
  /** How long the call may take, in milliseconds. */
  timeoutMs: number;
  /** The fetch function (the global one unless a test hands in another). */
  fetch?: typeof fetch;
}

/** The endpoint's address without anything secret: scheme, host and path. */
function where(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** Why a call failed, in words that hold no URL (and so no query, and no secret). */
function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return `no answer within ${timeoutMs / 1000}s`;
  }
  if (error instanceof Error) {
    const message = error.message.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S*/gi, "(url)");
    return logText(`${error.name}: ${message}`, 200);
  }
  return "network failure";
}

async function readCapped(response: Response): Promise<string> {
  const bytes = await readBoundedBody(response.body, {
    limit: BODY_MAX,
    tooLarge: () => new RuntimeError("The federation endpoint's answer is too large"),
  });
  return new TextDecoder().decode(bytes);
}

/**
 * Asks the federation endpoint for a sign-in token for `credentials` (a session from
 * AssumeRole): `GET FEDERATION?Action=getSigninToken&Session={"sessionId","sessionKey",
 * "sessionToken"}`, and returns `SigninToken` from the JSON answer. A refusal, a timeout or an
 * answer without a token is a {@linkcode RuntimeError} that names the endpoint and the HTTP
 * status only.
 */
export async function requestSigninToken(
  credentials: SessionCredentials,
  options: FederationCallOptions,
): Promise<string> {
  const url = new URL(options.federation);
  url.search = new URLSearchParams({
    Action: "getSigninToken",
    Session: JSON.stringify({
      sessionId: credentials.accessKeyId,
      sessionKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
    }),
  }).toString();
  const endpoint = where(options.federation);
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(url, {
      signal: AbortSignal.timeout(options.timeoutMs),
      redirect: "error",
    });
  } catch (error) {
    throw new RuntimeError(
      `Cannot reach the federation endpoint "${endpoint}": ` +
        networkReason(error, options.timeoutMs),
      {
        hint:
          "check the network (a proxy: HTTPS_PROXY; another endpoint: TIMEBOUND_IAM_SIGNIN_URL)",
      },
    );
  }
  let body: string;
  try {
    body = await readCapped(response);
  } catch (error) {
    if (error instanceof RuntimeError) throw error;
    throw new RuntimeError(
      `Cannot read the federation endpoint's answer: ${networkReason(error, options.timeoutMs)}`,
    );
  }
  if (response.status !== 200) {
    throw new RuntimeError(
      `The federation endpoint "${endpoint}" refused the session: HTTP ${response.status}`,
      {
        hint: "it signs in only an unexpired session from AssumeRole; " +
          "see docs/console.md for what it accepts",
      },
    );
  }
  let token: unknown;
  try {
    token = JSON.parse(body)?.SigninToken;
  } catch {
    // Refused below.
  }
  if (typeof token !== "string" || token === "" || token.length > TOKEN_MAX) {
    throw new RuntimeError(`The federation endpoint "${endpoint}" answered without a SigninToken`);
  }
  return token;
}

/**
 * Whether the federation endpoint answers: a `HEAD` with a timeout. Any HTTP answer counts (the
 * endpoint refuses a request without an action); the result is its status, or why there was none
 * (a sentence without the URL's query: there is none to leak).
 */
export async function checkFederationEndpoint(
  options: FederationCallOptions,
): Promise<{ ok: true; status: number } | { ok: false; reason: string }> {
  try {
    const response = await (options.fetch ?? fetch)(options.federation, {
      method: "HEAD",
      signal: AbortSignal.timeout(options.timeoutMs),
      redirect: "manual",
    });
    await response.body?.cancel();
    if (response.status >= 500) {
      return { ok: false, reason: `HTTP ${response.status}` };
    }
    return { ok: true, status: response.status };
  } catch (error) {
    return { ok: false, reason: networkReason(error, options.timeoutMs) };
  }
}
