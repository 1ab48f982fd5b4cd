/**
 * The signing proxy's refusals, in the error shape and with the error code that the client's
 * service uses, so that an SDK or CLI reports them as it would AWS's own: S3's `<Error>` XML
 * (`InvalidAccessKeyId`, `SignatureDoesNotMatch`, `ExpiredToken`), the query services'
 * `<ErrorResponse>` (`InvalidClientTokenId`, `SignatureDoesNotMatch`, `ExpiredToken`), EC2's
 * `<Response><Errors>` with `<RequestID>`, and the JSON services' `{"__type", "message"}` with `x-amzn-ErrorType`
 * (`UnrecognizedClientException`, `InvalidSignatureException`, `ExpiredTokenException`).
 * A credential-minting call (or a compressed body the proxy cannot check for one) is refused as
 * AWS refuses a call that no policy allows: `AccessDenied` with 403 (EC2: `UnauthorizedOperation`;
 * the JSON RPC services, awsJson 1.0 and 1.1: `AccessDeniedException` with 400; the REST JSON
 * services: `AccessDeniedException` with 403). Each kind of refusal also has a reason for the
 * call's record, from a small closed set.
 *
 * @module
 */

/** Why the proxy refuses a call. */
export type RefusalKind =
  | "unknown-key"
  | "bad-signature"
  | "expired"
  | "presigned"
  | "sigv4a"
  | "not-sigv4"
  | "unsigned"
  | "host"
  | "body-too-large"
  | "headers-too-large"
  | "bad-scope"
  | "upstream-timeout"
  | "upstream-failed"
  | "busy"
  | "mints-credentials"
  | "encoded-body";

/**
 * Why the proxy refused a call, as a human reads it in `--calls` and `serve`'s audit log: a small
 * closed set, each saying what to change. Several kinds share one reason (every way of not
 * signing with SigV4 in the `Authorization` header is one).
 */
export const REFUSAL_REASONS = [
  "credential-minting action refused under --masked",
  "compressed body to a service with credential-minting actions: send it uncompressed",
  "not signed with the stand-in key",
  "bad signature: wrong stand-in secret or clock skew",
  "grant expired or revoked",
  "not signed with SigV4 in the Authorization header",
  "not for a host, region or service the proxy serves",
  "request over the proxy's size limits",
  "proxy busy with other large requests: retry",
  "no usable answer from AWS",
] as const;

/** One of {@linkcode REFUSAL_REASONS}. */
export type RefusalReason = typeof REFUSAL_REASONS[number];

const REASONS: Record<RefusalKind, RefusalReason> = {
  "mints-credentials": "credential-minting action refused under --masked",
  "encoded-body":
    "compressed body to a service with credential-minting actions: send it uncompressed",
  "unknown-key": "not signed with the stand-in key",
  "bad-signature": "bad signature: wrong stand-in secret or clock skew",
  "expired": "grant expired or revoked",
  "presigned": "not signed with SigV4 in the Authorization header",
  "sigv4a": "not signed with SigV4 in the Authorization header",
  "not-sigv4": "not signed with SigV4 in the Authorization header",
  "unsigned": "not signed with SigV4 in the Authorization header",
  "host": "not for a host, region or service the proxy serves",
  "bad-scope": "not for a host, region or service the proxy serves",
  "body-too-large": "request over the proxy's size limits",
  "headers-too-large": "request over the proxy's size limits",
  "busy": "proxy busy with other large requests: retry",
  "upstream-timeout": "no usable answer from AWS",
  "upstream-failed": "no usable answer from AWS",
};

/**
 * Why a refusal was made, for the call's record (never the client's text, which may quote the
 * request).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProxyRefusal, refusalReason } from "./proxy_refusal.ts";
 * assert.equal(
 *   refusalReason(new ProxyRefusal("mints-credentials")),
 *   "credential-minting action refused under --masked",
 * );
 * ```
 */
export function refusalReason(refusal: ProxyRefusal): RefusalReason {
  return REASONS[refusal.kind];
}

/** The wire protocol of a call, which decides the error's shape. */
export type Protocol = "s3" | "query" | "ec2" | "json" | "rest-json";

