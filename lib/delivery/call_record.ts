/**
 * What the signing proxy keeps of each call of a grant: when, which service and action, in which
 * region, on which resource where the request names it, the answer's status and the bytes each
 * way. Never a header, a body, a key or a token. The action comes from `X-Amz-Target` (JSON
 * services), the query's `Action` (query services) or, for S3, the method, the path and the
 * sub-resource in the query, as S3 names its REST operations. A call the proxy sent on and got no
 * answer for is no refusal: it reached AWS, and what AWS did is unknown (`unanswered`).
 *
 * @module
 */

import { UNSAFE_CHARACTERS } from "../core/log_text.ts";
import type { RefusalReason } from "./proxy_refusal.ts";

/** One call through the proxy. */
export interface CallRecord {
  /** When the call arrived. */
  time: Date;
  /** The signing name, e.g. `s3`. */
  service: string;
  /** The operation, e.g. `PutObject`, `GetItem` (`unknown` when it cannot be told). */
  action: string;
  /** The signing region. */
  region: string;
  /** `bucket`, `bucket/key`, a table, a function… where the request names it. */
  resource?: string;
  /** A copy's source object, `bucket/key`, when its signed `x-amz-copy-source` names one. */
  source?: string;
  /** The HTTP status the client got. */
  status: number;
  /** The request body's length as received. */
  bytesIn: number;
  /** The response body's length as sent back. */
  bytesOut: number;
  /** The error code, when the proxy itself refused the call (it never reached AWS). */
  refused?: string;
  /**
   * Why no answer came, for a call the proxy sent to AWS and got none for (the proxy closed, as
   * the command ended, or AWS took longer than the proxy waits): it reached AWS, and whether AWS
   * carried it out is unknown. Never with `refused`.
   */
  unanswered?: UnansweredReason;
  /** Why the proxy refused it, for a human (with `refused`). */
  refusalReason?: RefusalReason;
  /** AWS's error code, for a call AWS answered with an error (`AccessDenied`…). */
  errorCode?: string;
}

/**
 * Why a call sent to AWS got no answer, as a human reads it in `--calls` and `serve`'s audit log.
 */
export const UNANSWERED_REASONS = [
  "sent to AWS, no answer before the proxy closed",
  "sent to AWS, no answer within the proxy's idle timeout",
  "sent to AWS, connection lost before the answer",
] as const;

/** One of {@linkcode UNANSWERED_REASONS}. */
export type UnansweredReason = typeof UNANSWERED_REASONS[number];

/** AWS's error codes that say the caller may not do this (not that the call was wrong). */
const REFUSAL_CODES =
  /AccessDenied|Unauthorized|AuthorizationError|Forbidden|ExpiredToken|InvalidClientTokenId|SignatureDoesNotMatch|InvalidAccessKeyId/i;

/**
 * Whether a call was refused: by the proxy, or by AWS (401, 403, or an error code such as
 * `AccessDeniedException`, which JSON services send with 400).
 */
export function isRefused(call: CallRecord): boolean {
  return call.refused !== undefined || call.status === 401 || call.status === 403 ||
    (call.errorCode !== undefined && REFUSAL_CODES.test(call.errorCode));
}

/** What a call is known by before it is sent. */
export interface CallName {
  /** The operation. */
  action: string;
  /** The resource, where the request names it. */
  resource?: string;
  /** A copy's source object (`bucket/key`), when a signed header names it. */
  source?: string;
}

const MAX_NAME = 256;

/**
 * Bounds and neutralises a name taken from a request: each of the `UNSAFE_CHARACTERS` (a
 * control character, a line separator, a zero-width or direction character, which would hide or
 * reorder what `--calls` shows on a terminal) becomes `?`, once it is cut at 256 (so a pair cut in
 * half becomes `?` too).
 */
export function cleanName(text: string): string {
  return text.slice(0, MAX_NAME).replace(UNSAFE_CHARACTERS, "?");
}

/** The fields of a JSON body that name the resource, in the order they are looked for. */
const RESOURCE_FIELDS = [
  "TableName",
  "FunctionName",
  "QueueUrl",
  "TopicArn",
  "StreamName",
  "StreamARN",
  "SecretId",
  "LogGroupName",
  "StateMachineArn",
  "KeyId",
  "RoleName",
  "UserName",
  "Bucket",
  "Name",
];

