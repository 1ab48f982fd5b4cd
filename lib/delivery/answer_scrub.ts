/**
 * Keeps the real session out of what the signing proxy hands back. AWS echoes a request's signed
 * headers when it refuses its signature: the query and JSON services print "The Canonical String
 * for this request should have been …" and S3 adds `<AWSAccessKeyId>`, `<CanonicalRequest>` and
 * `<CanonicalRequestBytes>` (hex) to its `SignatureDoesNotMatch`. The proxy signs its own
 * `x-amz-security-token`, so a client that makes AWS refuse the signature the proxy made (a query
 * or path that the proxy and AWS canonicalise differently) would read the real session token and
 * access key id in the answer. Error answers (status 300 and up) are therefore read whole, within
 * a bound, and every form of the real token, key id and secret in them (and in any answer's
 * headers) is replaced by the stand-in's.
 *
 * @module
 */

import { readBoundedBody } from "../core/bounded_body.ts";
import { uriEncode } from "../core/sigv4.ts";

/** The real session's parts and what stands in for each. */
export interface SessionSwap {
  /** The real access key id, secret and session token. */
  real: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
  /** The stand-ins the client knows. */
  standIn: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
}

/** An answer from the endpoint, as `sendUpstream` gives it. */
export interface Answer {
  /** The HTTP status. */
  status: number;
  /** The headers. */
  headers: Headers;
  /** The body as it arrives. */
  body: ReadableStream<Uint8Array>;
}

/** Why an error answer cannot be passed on: too large to check, or encoded. */
export class UncheckedAnswer extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UncheckedAnswer";
  }
}

/** The largest error body the proxy reads to check it. AWS's error bodies are a few KiB. */
export const MAX_ERROR_BODY_BYTES = 1024 * 1024;

/**
 * The answer with the real session replaced by the stand-ins: in every header, and in the body
 * of an error answer (read whole, at most `maxBytes`). An error body that is larger, or
 * content-encoded (the proxy asks for `identity`), is refused with {@linkcode UncheckedAnswer}
 * rather than passed on unchecked. A success's body streams through untouched.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scrubAnswer } from "./answer_scrub.ts";
 * const swap = {
 *   real: { accessKeyId: "ASIAREAL", secretAccessKey: "s", sessionToken: "REALTOKEN" },
 *   standIn: { accessKeyId: "ASIAFAKE", secretAccessKey: "f", sessionToken: "STANDIN" },
 * };
 * const answer = await scrubAnswer({
 *   status: 403,
 *   headers: new Headers(),
 *   body: new Response("x-amz-security-token:REALTOKEN").body!,
 * }, { method: "GET", swap });
 * assert.equal(await new Response(answer.body).text(), "x-amz-security-token:STANDIN");
 * ```
 */
export async function scrubAnswer(
  answer: Answer,
  options: { method: string; swap: SessionSwap; maxBytes?: number },
): Promise<Answer> {
  const pairs = replacements(options.swap);
  const headers = new Headers();
  answer.headers.forEach((value, name) => headers.append(name, replaceAll(value, pairs)));
  const noBody = options.method === "HEAD" || answer.status === 204 || answer.status === 304;
  if (answer.status < 300 || noBody) return { ...answer, headers };
  const encoding = (headers.get("content-encoding") ?? "identity").trim().toLowerCase();
  if (encoding !== "identity" && encoding !== "") {
    await answer.body.cancel().catch(() => {});
    throw new UncheckedAnswer(`The endpoint's error answer is encoded "${encoding.slice(0, 40)}"`);
  }
  const bytes = await readBoundedBody(answer.body, {
    limit: options.maxBytes ?? MAX_ERROR_BODY_BYTES,
    tooLarge: () =>
      new UncheckedAnswer("The endpoint's error answer is larger than the proxy checks"),
  });
  const text = replaceAll(latin1(bytes), pairs);
  headers.delete("content-length");
  const out = Uint8Array.from(text, (c) => c.charCodeAt(0));
  return {
    status: answer.status,
    headers,
    body: new ReadableStream({
      start(controller) {
        if (out.length > 0) controller.enqueue(out);
        controller.close();
      },
    }),
  };
}

/** Each secret's forms as text, percent-encoded, JSON-escaped and as spaced hex bytes. */
function replacements(swap: SessionSwap): Array<[RegExp, string]> {
  const pairs: Array<[RegExp, string]> = [];
  const parts = ["sessionToken", "secretAccessKey", "accessKeyId"] as const;
  for (const part of parts) {
    const real = swap.real[part];
    const standIn = swap.standIn[part];
    if (real.length < 4) continue;
    const forms: Array<[string, string, string]> = [
      [real, standIn, ""],
      [uriEncode(real), uriEncode(standIn), "i"],
      [real.replaceAll("/", "\\/"), standIn.replaceAll("/", "\\/"), ""],
      [hexBytes(real), hexBytes(standIn), "i"],
    ];
    for (const [from, to, flags] of forms) {
      pairs.push([new RegExp(escapeRegExp(from), `g${flags}`), to]);
    }
  }
  return pairs;
}

function replaceAll(text: string, pairs: Array<[RegExp, string]>): string {
  return pairs.reduce((out, [pattern, to]) => out.replace(pattern, () => to), text);
}

function hexBytes(text: string): string {
  return Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0"))
    .join(" ");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** Bytes as a string of one character per byte, so that any encoding survives the round trip. */
function latin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}
