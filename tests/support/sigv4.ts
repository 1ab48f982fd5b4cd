/**
 * Verification of AWS Signature Version 4 (`AWS4-HMAC-SHA256` in the `Authorization` header),
 * computed from the request as received: method, path, canonical query, the signed headers and
 * the hash of the body as it arrived (or `x-amz-content-sha256` when the client sent it, after
 * checking that it matches the body).
 *
 * @module
 */

import { createHash, createHmac } from "node:crypto";
import { AwsError } from "./aws_error.ts";

/** The parts of a request that a SigV4 signature covers. */
export interface SignedRequest {
  /** HTTP method, e.g. `POST`. */
  method: string;
  /** The request URL as received (path and query still percent-encoded). */
  url: URL;
  /** The request headers. */
  headers: Headers;
  /** The raw body. */
  body: Uint8Array;
}

/** What the `Authorization` header says: who signed, for which scope, over which headers. */
export interface SigV4Authorization {
  /** The access key id from the credential scope. */
  accessKeyId: string;
  /** The scope's date, `YYYYMMDD`. */
  date: string;
  /** The scope's region, e.g. `us-east-1`. */
  region: string;
  /** The scope's service, e.g. `sts` or `iam`. */
  service: string;
  /** The signed header names, lower case, as listed. */
  signedHeaders: string[];
  /** The hex signature the client sent. */
  signature: string;
}

const ALGORITHM = "AWS4-HMAC-SHA256";
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/**
 * Parse an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header.
 * Returns `undefined` when there is no header (the request is unsigned) and throws AWS's
 * `IncompleteSignature` when the header is not a SigV4 one.
 */
