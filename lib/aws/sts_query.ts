/**
 * The broker's STS calls (`GetCallerIdentity`, `AssumeRole`) made without the AWS SDK, when the
 * base keys are known without it (`known_keys.ts`) and the endpoint is one the SDK would pick
 * without its rules (`sts_connection.ts` decides): a SigV4-signed POST of AWS's query protocol
 * (`core/sigv4.ts`, the signer of the proxy), its XML answer read for the few fields a grant
 * needs. A grant then never loads the SDK (~30 ms of every start).
 *
 * It behaves as the SDK's standard retry mode does: three attempts, throttling, 5xx answers and
 * dropped connections (an answer cut short too) tried again after a random wait (100 ms × 2ⁿ,
 * 500 ms × 2ⁿ when throttled), a clock found skewed by the answer's `Date` corrected and the
 * request signed again. The whole call, its retries and waits included, is bounded by
 * `TIMEBOUND_IAM_TIMEOUT`, as the SDK's clients are (`timeout.ts`). AWS's refusals are thrown as
 * the SDK's own exception classes (loaded then, on failure only), so `classifyAwsError` and
 * `explainAwsError` read them as before; a failure to reach the endpoint carries a Node-style
 * `code` and never the URL (it may hold a password).
 *
 * @module
 */

import { sha256Hex, signRequest } from "../core/sigv4.ts";
import { readBoundedBody } from "../core/bounded_body.ts";
import { VERSION } from "../core/version.ts";
import type { KnownKeys } from "./known_keys.ts";
import { timeoutError } from "./timeout.ts";
import { stsModule } from "./sdk.ts";

/** Where and how the calls go. */
export interface StsQueryOptions {
  /** The endpoint URL (`https://sts.eu-west-1.amazonaws.com`, or a configured one). */
  endpoint: string;
  /** The signing region. */
  region: string;
  /** The keys that sign. */
  keys: KnownKeys;
  /** The bound of each call, retries included, in milliseconds. */
  timeoutMs: number;
  /** The clock that signs (default: the system's); a skew found in an answer corrects it. */
  now?: () => Date;
  /** The wait before a retry, for tests (default: a timer). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The most attempts of one call: the SDK's standard retry mode. */
export const MAX_ATTEMPTS = 3;
/** The largest answer read: STS's are a few KB. */
const MAX_ANSWER_BYTES = 1024 * 1024;
/** How far off the clock may be before it is corrected: the SDK's five minutes. */
const SKEW_LIMIT_MS = 5 * 60_000;
/** The largest correction believed. */
const MAX_SKEW_MS = 366 * 24 * 3600_000;

const THROTTLING_CODES = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "SlowDown",
  "PriorRequestNotComplete",
]);
const TRANSIENT_CODES = new Set(["RequestTimeout", "RequestTimeoutException", "InternalFailure"]);
const TRANSIENT_STATUSES = new Set([500, 502, 503, 504]);
const CLOCK_SKEW_CODES = new Set([
  "AuthFailure",
  "InvalidSignatureException",
  "RequestExpired",
  "RequestInTheFuture",
  "RequestTimeTooSkewed",
  "SignatureDoesNotMatch",
]);
/** The query error codes whose SDK classes differ from them (the others are the code itself). */
const MODELLED: Readonly<Record<string, string>> = {
  ExpiredTokenException: "ExpiredTokenException",
  MalformedPolicyDocument: "MalformedPolicyDocumentException",
  PackedPolicyTooLarge: "PackedPolicyTooLargeException",
  RegionDisabledException: "RegionDisabledException",
};

/** A caller to STS over signed query requests. */
export interface StsQuery {
  /**
   * Sends `action` with `params` and returns the text of its `<ActionResult>` element; throws
   * AWS's refusal as the SDK's exception, or a failure to reach the endpoint.
   */
  call(action: string, params: ReadonlyArray<[string, string]>, signal?: AbortSignal): Promise<
    string
  >;
}

