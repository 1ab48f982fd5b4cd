/**
 * AWS Signature Version 4 (`AWS4-HMAC-SHA256` in the `Authorization` header), both ways: the
 * signing proxy checks a client's signature with the stand-in secret, then signs the same request
 * again with the real session. One canonical form serves both, so what was verified is what is
 * signed.
 *
 * @module
 */

import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** The algorithm name of SigV4 with HMAC-SHA256. */
export const SIGV4_ALGORITHM = "AWS4-HMAC-SHA256";
/** The hash of an empty payload. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** The credential scope of a signature: who signed, on which day, where and for what. */
export interface SigV4Scope {
  /** The access key id. */
  accessKeyId: string;
  /** `YYYYMMDD`. */
  date: string;
  /** The signing region, e.g. `us-east-1`. */
  region: string;
  /** The signing name of the service, e.g. `s3`, `dynamodb`. */
  service: string;
}

/** A parsed `Authorization` header. */
export interface SigV4Authorization extends SigV4Scope {
  /** The signed header names, lower case, in the order given. */
  signedHeaders: string[];
  /** The hex signature. */
  signature: string;
}

/** A request's parts that a signature covers. */
export interface CanonicalParts {
  /** The HTTP method. */
  method: string;
  /** The path as sent on the wire (percent-encoded once). */
  path: string;
  /** The query string as sent on the wire, without `?`. */
  query: string;
  /** The request's headers. */
  headers: Headers;
  /** The lower-case names of the headers to sign. */
  signedHeaders: readonly string[];
  /** The payload hash (hex, or `UNSIGNED-PAYLOAD`, `STREAMING-…`). */
  payloadHash: string;
  /** S3 signs the path as sent; every other service encodes it once more. */
  service: string;
}

const SCOPE_PART = /^[A-Za-z0-9_.\-]{1,128}$/;
const SIGNATURE = /^[0-9a-f]{64}$/;
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,128}$/;

/**
 * Parses `AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, SignedHeaders=…,
 * Signature=…`, or returns `undefined` when the header is not that (another algorithm, a missing
 * part, a malformed scope).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAuthorization } from "./sigv4.ts";
 * const auth = parseAuthorization(
 *   "AWS4-HMAC-SHA256 Credential=AKID/20300101/eu-west-1/s3/aws4_request, " +
 *     "SignedHeaders=host;x-amz-date, Signature=" + "0".repeat(64),
 * );
 * assert.equal(auth?.service, "s3");
 * ```
 */