export function parseAuthorization(header: string | null): SigV4Authorization | undefined {
  if (header === null || header.trim() === "") return undefined;
  const [algorithm, ...rest] = header.trim().split(/\s+/);
  const incomplete = () =>
    new AwsError(
      "IncompleteSignature",
      "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters " +
        `with a credential scope of the form KEY/DATE/REGION/SERVICE/aws4_request. ` +
        `Authorization=${algorithm}`,
    );
  if (algorithm !== ALGORITHM) throw incomplete();
  const fields = new Map<string, string>();
  for (const part of rest.join("").split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get("Credential");
  const signedHeaders = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  const scope = credential?.split("/") ?? [];
  if (
    credential === undefined || signedHeaders === undefined || signature === undefined ||
    scope.length !== 5 || scope[4] !== "aws4_request"
  ) {
    throw incomplete();
  }
  const [accessKeyId, date, region, service] = scope;
  return {
    accessKeyId,
    date,
    region,
    service,
    signedHeaders: signedHeaders.split(";").map((h) => h.toLowerCase()),
    signature: signature.toLowerCase(),
  };
}

/**
 * The request's signing time as `YYYYMMDDTHHMMSSZ`, from `X-Amz-Date` or else `Date`, or
 * `undefined` when it has neither.
 */
export function requestAmzDate(headers: Headers): string | undefined {
  const amz = headers.get("x-amz-date");
  if (amz !== null) return amz.trim();
  const date = headers.get("date");
  if (date === null) return undefined;
  const parsed = new Date(date);
  if (Number.isNaN(parsed.getTime())) return undefined;
  return toAmzDate(parsed);
}

/** Format a time as SigV4's `YYYYMMDDTHHMMSSZ`. */
export function toAmzDate(time: Date): string {
  return time.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** Parse SigV4's `YYYYMMDDTHHMMSSZ`, or `undefined` when it is not one. */
export function fromAmzDate(amzDate: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  return new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
}

/**
 * RFC 3986 percent-encoding as SigV4 wants it: everything but `A-Z a-z 0-9 - _ . ~` is
 * encoded, with upper-case hex.
 */
export function uriEncode(text: string, keepSlash = false): string {
  let out = "";
  for (const byte of new TextEncoder().encode(text)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === "/")) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function decodeQueryPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * The canonical query string: each name and value decoded, re-encoded per RFC 3986 and sorted
 * by name, then value.
 */
export function canonicalQuery(url: URL): string {
  const pairs = url.search.replace(/^\?/, "").split("&").filter((p) => p !== "").map((p) => {
    const eq = p.indexOf("=");
    const name = eq < 0 ? p : p.slice(0, eq);
    const value = eq < 0 ? "" : p.slice(eq + 1);
    return [uriEncode(decodeQueryPart(name)), uriEncode(decodeQueryPart(value))];
  });
  pairs.sort(([an, av], [bn, bv]) => an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0);
  return pairs.map(([n, v]) => `${n}=${v}`).join("&");
}

/** Hex SHA-256 of bytes or text. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * The payload hash that goes into the canonical request: the client's `x-amz-content-sha256`
 * when present (which must then match the body, unless it is `UNSIGNED-PAYLOAD`), else the hash
 * of the body as received.
 */
export function payloadHash(request: SignedRequest): string {
  const actual = request.body.length === 0 ? EMPTY_SHA256 : sha256Hex(request.body);
  const claimed = request.headers.get("x-amz-content-sha256")?.trim();
  if (claimed === undefined) return actual;
  // An aws-chunked body is checked chunk by chunk (aws_chunked.ts), not as a whole.
  if (claimed.startsWith("STREAMING-")) return claimed;
  if (claimed !== "UNSIGNED-PAYLOAD" && claimed.toLowerCase() !== actual) {
    throw new AwsError(
      "XAmzContentSHA256Mismatch",
      `The provided 'x-amz-content-sha256' header does not match what was computed.`,
    );
  }
  return claimed;
}

/**
 * The SigV4 canonical request for a received request. The path is encoded once more for every
 * service but S3, whose path is signed as sent (botocore and the JavaScript SDK both sign it that
 * way).
 */
export function canonicalRequest(request: SignedRequest, auth: SigV4Authorization): string {
  const path = request.url.pathname === "" ? "/" : request.url.pathname;
  const headers = auth.signedHeaders.map((name) => {
    const value = (request.headers.get(name) ?? "").trim().replace(/\s+/g, " ");
    return `${name}:${value}\n`;
  }).join("");
  return [
    request.method.toUpperCase(),
    auth.service === "s3" ? path : uriEncode(path, true),
    canonicalQuery(request.url),
    headers,
    auth.signedHeaders.join(";"),
    payloadHash(request),
  ].join("\n");
}

/** The string to sign for a canonical request made at `amzDate` within the auth's scope. */
export function stringToSign(canonical: string, amzDate: string, auth: SigV4Authorization): string {
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  return [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join("\n");
}

/** The hex signature that `secretAccessKey` gives to a string to sign in the auth's scope. */
export function signString(
  secretAccessKey: string,
  toSign: string,
  auth: SigV4Authorization,
): string {
  const hmac = (key: string | Uint8Array, data: string) =>
    createHmac("sha256", key).update(data).digest();
  const kDate = hmac(`AWS4${secretAccessKey}`, auth.date);
  const kRegion = hmac(kDate, auth.region);
  const kService = hmac(kRegion, auth.service);
  const kSigning = hmac(kService, "aws4_request");
  return createHmac("sha256", kSigning).update(toSign).digest("hex");
}

/**
 * Check a request's signature against the secret of its access key. Throws AWS's errors:
 * `IncompleteSignature` without a signing date or without `host` among the signed headers,
 * `SignatureDoesNotMatch` when the date does not match the scope or the signature is wrong.
 */
export function verifySignature(
  request: SignedRequest,
  auth: SigV4Authorization,
  secretAccessKey: string,
): void {
  const amzDate = requestAmzDate(request.headers);
  if (amzDate === undefined || fromAmzDate(amzDate) === undefined) {
    throw new AwsError(
      "IncompleteSignature",
      `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.`,
    );
  }
  if (!auth.signedHeaders.includes("host")) {
    throw new AwsError(
      "SignatureDoesNotMatch",
      `'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.`,
      403,
    );
  }
  if (!amzDate.startsWith(auth.date)) {
    throw new AwsError(
      "SignatureDoesNotMatch",
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ` +
        `'${auth.date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
      403,
    );
  }
  const canonical = canonicalRequest(request, auth);
  const expected = signString(secretAccessKey, stringToSign(canonical, amzDate, auth), auth);
  if (expected !== auth.signature) {
    throw new AwsError(
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. " +
        "Check your AWS Secret Access Key and signing method. " +
        "Consult the service documentation for details.",
      403,
    );
  }
}

/**
 * AWS's skew check: a signature made more than `maxSkewMs` (15 minutes) away from `now` is
 * refused with `SignatureDoesNotMatch` "Signature expired: …" or "Signature not yet current: …".
 */
export function checkSkew(headers: Headers, now: Date, maxSkewMs = 15 * 60_000): void {
  const amzDate = requestAmzDate(headers);
  const signedAt = amzDate === undefined ? undefined : fromAmzDate(amzDate);
  if (amzDate === undefined || signedAt === undefined) return;
  const nowAmz = toAmzDate(now);
  if (signedAt.getTime() < now.getTime() - maxSkewMs) {
    const limit = toAmzDate(new Date(now.getTime() - maxSkewMs));
    throw new AwsError(
      "SignatureDoesNotMatch",
      `Signature expired: ${amzDate} is now earlier than ${limit} (${nowAmz} - 15 min.)`,
      403,
    );
  }
  if (signedAt.getTime() > now.getTime() + maxSkewMs) {
    const limit = toAmzDate(new Date(now.getTime() + maxSkewMs));
    throw new AwsError(
      "SignatureDoesNotMatch",
      `Signature not yet current: ${amzDate} is still later than ${limit} (${nowAmz} + 15 min.)`,
      403,
    );
  }
}