/**
 * Names a call from its request. `body` is the body when the proxy read it whole (JSON and query
 * services), `undefined` when it streams through (S3). `signedHeaders` lists the headers the
 * signature covers: an S3 copy's source is named only from a signed `x-amz-copy-source` (an
 * unsigned one is not sent on, so it is not what AWS copies from).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nameCall } from "./call_record.ts";
 * const call = nameCall({
 *   service: "s3", method: "PUT", path: "/photos/cat.jpg", query: new URLSearchParams(),
 *   headers: new Headers(),
 * });
 * assert.deepEqual(call, { action: "PutObject", resource: "photos/cat.jpg" });
 * ```
 */
export function nameCall(request: {
  service: string;
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Headers;
  body?: Uint8Array;
  signedHeaders?: readonly string[];
}): CallName {
  const target = request.headers.get("x-amz-target");
  const fields = request.body === undefined ? undefined : bodyFields(request);
  // S3 has no X-Amz-Target: it does what the method, path and query say, whatever that header says.
  if (request.service === "s3") return nameS3Call(request);
  const action = target?.split(".").pop() ?? request.query.get("Action") ??
    fields?.get("Action") ?? restAction(request);
  const resource = RESOURCE_FIELDS.map((name) => fields?.get(name)).find((v) => v) ??
    restResource(request.path);
  return {
    action: cleanName(action || "unknown"),
    ...(resource ? { resource: cleanName(resource) } : {}),
  };
}

/** The string fields of a JSON or form body (top level only). */
function bodyFields(request: { headers: Headers; body?: Uint8Array }): Map<string, string> {
  const text = new TextDecoder().decode(request.body);
  const type = request.headers.get("content-type") ?? "";
  const out = new Map<string, string>();
  if (type.includes("x-www-form-urlencoded")) {
    for (const [name, value] of new URLSearchParams(text)) out.set(name, value);
    return out;
  }
  if (!type.includes("json") && !text.startsWith("{")) return out;
  try {
    const value = JSON.parse(text);
    if (typeof value === "object" && value !== null) {
      for (const [name, field] of Object.entries(value)) {
        if (typeof field === "string") out.set(name, field);
      }
    }
  } catch {
    // Not JSON after all: the call is named by its target or path alone.
  }
  return out;
}

/** `GET /2015-03-31/functions/NAME` and the like: the method and the path's last word. */
function restAction(request: { method: string; path: string }): string {
  const words = request.path.split("/").filter((w) => w !== "" && !/^\d{4}-\d{2}-\d{2}$/.test(w));
  return words.length === 0 ? "" : `${request.method} /${words[0]}`;
}

/** The second segment of a REST path (`/functions/NAME/…` → NAME), decoded. */
function restResource(path: string): string | undefined {
  const words = path.split("/").filter((w) => w !== "" && !/^\d{4}-\d{2}-\d{2}$/.test(w));
  return words[1] === undefined ? undefined : decodeSegment(words[1]);
}