/** A refusal: its kind and the sentence that says why, for the client. */
export class ProxyRefusal extends Error {
  /** Why. */
  readonly kind: RefusalKind;

  /** Creates a refusal; `message` replaces the kind's usual one. */
  constructor(kind: RefusalKind, message?: string) {
    super(message ?? "");
    this.name = "ProxyRefusal";
    this.kind = kind;
  }
}

const PROXY = "timebound-iam's signing proxy";

interface Wording {
  /** The code per family; EC2 has the query services' codes unless `ec2` names its own. */
  code: Record<"s3" | "query" | "json", string> & { ec2?: string };
  status: number;
  message: string;
}

const WORDINGS: Record<RefusalKind, Wording> = {
  "unknown-key": {
    code: {
      s3: "InvalidAccessKeyId",
      query: "InvalidClientTokenId",
      json: "UnrecognizedClientException",
    },
    status: 403,
    message: "The security token included in the request is invalid",
  },
  "bad-signature": {
    code: {
      s3: "SignatureDoesNotMatch",
      query: "SignatureDoesNotMatch",
      json: "InvalidSignatureException",
    },
    status: 403,
    message: "The request signature we calculated does not match the signature you provided. " +
      "Check your AWS Secret Access Key and signing method",
  },
  "expired": {
    code: { s3: "ExpiredToken", query: "ExpiredToken", json: "ExpiredTokenException" },
    status: 403,
    message: "The security token included in the request is expired",
  },
  "presigned": {
    code: { s3: "InvalidRequest", query: "InvalidRequest", json: "InvalidRequestException" },
    status: 400,
    message: `${PROXY} refuses presigned (query-string) requests: signing one again would ` +
      "make a URL that carries the real session; sign in the Authorization header instead",
  },
  "sigv4a": {
    code: { s3: "InvalidRequest", query: "InvalidRequest", json: "InvalidRequestException" },
    status: 400,
    message: `${PROXY} refuses SigV4A (AWS4-ECDSA-P256-SHA256): it signs for one region ` +
      "only; use a regional endpoint, or set AWS_SIGV4A_SIGNING_REGION_SET to one region",
  },
  "not-sigv4": {
    code: { s3: "InvalidRequest", query: "IncompleteSignature", json: "IncompleteSignature" },
    status: 400,
    message: `${PROXY} accepts only AWS Signature Version 4 (AWS4-HMAC-SHA256) in the ` +
      "Authorization header",
  },
  "unsigned": {
    code: {
      s3: "AccessDenied",
      query: "MissingAuthenticationToken",
      json: "MissingAuthenticationTokenException",
    },
    status: 403,
    message: `${PROXY} refuses unsigned requests: sign them with the stand-in credentials`,
  },
  "host": {
    code: {
      s3: "AccessDenied",
      query: "AccessDenied",
      ec2: "UnauthorizedOperation",
      json: "AccessDeniedException",
    },
    status: 403,
    message: `${PROXY} answers only requests for Host 127.0.0.1:PORT or localhost:PORT`,
  },
  "body-too-large": {
    code: { s3: "EntityTooLarge", query: "RequestEntityTooLarge", json: "RequestEntityTooLarge" },
    status: 413,
    message: `The request body is larger than ${PROXY} accepts`,
  },
  "headers-too-large": {
    code: {
      s3: "RequestHeaderSectionTooLarge",
      query: "RequestHeaderSectionTooLarge",
      json: "RequestHeaderSectionTooLarge",
    },
    status: 431,
    message: "Your request header section exceeds the maximum allowed size",
  },
  "bad-scope": {
    code: {
      s3: "AuthorizationHeaderMalformed",
      query: "IncompleteSignature",
      json: "IncompleteSignature",
    },
    status: 400,
    message: "The credential scope names no AWS region or service that the proxy can reach",
  },
  "upstream-timeout": {
    code: { s3: "RequestTimeout", query: "RequestTimeout", json: "RequestTimeoutException" },
    status: 504,
    message: `${PROXY} got no answer from AWS in time`,
  },
  "upstream-failed": {
    code: { s3: "ServiceUnavailable", query: "ServiceUnavailable", json: "ServiceUnavailable" },
    status: 502,
    message: `${PROXY} could not reach AWS`,
  },
  "busy": {
    code: { s3: "SlowDown", query: "Throttling", json: "ThrottlingException" },
    status: 503,
    message: `${PROXY} holds as many request bodies as it may at once: try again`,
  },
  "mints-credentials": {
    code: {
      s3: "AccessDenied",
      query: "AccessDenied",
      ec2: "UnauthorizedOperation",
      json: "AccessDeniedException",
    },
    status: 403,
    message: "timebound-iam's masked proxy refuses credential-minting actions: their answer " +
      "would hand out real credentials",
  },
  "encoded-body": {
    code: {
      s3: "AccessDenied",
      query: "AccessDenied",
      ec2: "UnauthorizedOperation",
      json: "AccessDeniedException",
    },
    status: 403,
    message: "timebound-iam's masked proxy refuses a compressed body to a service with " +
      "credential-minting actions: send it uncompressed",
  },
};

