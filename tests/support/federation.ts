/**
 * The AWS federation (sign-in) endpoint of the local AWS server, as AWS documents it in "Enable
 * custom identity broker access to the AWS console":
 *
 * - `GET /federation?Action=getSigninToken&Session=JSON[&SessionDuration=N]`: the session JSON
 *   holds `sessionId`, `sessionKey` and `sessionToken`. Only credentials of an AssumeRole session
 *   that this endpoint issued and that have not expired are accepted (a user's own keys and
 *   GetSessionToken's are refused, as AWS refuses them); `SessionDuration` must be 900..43200 and
 *   is refused for role-chained credentials. Success is `{"SigninToken": "…"}`.
 * - `GET /federation?Action=login&Issuer=…&Destination=…&SigninToken=…`: a token issued less than
 *   15 minutes ago (by the endpoint's clock), whose session has not expired, redirects (302) to
 *   the `Destination`, which must be an AWS console page.
 * - `GET /oauth?Action=logout&redirect_uri=…`: redirects to the federation URL it names (this
 *   endpoint's own, or an AWS sign-in host), as the console's logout does.
 *
 * Refusals are HTTP 400 with a one-line text body, as AWS answers them (AWS's body is an HTML
 * page; the wording here is the endpoint's own, and no client should show it). The endpoint keeps
 * a record of the session behind each token ({@linkcode SigninRecord}) so that a test can check
 * that a URL signs in as exactly the grant's session. What it records of a request holds no
 * secret: the `Session`, `SigninToken` and `redirect_uri` parameters are replaced.
 *
 * @module
 */

import type { LocalAwsState } from "./state.ts";

export type { SigninRecord } from "./state.ts";

/** The longest a sign-in URL is valid, as AWS documents it. */
export const SIGNIN_URL_LIFETIME_MS = 15 * 60_000;

/** What the endpoint records of a federation request (no secret). */
export interface FederationRequest {
  /** `signin`. */
  service: "signin";
  /** `getSigninToken`, `login`, `logout` or what was asked. */
  action: string;
  /** The parameters, with `Session`, `SigninToken` and `redirect_uri` replaced by `(secret)`. */
  params: Record<string, string>;
  /** The HTTP method. */
  method: string;
  /** The HTTP status of the answer. */
  status: number;
  /** The reason of a refusal, a short code of the endpoint's own. */
  errorCode?: string;
}

const SECRET_PARAMS = new Set(["Session", "SigninToken", "redirect_uri"]);
const CONSOLE_HOST =
  /^([a-z0-9-]+\.)*console\.(aws\.amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)$/;
const SIGNIN_HOST =
  /^([a-z0-9-]+\.)?signin\.(aws\.amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)$/;
const TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

class Refusal extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(300));
  return Array.from(bytes, (b) => TOKEN_ALPHABET[b % TOKEN_ALPHABET.length]).join("");
}

function parseSession(text: string | undefined): Record<string, unknown> {
  if (text === undefined) throw new Refusal("MissingSession", "Missing Session parameter");
  try {
    const value = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
  } catch {
    // Refused below.
  }
  throw new Refusal("InvalidSession", "Invalid Session parameter: not a JSON object");
}

/**
 * Serves the federation endpoint for one {@linkcode LocalAwsState}: the paths `/federation` and
 * `/oauth` of the local server.
 */
export class FederationEndpoint {
  /** Every federation request answered, in order. */
  readonly requests: FederationRequest[] = [];
  readonly #state: LocalAwsState;

  /** Serves the federation endpoint of `state`. */
  constructor(state: LocalAwsState) {
    this.#state = state;
  }

  /** Whether a request's path is the federation endpoint's (`…/federation` or `…/oauth`). */
  static serves(url: URL): boolean {
    return /\/(federation|oauth)$/.test(url.pathname);
  }