export function parseAuthorization(header: string): SigV4Authorization | undefined {
  const text = header.trim();
  if (!text.startsWith(`${SIGV4_ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of text.slice(SIGV4_ALGORITHM.length).split(",")) {
    const eq = part.indexOf("=");
    const name = part.slice(0, Math.max(eq, 0)).trim();
    if (eq < 0 || name === "") return undefined;
    if (fields.has(name)) return undefined;
    fields.set(name, part.slice(eq + 1).trim());
  }
  const scope = parseCredentialScope(fields.get("Credential") ?? "");
  const signedHeaders = fields.get("SignedHeaders")?.split(";") ?? [];
  const signature = fields.get("Signature") ?? "";
  if (scope === undefined || !SIGNATURE.test(signature)) return undefined;
  if (signedHeaders.length === 0 || !signedHeaders.every((h) => HEADER_NAME.test(h))) {
    return undefined;
  }
  return { ...scope, signedHeaders, signature };
}

/**
 * Parses a credential scope, `KEY/DATE/REGION/SERVICE/aws4_request` (an `Authorization` header's
 * `Credential`, a presigned URL's `X-Amz-Credential`), or returns `undefined` when it is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCredentialScope } from "./sigv4.ts";
 * assert.equal(parseCredentialScope("AKID/20300101/eu-west-1/s3/aws4_request")?.region, "eu-west-1");
 * assert.equal(parseCredentialScope("AKID/20300101/eu-west-1/s3"), undefined);
 * ```
 */
export function parseCredentialScope(text: string): SigV4Scope | undefined {
  const parts = text.split("/", 6);
  if (parts.length !== 5 || parts[4] !== "aws4_request") return undefined;
  const [accessKeyId, date, region, service] = parts;
  if (![accessKeyId, region, service].every((p) => SCOPE_PART.test(p))) return undefined;
  return /^\d{8}$/.test(date) ? { accessKeyId, date, region, service } : undefined;
}

/** Formats a time as SigV4's `YYYYMMDDTHHMMSSZ`. */
export function toAmzDate(time: Date): string {
  return time.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** Parses SigV4's `YYYYMMDDTHHMMSSZ`, or `undefined` when it is not one. */
export function fromAmzDate(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (m === null) return undefined;
  const time = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

/**
 * RFC 3986 percent-encoding as SigV4 wants it: all but `A-Z a-z 0-9 - _ . ~` (and `/` when
 * `keepSlash`) encoded, upper-case hex.
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

/** The canonical query: each name and value decoded, encoded again, sorted by name then value. */
export function canonicalQuery(query: string): string {
  const pairs = query.split("&").filter((p) => p !== "").map((p) => {
    const eq = p.indexOf("=");
    const name = eq < 0 ? p : p.slice(0, eq);
    const value = eq < 0 ? "" : p.slice(eq + 1);
    return [uriEncode(decodeQueryPart(name)), uriEncode(decodeQueryPart(value))];
  });
  pairs.sort(([an, av], [bn, bv]) => an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0);
  return pairs.map(([n, v]) => `${n}=${v}`).join("&");
}

/**
 * The canonical path: S3's exactly as sent, every other service's encoded once more, as the SDKs
 * sign them and AWS checks them.
 */
export function canonicalPath(path: string, service: string): string {
  const raw = path === "" ? "/" : path;
  return service === "s3" ? raw : uriEncode(raw, true);
}

/** The SigV4 canonical request. */
export function canonicalRequest(parts: CanonicalParts): string {
  const headers = parts.signedHeaders.map((name) => {
    const value = (parts.headers.get(name) ?? "").trim().replace(/\s+/g, " ");
    return `${name}:${value}\n`;
  }).join("");
  return [
    parts.method.toUpperCase(),
    canonicalPath(parts.path, parts.service),
    canonicalQuery(parts.query),
    headers,
    parts.signedHeaders.join(";"),
    parts.payloadHash,
  ].join("\n");
}

/** Hex SHA-256. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The credential scope string, `DATE/REGION/SERVICE/aws4_request`. */
export function scopeString(scope: SigV4Scope): string {
  return `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
}

/** The signing key that a secret gives in a scope. */
export function signingKey(secretAccessKey: string, scope: SigV4Scope): Uint8Array {
  const hmac = (key: string | Uint8Array, data: string) =>
    createHmac("sha256", key).update(data).digest();
  const kDate = hmac(`AWS4${secretAccessKey}`, scope.date);
  return hmac(hmac(hmac(kDate, scope.region), scope.service), "aws4_request");
}

/** The hex HMAC-SHA256 of `text` under a signing key. */
export function hmacHex(key: Uint8Array, text: string): string {
  return createHmac("sha256", key).update(text).digest("hex");
}

/** The string to sign for a canonical request, signed at `amzDate` within `scope`. */
export function stringToSign(
  canonical: string,
  signing: { amzDate: string; scope: SigV4Scope },
): string {
  return [SIGV4_ALGORITHM, signing.amzDate, scopeString(signing.scope), sha256Hex(canonical)]
    .join("\n");
}

/** The `Authorization` header value of a signature. */
export function authorizationHeader(auth: SigV4Authorization): string {
  return `${SIGV4_ALGORITHM} Credential=${auth.accessKeyId}/${scopeString(auth)}, ` +
    `SignedHeaders=${auth.signedHeaders.join(";")}, Signature=${auth.signature}`;
}

/** The keys, place and time a request is signed with. */
export interface RequestSigning {
  /** The keys; a session's token is sent as `x-amz-security-token`. */
  keys: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** The signing region. */
  region: string;
  /** The signing name of the service. */
  service: string;
  /** When it is signed. */
  time: Date;
}

/** A request's parts that {@linkcode signRequest} signs. */
export interface RequestToSign {
  /** The HTTP method. */
  method: string;
  /** The path as sent on the wire. */
  path: string;
  /** The query string as sent on the wire, without `?`. */
  query: string;
  /** Its headers, `host` among them: `x-amz-date`, the token and `authorization` are set here. */
  headers: Headers;
  /** The payload hash (hex, or `UNSIGNED-PAYLOAD`, `STREAMING-…`). */
  payloadHash: string;
  /** The headers to sign besides `host`, `x-amz-date` and the token (default: all it holds). */
  signedHeaders?: Iterable<string>;
}

/**
 * Signs a request in place: sets `x-amz-date`, a session's `x-amz-security-token`, and the
 * `authorization` that signs them, `host` and `signedHeaders`. Returns the signing key, scope,
 * time and signature, from which `aws-chunked` frames are signed on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAuthorization, signRequest } from "./sigv4.ts";
 * const headers = new Headers({ host: "sts.eu-west-1.amazonaws.com" });
 * const keys = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" };
 * const time = new Date("2030-01-01T00:00:00Z");
 * const request = { method: "GET", path: "/", query: "", headers, payloadHash: "UNSIGNED-PAYLOAD" };
 * signRequest(request, { keys, region: "eu-west-1", service: "sts", time });
 * assert.equal(headers.get("x-amz-date"), "20300101T000000Z");
 * assert.deepEqual(parseAuthorization(headers.get("authorization")!)?.signedHeaders, ["host", "x-amz-date"]);
 * ```
 */
export function signRequest(
  request: RequestToSign,
  signing: RequestSigning,
): { key: Uint8Array; scope: SigV4Scope; amzDate: string; signature: string } {
  const { headers } = request;
  const amzDate = toAmzDate(signing.time);
  headers.set("x-amz-date", amzDate);
  const token = signing.keys.sessionToken;
  if (token !== undefined) headers.set("x-amz-security-token", token);
  const names = new Set<string>([...request.signedHeaders ?? headers.keys(), "host", "x-amz-date"]);
  if (token !== undefined) names.add("x-amz-security-token");
  const signedHeaders = [...names].map((name) => name.toLowerCase()).sort();
  const scope: SigV4Scope = {
    accessKeyId: signing.keys.accessKeyId,
    date: amzDate.slice(0, 8),
    region: signing.region,
    service: signing.service,
  };
  const canonical = canonicalRequest({ ...request, signedHeaders, service: signing.service });
  const key = signingKey(signing.keys.secretAccessKey, scope);
  const signature = hmacHex(key, stringToSign(canonical, { amzDate, scope }));
  headers.set("authorization", authorizationHeader({ ...scope, signedHeaders, signature }));
  return { key, scope, amzDate, signature };
}

/** Compares two hex signatures in constant time. */
export function sameSignature(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
