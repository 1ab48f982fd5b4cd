/**
 * Sends a re-signed call to its endpoint and hands back the answer as it arrives. A body read
 * whole (or none) goes with `fetch` (the fastest path on loopback), asking for the answer as it
 * is (`accept-encoding: identity`, which the signing proxy always asks for, redirects not
 * followed), so it comes back byte for byte, never decompressed. A streamed body goes with `node:http(s)`, which
 * sends it with the client's `Content-Length` (S3 refuses a `PutObject` sent chunked; `fetch`
 * would chunk it). A call that makes no progress (no byte up or down) for the idle timeout is
 * abandoned. A failure says whether the request may have reached the endpoint (`sent`): only one
 * whose connection is known never to have opened says no, as in doubt AWS may have acted on it.
 *
 * @module
 */

import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";

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

/**
 * Why a call to the endpoint failed: no progress in time (`timeout`), the proxy closing while it
 * waited (`closed`), or the connection failing (`failed`).
 */
export class UpstreamError extends Error {
  /** `timeout`, `closed` or `failed`. */
  readonly reason: "timeout" | "closed" | "failed";
  /**
   * Whether the request may have reached the endpoint: false only when its connection is known
   * never to have opened (refused, no such host), so nothing of it was sent.
   */
  readonly sent: boolean;

  /** Creates the error. */
  constructor(reason: "timeout" | "closed" | "failed", message: string, sent = true) {
    super(message);
    this.name = "UpstreamError";
    this.reason = reason;
    this.sent = sent;
  }
}

/** What `fetch`'s error says when the connection never opened (Deno: hyper's connect error). */
const NEVER_CONNECTED = /client error \(Connect\)|Requests to port \d+ are blocked/;

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
]);

/**
 * The connections of the proxy's calls: keep-alive pools for streamed bodies, one per scheme, and
 * the calls in flight with `fetch`; destroy it when the proxy closes.
 */
export interface UpstreamAgents {
  /** For http endpoints (the parent's local ones). */
  http: http.Agent;
  /** For AWS. */
  https: https.Agent;
  /** Follows a `fetch` call until it ends; the returned function ends following it. */
  track(call: AbortController): () => void;
  /** Whether {@linkcode UpstreamAgents.destroy} was called. */
  readonly destroyed: boolean;
  /** Closes every pooled connection and abandons every call in flight. */
  destroy(): void;
}

/** Makes the connection pools. */
export function createAgents(): UpstreamAgents {
  const plain = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const secure = new https.Agent({ keepAlive: true, maxSockets: 256 });
  const calls = new Set<AbortController>();
  let destroyed = false;
  return {
    http: plain,
    https: secure,
    track(call) {
      calls.add(call);
      return () => calls.delete(call);
    },
    get destroyed() {
      return destroyed;
    },
    destroy() {
      destroyed = true;
      for (const call of calls) call.abort(new UpstreamError("closed", "The proxy has closed"));
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
  return request.body instanceof ReadableStream
    ? sendStreamed(request, agents)
    : sendWhole(request, agents);
}

/** A body read whole, or none: `fetch`, its answer's progress watched by a timer. */
async function sendWhole(
  request: UpstreamRequest,
  agents: UpstreamAgents,
): Promise<UpstreamResponse> {
  const call = new AbortController();
  const untrack = agents.track(call);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const done = () => {
    clearTimeout(timer);
    untrack();
  };
  const progress = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => call.abort(new UpstreamError("timeout", "The endpoint stopped answering")),
      request.idleTimeoutMs,
    );
  };
  progress();
  const headers = new Headers(request.headers);
  // fetch names the host from the URL, as it was signed.
  headers.delete("host");
  if (!headers.has("accept-encoding")) headers.set("accept-encoding", "identity");
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers,
      body: request.body as Uint8Array<ArrayBuffer> | null,
      redirect: "manual",
      signal: call.signal,
    });
  } catch (error) {
    done();
    const reason = call.signal.reason;
    if (reason instanceof UpstreamError) throw reason;
    // fetch says "fetch failed"; its cause says where: "client error (Connect): …" when the
    // connection never opened. `fetch` shows no more: anything else may have been sent.
    const text = `${error instanceof Error ? error.message : String(error)} ${
      error instanceof Error ? String(error.cause ?? "") : ""
    }`;
    throw new UpstreamError("failed", text.trim(), !NEVER_CONNECTED.test(text));
  }
  progress();
  const answerHeaders = new Headers();
  response.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name)) answerHeaders.append(name, value);
  });
  const body = response.body?.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        progress();
        controller.enqueue(chunk);
      },
      flush: done,
    }),
  );
  if (body === undefined) done();
  return {
    status: response.status,
    headers: answerHeaders,
    body: body ?? new ReadableStream({ start: (controller) => controller.close() }),
  };
}

/** A streamed body: `node:http(s)`, which keeps the client's `Content-Length`. */
function sendStreamed(
  request: UpstreamRequest,
  agents: UpstreamAgents,
): Promise<UpstreamResponse> {
  const secure = request.url.protocol === "https:";
  const outgoing: Record<string, string> = {};
  request.headers.forEach((value, name) => outgoing[name] = value);
  return new Promise((resolve, reject) => {
    let settled = false;
    // Whether the connection opened (a pooled one is open already): only then can a byte go.
    let connected = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    const failUpstream = (reason: "timeout" | "failed", message: string) =>
      fail(
        agents.destroyed
          ? new UpstreamError("closed", "The proxy has closed", connected)
          : new UpstreamError(reason, message, connected),
      );
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
    // Headers and body leave in one go, not held back by Nagle's algorithm for an ACK.
    req.on("socket", (socket) => {
      socket.setNoDelay(true);
      if (!socket.connecting) connected = true;
      // The TCP connection (before TLS's handshake: in doubt, the request may have gone).
      else socket.once("connect", () => connected = true);
    });
    req.on("timeout", () => {
      req.destroy();
      failUpstream("timeout", "The endpoint did not answer in time");
    });
    req.on("error", (error) => failUpstream("failed", error.message));
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
