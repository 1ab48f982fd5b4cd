/**
 * Sends a re-signed call to its endpoint and hands back the answer as it arrives. It uses
 * `node:http(s)` rather than `fetch`: a streamed body must go out with the client's
 * `Content-Length` (S3 refuses a `PutObject` sent chunked), and the answer must come back
 * byte for byte, never decompressed. A call that makes no progress (no byte up or down) for the
 * idle timeout is abandoned.
 *
 * @module
 */

import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";

/** A request to an endpoint. */
export interface UpstreamRequest {
  /** The full URL (origin, path and query as signed). */
  url: URL;
  /** The method. */
  method: string;
  /** The headers to send, signed ones included (`host` among them). */
  headers: Headers;
  /** The body: bytes, a stream (sent with `content-length` when the headers hold one), none. */
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  /** How long the call may go without progress. */
  idleTimeoutMs: number;
}

/** The endpoint's answer. */
export interface UpstreamResponse {
  /** The HTTP status. */
  status: number;
  /** The headers, minus hop-by-hop ones. */
  headers: Headers;
  /** The body as it arrives. */
  body: ReadableStream<Uint8Array>;
}

/** Why a call to the endpoint failed: no progress in time, or no connection. */
export class UpstreamError extends Error {
  /** `timeout` or `failed`. */
  readonly reason: "timeout" | "failed";

  /** Creates the error. */
  constructor(reason: "timeout" | "failed", message: string) {
    super(message);
    this.name = "UpstreamError";
    this.reason = reason;
  }
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
]);

/** Keep-alive connection pools, one per scheme; destroy them when the proxy closes. */
export interface UpstreamAgents {
  /** For http endpoints (the parent's local ones). */
  http: http.Agent;
  /** For AWS. */
  https: https.Agent;
  /** Closes every pooled connection. */
  destroy(): void;
}

/** Makes the connection pools. */
export function createAgents(): UpstreamAgents {
  const plain = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const secure = new https.Agent({ keepAlive: true, maxSockets: 256 });
  return {
    http: plain,
    https: secure,
    destroy() {
      plain.destroy();
      secure.destroy();
    },
  };
}

/**
 * Sends the request; resolves when the answer's headers arrive. Rejects with an
 * {@linkcode UpstreamError}, or with the body stream's own error when reading it fails.
 */
export function sendUpstream(
  request: UpstreamRequest,
  agents: UpstreamAgents,
): Promise<UpstreamResponse> {
  const secure = request.url.protocol === "https:";
  const outgoing: Record<string, string> = {};
  request.headers.forEach((value, name) => outgoing[name] = value);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    const options = {
      method: request.method,
      host: request.url.hostname.replace(/^\[|\]$/g, ""),
      port: request.url.port || (secure ? 443 : 80),
      path: request.url.pathname + request.url.search,
      headers: outgoing,
      agent: secure ? agents.https : agents.http,
      servername: secure ? request.url.hostname : undefined,
      timeout: request.idleTimeoutMs,
    };
    const req = (secure ? https : http).request(options, (res) => {
      settled = true;
      const headers = new Headers();
      for (const [name, value] of Object.entries(res.headers)) {
        if (value === undefined || HOP_BY_HOP.has(name)) continue;
        for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
      }
      res.setTimeout(request.idleTimeoutMs, () => {
        res.destroy(new UpstreamError("timeout", "The endpoint stopped sending"));
      });
      resolve({
        status: res.statusCode ?? 502,
        headers,
        body: Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>,
      });
    });
    req.on("timeout", () => {
      req.destroy();
      fail(new UpstreamError("timeout", "The endpoint did not answer in time"));
    });
    req.on("error", (error) => fail(new UpstreamError("failed", error.message)));
    const body = request.body;
    if (body === null) req.end();
    else if (body instanceof Uint8Array) req.end(body);
    else {
      const source = Readable.fromWeb(body as Parameters<typeof Readable.fromWeb>[0]);
      // The client's body failing (a chunk that does not verify) is the call's failure.
      source.on("error", (error) => {
        req.destroy();
        fail(error);
      });
      source.pipe(req);
    }
  });
}