/**
 * The codes that the JSON RPC services (awsJson 1.0 and 1.1: DynamoDB, ECR, KMS, Secrets
 * Manager…) answer with 400 where the others answer 403: AWS's common errors give
 * `AccessDeniedException` 400, and ECR answers an unknown key's `UnrecognizedClientException` with
 * 400. The REST JSON services (Lambda, API Gateway…) answer `AccessDeniedException` with 403.
 */
const AWS_JSON_400 = new Set(["AccessDeniedException", "UnrecognizedClientException"]);

/** The protocol of a request, from its signing service and headers. */
export function protocolOf(service: string | undefined, headers: Headers): Protocol {
  const type = headers.get("content-type") ?? "";
  if (headers.has("x-amz-target") || type.startsWith("application/x-amz-json")) return "json";
  if (service === "s3") return "s3";
  if (service === "ec2") return "ec2";
  if (type.startsWith("application/json")) return "rest-json";
  return "query";
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The response for a refusal, in the protocol's shape, with `requestId` as its request id. A
 * `HEAD` request gets the status and headers only, as S3 answers it.
 */
export function refusalResponse(
  refusal: ProxyRefusal,
  context: { protocol: Protocol; requestId: string; method: string; service?: string },
): Response {
  const wording = WORDINGS[refusal.kind];
  const family = familyOf(context.protocol);
  const code = refusalCode(refusal, context.protocol);
  const message = refusal.message || wording.message;
  // DynamoDB answers every client error with 400; S3 an expired token too.
  const status = (context.service === "dynamodb" && wording.status < 500) ||
      (family === "s3" && refusal.kind === "expired") ||
      (context.protocol === "json" && AWS_JSON_400.has(code))
    ? 400
    : wording.status;
  const headers = new Headers({ "x-amzn-RequestId": context.requestId });
  let body: string;
  if (family === "json") {
    headers.set("content-type", "application/x-amz-json-1.1");
    headers.set("x-amzn-ErrorType", code);
    body = JSON.stringify({ __type: code, message });
  } else {
    headers.set("content-type", "text/xml");
    const id = escapeXml(context.requestId);
    const error = `<Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message>`;
    body = context.protocol === "s3"
      ? `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${error}<RequestId>${id}</RequestId></Error>`
      : context.protocol === "ec2"
      ? `<Response><Errors><Error>${error}</Error></Errors><RequestID>${id}</RequestID></Response>`
      : `<ErrorResponse><Error><Type>${status < 500 ? "Sender" : "Receiver"}</Type>${error}` +
        `</Error><RequestId>${id}</RequestId></ErrorResponse>`;
  }
  if (context.protocol === "s3") headers.set("x-amz-request-id", context.requestId);
  return new Response(context.method === "HEAD" ? null : body + "\n", { status, headers });
}

/** The error code a refusal gets in a protocol (for the call record). */
export function refusalCode(refusal: ProxyRefusal, protocol: Protocol): string {
  const code = WORDINGS[refusal.kind].code;
  return protocol === "ec2" ? code.ec2 ?? code.query : code[familyOf(protocol)];
}

function familyOf(protocol: Protocol): "s3" | "query" | "json" {
  return protocol === "s3"
    ? "s3"
    : protocol === "json" || protocol === "rest-json"
    ? "json"
    : "query";
}
