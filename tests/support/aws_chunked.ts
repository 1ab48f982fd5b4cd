/**
 * S3's `aws-chunked` bodies, decoded as S3 decodes them: signed chunks
 * (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`) each checked against the chain of signatures
 * that starts at the request's own, unsigned chunks with a trailing checksum
 * (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`), the trailer's checksum checked against the decoded
 * bytes, and the decoded length against `x-amz-decoded-content-length`.
 *
 * @module
 */

import { createHash, createHmac } from "node:crypto";
import { AwsError } from "./aws_error.ts";
import { crc32Base64 } from "./s3.ts";
import { sha256Hex, type SigV4Authorization } from "./sigv4.ts";

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** The signing context of a signed aws-chunked body. */
export interface ChunkVerification {
  /** The request's parsed `Authorization` (its signature seeds the chain). */
  auth: SigV4Authorization;
  /** The request's `X-Amz-Date`. */
  amzDate: string;
  /** The signer's secret access key. */
  secretAccessKey: string;
}

function signingKey(secret: string, auth: SigV4Authorization): Uint8Array {
  const hmac = (key: string | Uint8Array, data: string) =>
    createHmac("sha256", key).update(data).digest();
  return hmac(
    hmac(hmac(hmac(`AWS4${secret}`, auth.date), auth.region), auth.service),
    "aws4_request",
  );
}

function mismatch(): AwsError {
  return new AwsError(
    "SignatureDoesNotMatch",
    "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    403,
  );
}

function incomplete(): AwsError {
  return new AwsError(
    "IncompleteBody",
    "You did not provide the number of bytes specified by the Content-Length HTTP header",
  );
}

/** Whether a request's body is aws-chunked. */
export function isAwsChunked(headers: Headers): boolean {
  return (headers.get("x-amz-content-sha256") ?? "").startsWith("STREAMING-") ||
    (headers.get("content-encoding") ?? "").split(",").some((v) => v.trim() === "aws-chunked");
}

/**
 * The decoded body. `verify` is required for signed chunks; a chunk, trailer or checksum that
 * does not match throws S3's error.
 */
export function decodeAwsChunked(
  body: Uint8Array,
  headers: Headers,
  verify: ChunkVerification,
): Uint8Array {
  const mode = headers.get("x-amz-content-sha256") ?? "";
  const signed = mode.startsWith("STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
  const key = signingKey(verify.secretAccessKey, verify.auth);
  const scope = `${verify.auth.date}/${verify.auth.region}/${verify.auth.service}/aws4_request`;
  const text = (from: number, to: number) => new TextDecoder().decode(body.subarray(from, to));
  let at = 0;
  let previous = verify.auth.signature;
  const pieces: Uint8Array[] = [];
  const line = () => {
    const end = body.indexOf(0x0a, at);
    if (end < 0 || body[end - 1] !== 0x0d) throw incomplete();
    const value = text(at, end - 1);
    at = end + 1;
    return value;
  };
  for (;;) {
    const header = line();
    const m = signed
      ? /^([0-9a-fA-F]+);chunk-signature=([0-9a-f]{64})$/.exec(header)
      : /^([0-9a-fA-F]+)$/.exec(header);
    if (m === null) throw incomplete();
    const size = parseInt(m[1], 16);
    const data = body.subarray(at, at + size);
    if (data.length !== size) throw incomplete();
    at += size;
    if (signed) {
      const toSign = [
        "AWS4-HMAC-SHA256-PAYLOAD",
        verify.amzDate,
        scope,
        previous,
        EMPTY_SHA256,
        sha256Hex(data),
      ]
        .join("\n");
      const expected = createHmac("sha256", key).update(toSign).digest("hex");
      if (expected !== m[2]) throw mismatch();
      previous = expected;
    }
    if (size === 0) break;
    pieces.push(data);
    if (line() !== "") throw incomplete();
  }
  const trailer: string[] = [];
  let trailerSignature: string | undefined;
  for (;;) {
    if (at >= body.length) break;
    const next = line();
    if (next === "") break;
    const m = /^x-amz-trailer-signature:([0-9a-f]{64})$/.exec(next);
    if (m) trailerSignature = m[1];
    else trailer.push(next);
  }
  if (mode === "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") {
    const canonical = trailer.map((t) => `${t}\n`).join("");
    const toSign = [
      "AWS4-HMAC-SHA256-TRAILER",
      verify.amzDate,
      scope,
      previous,
      sha256Hex(canonical),
    ]
      .join("\n");
    if (createHmac("sha256", key).update(toSign).digest("hex") !== trailerSignature) {
      throw mismatch();
    }
  }
  const decoded = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    decoded.set(piece, offset);
    offset += piece.length;
  }
  const declared = headers.get("x-amz-decoded-content-length");
  if (declared !== null && Number(declared) !== decoded.length) throw incomplete();
  checkTrailer(headers, trailer, decoded);
  return decoded;
}

/** The checksum named by `x-amz-trailer`, as the trailer gives it, against the decoded bytes. */
function checkTrailer(headers: Headers, trailer: string[], decoded: Uint8Array): void {
  const name = headers.get("x-amz-trailer")?.trim().toLowerCase();
  if (!name) return;
  const value = trailer.map((t) => t.split(":")).find(([n]) => n.trim().toLowerCase() === name)
    ?.slice(1).join(":").trim();
  if (value === undefined) throw incomplete();
  const computed: Record<string, () => string> = {
    "x-amz-checksum-crc32": () => crc32Base64(decoded),
    "x-amz-checksum-sha256": () => createHash("sha256").update(decoded).digest("base64"),
    "x-amz-checksum-sha1": () => createHash("sha1").update(decoded).digest("base64"),
  };
  const compute = computed[name];
  if (compute === undefined) {
    throw new AwsError("InvalidRequest", `The local endpoint does not check ${name}`);
  }
  if (compute() !== value) {
    throw new AwsError(
      "BadDigest",
      `The ${
        name.replace("x-amz-checksum-", "").toUpperCase()
      } you specified did not match the calculated checksum.`,
    );
  }
}