  /** Answers one request. */
  handle(request: Request, url: URL): Response {
    const params = Object.fromEntries(url.searchParams);
    const record: FederationRequest = {
      service: "signin",
      action: params.Action ?? "",
      params: Object.fromEntries(
        Object.entries(params).map(([k, v]) => [k, SECRET_PARAMS.has(k) ? "(secret)" : v]),
      ),
      method: request.method,
      status: 200,
    };
    this.requests.push(record);
    try {
      if (request.method !== "GET" && request.method !== "HEAD") {
        throw new Refusal("MethodNotAllowed", `Method ${request.method} is not allowed`);
      }
      const response = this.#answer(url, params);
      record.status = response.status;
      return response;
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      record.status = 400;
      record.errorCode = error.code;
      return new Response(`${error.message}\n`, {
        status: 400,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
  }

  #answer(url: URL, params: Record<string, string>): Response {
    const logout = url.pathname.endsWith("/oauth");
    if (logout && params.Action === "logout") return this.#logout(url, params);
    if (!logout && params.Action === "getSigninToken") return this.#getSigninToken(params);
    if (!logout && params.Action === "login") return this.#login(params);
    throw new Refusal("InvalidAction", `Invalid Action "${params.Action ?? ""}"`);
  }

  #getSigninToken(params: Record<string, string>): Response {
    const session = parseSession(params.Session);
    const { sessionId, sessionKey, sessionToken } = session;
    if (
      typeof sessionId !== "string" || typeof sessionKey !== "string" ||
      typeof sessionToken !== "string"
    ) {
      throw new Refusal(
        "InvalidSession",
        "Invalid Session parameter: sessionId, sessionKey and sessionToken are required",
      );
    }
    const identity = this.#state.identities.get(sessionId);
    if (
      identity?.kind !== "session" || identity.secretAccessKey !== sessionKey ||
      identity.sessionToken !== sessionToken
    ) {
      throw new Refusal("InvalidCredentials", "Invalid credentials in the Session parameter");
    }
    if (this.#state.clock.now() >= identity.expiration) {
      throw new Refusal("ExpiredCredentials", "The credentials in the Session parameter expired");
    }
    let sessionDuration: number | undefined;
    if (params.SessionDuration !== undefined) {
      sessionDuration = Number(params.SessionDuration);
      if (
        !/^\d+$/.test(params.SessionDuration) || sessionDuration < 900 || sessionDuration > 43200
      ) {
        throw new Refusal("InvalidSessionDuration", "SessionDuration must be 900 to 43200 seconds");
      }
      if (identity.chained) {
        throw new Refusal(
          "ChainedSessionDuration",
          "SessionDuration cannot be used with credentials of a role assumed by role chaining",
        );
      }
    }
    const token = newToken();
    this.#state.signinTokens.set(token, {
      token,
      session: identity,
      issuedAt: this.#state.clock.now(),
      sessionDuration,
      logins: 0,
    });
    return Response.json({ SigninToken: token });
  }

  #login(params: Record<string, string>): Response {
    const record = params.SigninToken === undefined
      ? undefined
      : this.#state.signinTokens.get(params.SigninToken);
    const now = this.#state.clock.now().getTime();
    if (record === undefined) throw new Refusal("InvalidSigninToken", "Invalid SigninToken");
    if (now - record.issuedAt.getTime() > SIGNIN_URL_LIFETIME_MS) {
      throw new Refusal("ExpiredSigninToken", "The sign-in URL expired (15 minutes)");
    }
    if (now >= record.session.expiration.getTime()) {
      throw new Refusal("ExpiredCredentials", "The session of the sign-in token expired");
    }
    let destination: URL;
    try {
      destination = new URL(params.Destination ?? "");
    } catch {
      throw new Refusal("InvalidDestination", "Invalid Destination: not a URL");
    }
    if (destination.protocol !== "https:" || !CONSOLE_HOST.test(destination.hostname)) {
      throw new Refusal("InvalidDestination", "Invalid Destination: not an AWS console page");
    }
    record.logins++;
    return new Response(null, { status: 302, headers: { location: destination.href } });
  }

  #logout(url: URL, params: Record<string, string>): Response {
    let target: URL;
    try {
      target = new URL(params.redirect_uri ?? "");
    } catch {
      throw new Refusal("InvalidRedirect", "Invalid redirect_uri: not a URL");
    }
    const ours = target.origin === url.origin;
    if (!ours && (target.protocol !== "https:" || !SIGNIN_HOST.test(target.hostname))) {
      throw new Refusal("InvalidRedirect", "Invalid redirect_uri: not an AWS sign-in page");
    }
    return new Response(null, { status: 302, headers: { location: target.href } });
  }
}