/** An STS caller for `options` (see the module's description). */
export function stsQuery(options: StsQueryOptions): StsQuery {
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? wait;
  let offsetMs = 0;
  const attempt = async (body: string, signal: AbortSignal) => {
    const request = signedRequest(options, body, new Date(now().getTime() + offsetMs));
    let response: Response;
    try {
      response = await fetch(options.endpoint, { ...request, signal, redirect: "manual" });
    } catch (error) {
      throw signal.aborted ? signal.reason : unreachable(error);
    }
    let tooLarge: Error | undefined;
    const text = new TextDecoder().decode(
      await readBoundedBody(response.body, {
        limit: MAX_ANSWER_BYTES,
        tooLarge: () => tooLarge = new Error(`The STS answer is over ${MAX_ANSWER_BYTES} bytes`),
      }).catch((error) => {
        // An answer too large is said so; any other failure to read it is one to reach STS.
        throw signal.aborted ? signal.reason : error === tooLarge ? error : unreachable(error);
      }),
    );
    // A Date more than a year off is not believed: no clock is that wrong, and signing at it fails.
    const serverTime = Date.parse(response.headers.get("date") ?? "");
    const skew = Math.abs(serverTime - now().getTime()) < MAX_SKEW_MS
      ? serverTime - now().getTime()
      : 0;
    return { response, text, skew };
  };
  return {
    async call(action, params, given) {
      const deadline = new AbortController();
      const timer = setTimeout(
        () => deadline.abort(timeoutError(options.timeoutMs)),
        options.timeoutMs,
      );
      const signal = given ? AbortSignal.any([given, deadline.signal]) : deadline.signal;
      const body = new URLSearchParams([["Action", action], ["Version", "2011-06-15"], ...params])
        .toString();
      try {
        for (let attempts = 1;; attempts++) {
          let delayBase = 100;
          try {
            const { response, text, skew } = await attempt(body, signal);
            if (response.ok) return resultOf(action, text);
            const error = await serviceError(response, text, attempts);
            const code = error.name;
            const skewed = CLOCK_SKEW_CODES.has(code) && Math.abs(skew - offsetMs) >= SKEW_LIMIT_MS;
            if (skewed) offsetMs = skew;
            const retryable = skewed || THROTTLING_CODES.has(code) || response.status === 429 ||
              TRANSIENT_CODES.has(code) || TRANSIENT_STATUSES.has(response.status);
            if (!retryable || attempts >= MAX_ATTEMPTS) throw error;
            if (THROTTLING_CODES.has(code) || response.status === 429) delayBase = 500;
          } catch (error) {
            if (signal.aborted) throw signal.reason;
            if (!isTransientNetwork(error) || attempts >= MAX_ATTEMPTS) throw error;
          }
          await sleep(
            Math.floor(Math.min(20_000, Math.random() * 2 ** attempts * delayBase)),
            signal,
          )
            .catch(() => {
              throw signal.reason;
            });
        }
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The headers and body of a signed POST of `body` at `time`. */
function signedRequest(
  options: Pick<StsQueryOptions, "endpoint" | "region" | "keys">,
  body: string,
  time: Date,
): { method: "POST"; headers: Headers; body: string } {
  const url = new URL(options.endpoint);
  const { keys } = options;
  // A header cannot carry them otherwise, and the runtime's error would quote the whole value.
  if (![keys.accessKeyId, keys.sessionToken ?? "x", options.region].every(isHeaderSafe)) {
    throw new Error("The access key id, session token or region holds a character a header cannot");
  }
  const headers = new Headers({
    "content-type": "application/x-www-form-urlencoded; charset=utf-8",
    "host": url.host,
    "user-agent": `timebound-iam/${VERSION}`,
  });
  signRequest({
    method: "POST",
    path: url.pathname,
    query: url.search.slice(1),
    headers,
    payloadHash: sha256Hex(body),
    signedHeaders: ["content-type"],
  }, { keys, region: options.region, service: "sts", time });
  // The runtime sends Host from the URL itself.
  headers.delete("host");
  return { method: "POST", headers, body };
}

/** Printable ASCII without spaces: what an access key id, a token or a region can be. */
export function isHeaderSafe(value: string): boolean {
  return /^[\x21-\x7e]+$/.test(value);
}

/** The text of the answer's `<ActionResult>`; an answer without one is an error. */
function resultOf(action: string, xml: string): string {
  const result = element(xml, `${action}Result`);
  if (result === undefined) throw new Error(`STS answered ${action} without its result`);
  return result;
}

/**
 * The SDK's exception for an STS refusal: its modelled class where it has one, else
 * `STSServiceException` named by AWS's code, with the request id and status in `$metadata`.
 */
async function serviceError(response: Response, xml: string, attempts: number): Promise<Error> {
  const sdk = await stsModule() as unknown as Record<
    string,
    new (options: Record<string, unknown>) => Error
  >;
  const code = text(xml, "Code") ?? (response.status >= 500 ? "InternalFailure" : "UnknownError");
  const message = text(xml, "Message") ?? `HTTP ${response.status}`;
  const requestId = text(xml, "RequestId") ?? response.headers.get("x-amzn-requestid") ??
    undefined;
  const fault = text(xml, "Type") === "Receiver" || response.status >= 500 ? "server" : "client";
  const $metadata = { httpStatusCode: response.status, requestId, attempts };
  const modelled = MODELLED[code];
  const error = modelled && sdk[modelled]
    ? new sdk[modelled]({ message, $metadata })
    : new sdk.STSServiceException({ name: code, $fault: fault, $metadata, message });
  return Object.assign(error, { Code: code, Type: fault === "server" ? "Receiver" : "Sender" });
}

/**
 * A failure to reach the endpoint as Node names it (`code`), with the runtime's reason but not
 * its URL, which may hold a user name and password.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unreachable } from "./sts_query.ts";
 * const cause = new Error("error sending request for url (http://u:p@h/): Connection refused");
 * const error = unreachable(new TypeError("fetch failed", { cause }));
 * assert.equal(error.message, "connect ECONNREFUSED");
 * ```
 */
export function unreachable(error: unknown): Error {
  // The runtime's fetch says "fetch failed"; its cause says why, naming the URL and the addresses.
  const e = error as { message?: string; cause?: { message?: string } } | undefined;
  const reason = e?.cause?.message ?? e?.message ?? String(error);
  const code = /refused/i.test(reason)
    ? "ECONNREFUSED"
    : /dns error|lookup|not known|nodename/i.test(reason)
    ? "ENOTFOUND"
    : /reset|closed|broken pipe|incomplete|unexpected eof|error reading a body/i.test(reason)
    ? "ECONNRESET"
    : /timed out/i.test(reason)
    ? "ETIMEDOUT"
    : /unreachable/i.test(reason)
    ? "EHOSTUNREACH"
    : undefined;
  if (code) return Object.assign(new Error(`connect ${code}`), { code });
  // Only the runtime's last words (a TLS or HTTP failure), when they name no address or path.
  const last = /\): ([^()/\\]*)$/.exec(reason.split("\n")[0])?.[1]?.trim() ?? "";
  return new Error(
    /^[\w ,.:'-]{1,120}$/.test(last) && !/\d+\.\d+\.\d+|:\d+/.test(last)
      ? `The request failed: ${last}`
      : "The request failed",
  );
}

/** Whether the SDK's standard mode would try a failure to reach the endpoint again. */
function isTransientNetwork(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === "ECONNRESET" || code === "ECONNREFUSED" || code === "ETIMEDOUT";
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", stop, { once: true });
  });
}

/** The inner text of the first `<name>` element of `xml`, as it is (not unescaped). */
export function element(xml: string, name: string): string | undefined {
  const start = xml.indexOf(`<${name}>`);
  if (start < 0) return undefined;
  const from = start + name.length + 2;
  const end = xml.indexOf(`</${name}>`, from);
  return end < 0 ? undefined : xml.slice(from, end);
}

/**
 * The text of the first `<name>` element of `xml`, unescaped, when it holds only text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { text } from "./sts_query.ts";
 * assert.equal(text("<a><Arn>x&amp;y&#47;z</Arn></a>", "Arn"), "x&y/z");
 * assert.equal(text("<a><B><C/></B></a>", "B"), undefined);
 * ```
 */
export function text(xml: string, name: string): string | undefined {
  const inner = element(xml, name);
  if (inner === undefined || inner.includes("<")) return undefined;
  return inner.replace(/&(#x[0-9a-fA-F]{1,6}|#\d{1,7}|amp|lt|gt|quot|apos);/g, (_, entity) => {
    if (entity[0] !== "#") return ENTITIES[entity];
    const point = entity[1] === "x" ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
    return point <= 0x10ffff ? String.fromCodePoint(point) : "\ufffd";
  });
}

const ENTITIES: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
};