function decodeSegment(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Bucket sub-resources and the operation each names, by method. */
const BUCKET_SUBRESOURCES: Record<string, Record<string, string>> = {
  location: { GET: "GetBucketLocation" },
  versioning: { GET: "GetBucketVersioning", PUT: "PutBucketVersioning" },
  policy: { GET: "GetBucketPolicy", PUT: "PutBucketPolicy", DELETE: "DeleteBucketPolicy" },
  tagging: { GET: "GetBucketTagging", PUT: "PutBucketTagging", DELETE: "DeleteBucketTagging" },
  acl: { GET: "GetBucketAcl", PUT: "PutBucketAcl" },
  cors: { GET: "GetBucketCors", PUT: "PutBucketCors", DELETE: "DeleteBucketCors" },
  lifecycle: {
    GET: "GetBucketLifecycleConfiguration",
    PUT: "PutBucketLifecycleConfiguration",
    DELETE: "DeleteBucketLifecycle",
  },
  encryption: {
    GET: "GetBucketEncryption",
    PUT: "PutBucketEncryption",
    DELETE: "DeleteBucketEncryption",
  },
  uploads: { GET: "ListMultipartUploads" },
  versions: { GET: "ListObjectVersions" },
  delete: { POST: "DeleteObjects" },
  website: { GET: "GetBucketWebsite", PUT: "PutBucketWebsite", DELETE: "DeleteBucketWebsite" },
  notification: {
    GET: "GetBucketNotificationConfiguration",
    PUT: "PutBucketNotificationConfiguration",
  },
};

/** S3's REST operations, from the method, the bucket and key in the path, and the query. */
function nameS3Call(request: {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Headers;
  signedHeaders?: readonly string[];
}): CallName {
  const name = nameS3Operation(request);
  if (name.action !== "CopyObject" && name.action !== "UploadPartCopy") return name;
  const signed = request.signedHeaders?.includes("x-amz-copy-source") ?? false;
  const source = signed ? copySource(request.headers.get("x-amz-copy-source")!) : undefined;
  return source === undefined ? name : { ...name, source };
}

/**
 * The object an `x-amz-copy-source` names, as `bucket/key`: `[/]BUCKET/KEY[?versionId=ID]`,
 * percent-encoded, decoded whole (a `%2F` is a slash, as S3 reads it) and without the version
 * (the same object's ARN). `undefined` for anything else: an access point's ARN, a bucket
 * without a key, another query, bad encoding. Past 256 characters it ends in `…`, which no key
 * a scope can name has, so that a cut name never stands for another object.
 */
export function copySource(header: string): string | undefined {
  const [path, ...rest] = header.split("?");
  if (rest.length > 0 && !/^versionId=[^&=?]+$/.test(rest.join("?"))) return undefined;
  let text: string;
  try {
    text = decodeURIComponent(path.replace(/^\//, ""));
  } catch {
    return undefined;
  }
  const slash = text.indexOf("/");
  if (slash <= 0 || slash === text.length - 1 || text.startsWith("arn:")) return undefined;
  // Cut before it is cleaned: a pair cut in half is then `?`, as `cleanName` makes it.
  return text.length > MAX_NAME ? `${cleanName(text.slice(0, MAX_NAME - 1))}…` : cleanName(text);
}

/** The S3 operation and its resource (the bucket, or bucket and key) from the path. */
function nameS3Operation(request: {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Headers;
}): CallName {
  const [, bucketPart = "", ...keyParts] = request.path.split("/");
  const bucket = decodeSegment(bucketPart);
  const key = decodeSegment(keyParts.join("/"));
  const q = request.query;
  const method = request.method.toUpperCase();
  const named = (action: string) => ({
    action,
    ...(bucket ? { resource: cleanName(key ? `${bucket}/${key}` : bucket) } : {}),
  });
  if (bucket === "") return named(method === "GET" ? "ListBuckets" : "unknown");
  if (key === "") {
    for (const [sub, byMethod] of Object.entries(BUCKET_SUBRESOURCES)) {
      if (q.has(sub)) return named(byMethod[method] ?? "unknown");
    }
    const bucketOps: Record<string, string> = {
      GET: q.get("list-type") === "2" ? "ListObjectsV2" : "ListObjects",
      PUT: "CreateBucket",
      DELETE: "DeleteBucket",
      HEAD: "HeadBucket",
    };
    return named(bucketOps[method] ?? "unknown");
  }
  if (q.has("tagging")) {
    return named(({ GET: "GetObjectTagging", PUT: "PutObjectTagging" })[method] ?? "unknown");
  }
  if (q.has("acl")) {
    return named(({ GET: "GetObjectAcl", PUT: "PutObjectAcl" })[method] ?? "unknown");
  }
  if (q.has("uploads") && method === "POST") return named("CreateMultipartUpload");
  if (q.has("uploadId")) {
    if (method === "PUT") {
      return named(
        request.headers.has("x-amz-copy-source") ? "UploadPartCopy" : "UploadPart",
      );
    }
    const ops: Record<string, string> = {
      POST: "CompleteMultipartUpload",
      DELETE: "AbortMultipartUpload",
      GET: "ListParts",
    };
    return named(ops[method] ?? "unknown");
  }
  const objectOps: Record<string, string> = {
    GET: "GetObject",
    HEAD: "HeadObject",
    DELETE: "DeleteObject",
    PUT: request.headers.has("x-amz-copy-source") ? "CopyObject" : "PutObject",
  };
  return named(objectOps[method] ?? "unknown");
}
