/**
 * An HTTP server on 127.0.0.1 (random port) that a slow or hostile local client cannot hold
 * open: `Deno.serve` has no deadline for a request's headers and no cap on connections, so a
 * process that opens connections and trickles bytes (slowloris) keeps each socket, and its
 * memory, for as long as it likes. This one is Node's HTTP server (`node:http`, loaded only
 * when a server starts), which has both, behind the same `Request` → `Response` handler:
 *
 * - the headers of a request must be in within {@linkcode HEADERS_TIMEOUT_MS} of its first
 *   byte (of the connection, for the first request), else the client gets `408` and the
 *   connection is closed;
 * - a request's body must keep coming: {@linkcode BODY_IDLE_MS} with no byte (while the handler
 *   waits for one) answers `408` and closes the connection. A large body sent slowly is fine;
 * - at most {@linkcode MAX_CONNECTIONS} connections at once: one more is closed at once;
 * - at most {@linkcode MAX_PIPELINED} requests of one connection not yet answered (sent ahead of
 *   their answers, HTTP/1.1 pipelining): one more closes the connection. Node's server reads
 *   them all and calls the handler for each, so that a client that sends requests and never reads
 *   an answer made the process hold every one (a few megabytes sent, hundreds of megabytes held);
 * - request headers of at most 64 KiB (the handler may hold them to less): more get `431`;
 * - a connection idle between requests is closed after {@linkcode KEEP_ALIVE_MS}.
 *
 * @module
 */

import type { IncomingMessage, Server, ServerResponse } from "node:http";

/** How long a request's headers may take to arrive. */
export const HEADERS_TIMEOUT_MS = 10_000;
/** How long a request's body may send nothing while it is being read. */
export const BODY_IDLE_MS = 30_000;
/** How many connections may be open at once. */
export const MAX_CONNECTIONS = 256;
/**
 * How many requests one connection may have sent ahead of their answers. No client we serve
 * pipelines (browsers, the AWS SDKs and CLIs send one request at a time); the bound is for one
 * that does so to hold memory.
 */
export const MAX_PIPELINED = 16;
/** How long a connection may sit idle between requests. */
export const KEEP_ALIVE_MS = 5_000;
/** How long a shutdown waits for the handlers under way before it closes their connections. */
export const SHUTDOWN_GRACE_MS = 1_000;

/**
 * Answers a request; `info.remoteAddr` is the client's end of the connection, `info.localAddr`
 * the server's (the two ends of the socket pair, as the kernel's tables name the connection).
 */
export type LoopbackHandler = (
  request: Request,
  info: { remoteAddr: Deno.NetAddr; localAddr: Deno.NetAddr },
) => Response | Promise<Response>;

/** Options of {@linkcode serveLoopback}. */
export interface LoopbackOptions {
  /** {@linkcode HEADERS_TIMEOUT_MS} unless given (tests give less). */
  headersTimeoutMs?: number;
  /** {@linkcode BODY_IDLE_MS} unless given. */
  bodyIdleMs?: number;
  /** {@linkcode MAX_CONNECTIONS} unless given. */
  maxConnections?: number;
  /** {@linkcode MAX_PIPELINED} unless given. */
  maxPipelined?: number;
  /** The answer to a body that stopped coming (default: a plain `408`). */
  timedOut?: () => Response;
  /** The answer when the handler throws (default: a plain `500`; nothing is logged). */
  onError?: (error: unknown) => Response;
}

/** A running {@linkcode serveLoopback} server. */
export interface LoopbackServer {
  /** The port on 127.0.0.1. */
  readonly port: number;
  /**
   * Stops accepting, waits for the handlers under way (at most {@linkcode SHUTDOWN_GRACE_MS}),
   * then closes every connection: a client still sending its request is cut off, so that no
   * client, however it trickles, keeps the server (and the process) from ending.
   */
  shutdown(): Promise<void>;
}

/** Serves `handler` on 127.0.0.1 with the bounds of the module's description. */
export async function serveLoopback(
  handler: LoopbackHandler,
  options: LoopbackOptions = {},
): Promise<LoopbackServer> {
  const http = await import("node:http");
  const headersTimeout = options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  const running = new Set<Promise<void>>();
  const maxPipelined = options.maxPipelined ?? MAX_PIPELINED;
  // Per connection, the requests whose answer has not ended yet.
  const unanswered = new WeakMap<object, number>();
  let port = 0;
  const server: Server = http.createServer({
    headersTimeout,
    // No deadline for a whole request: a large upload may take long; the body's idle one holds.
    requestTimeout: 0,
    keepAliveTimeout: KEEP_ALIVE_MS,
    maxHeaderSize: 64 * 1024,
    connectionsCheckingInterval: Math.min(1000, headersTimeout),
  }, (req, res) => {
    const socket = req.socket;
    const ahead = (unanswered.get(socket) ?? 0) + 1;
    unanswered.set(socket, ahead);
    res.once("close", () => unanswered.set(socket, (unanswered.get(socket) ?? 1) - 1));
    if (ahead > maxPipelined) {
      socket.destroy();
      return;
    }
    const answering = answer(req, res, { handler, options, port }).catch(() => {
      res.destroy();
    });
    running.add(answering);
    answering.finally(() => running.delete(answering));
  });
  server.maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
  // A request too slow or malformed is answered as Node would, and nothing of it is logged.
  server.on("clientError", (error: Error, socket) => {
    const code = (error as { code?: string }).code;
    const status = code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? "408 Request Timeout"
      : code === "HPE_HEADER_OVERFLOW"
      ? "431 Request Header Fields Too Large"
      : "400 Bad Request";
    if (!socket.writable) socket.destroy();
    else socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  port = (server.address() as { port: number }).port;
  let closing: Promise<void> | undefined;
  return {
    port,
    shutdown() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // A handler still reading a body that keeps coming would never end: it gets a moment,
        // then its connection is closed, which ends its body with an error.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const grace = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, SHUTDOWN_GRACE_MS);
        });
        await Promise.race([Promise.allSettled([...running]), grace]);
        clearTimeout(timer);
        server.closeAllConnections();
        await Promise.allSettled([...running]);
        await closed;
      })();
      return closing;
    },
  };
}

interface Answering {
  handler: LoopbackHandler;
  options: LoopbackOptions;
  port: number;
}

/** Turns Node's request into a `Request`, and the handler's `Response` into Node's answer. */
async function answer(req: IncomingMessage, res: ServerResponse, at: Answering): Promise<void> {
  const aborted = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) aborted.abort();
  });
  // The URL names the Host the client sent, as `Deno.serve`'s does; the handler checks it.
  const own = `http://127.0.0.1:${at.port}`;
  const url = URL.parse(req.url ?? "/", URL.parse(`http://${req.headers.host ?? ""}`) ?? own) ??
    URL.parse("/", own)!;
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  const bodyless = req.method === "GET" || req.method === "HEAD";
  if (bodyless) req.resume();
  const timedOut = () => {
    if (!res.headersSent) {
      void send(res, at.options.timedOut?.() ?? new Response("Request timeout\n", { status: 408 }))
        .finally(() => req.socket.destroy());
    } else req.socket.destroy();
  };
  const request = new Request(url, {
    method: req.method,
    headers,
    body: bodyless ? null : bodyOf(req, at.options.bodyIdleMs ?? BODY_IDLE_MS, timedOut),
    signal: aborted.signal,
    // @ts-ignore: a streamed body is sent as it comes (fetch's `duplex`, not in every lib.dom)
    duplex: "half",
  });
  const remoteAddr: Deno.NetAddr = {
    transport: "tcp",
    hostname: req.socket.remoteAddress ?? "",
    port: req.socket.remotePort ?? 0,
  };
  const localAddr: Deno.NetAddr = {
    transport: "tcp",
    hostname: req.socket.localAddress ?? "",
    port: req.socket.localPort ?? 0,
  };
  let response: Response;
  try {
    response = await at.handler(request, { remoteAddr, localAddr });
  } catch (error) {
    response = at.options.onError?.(error) ??
      new Response("Internal error\n", { status: 500 });
  }
  if (res.headersSent || res.destroyed) {
    await response.body?.cancel().catch(() => {});
    return;
  }
  // An answer before the whole body came: the connection ends with it, once the client has had
  // a moment to read it.
  if (!req.complete) res.setHeader("connection", "close");
  await send(res, response, req.method === "HEAD");
  // (Never keeping the process alive: a command that ends does not wait for it.)
  if (!req.complete) Deno.unrefTimer(setTimeout(() => req.socket.destroy(), LINGER_MS));
}

/** How long a connection whose body was not read whole stays open after its answer. */
const LINGER_MS = 2_000;

/**
 * The body of `req` as a stream, read only as fast as the handler reads it; `timedOut` is
 * called when it sends nothing for `idleMs` while the handler waits for it.
 */
function bodyOf(
  req: IncomingMessage,
  idleMs: number,
  timedOut: () => void,
): ReadableStream<Uint8Array> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let dropped = false;
  const stop = () => clearTimeout(timer);
  const wait = () => {
    stop();
    timer = setTimeout(timedOut, idleMs);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.pause();
      req.on("data", (chunk: Uint8Array) => {
        stop();
        if (dropped) return;
        controller.enqueue(new Uint8Array(chunk));
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
        else wait();
      });
      req.on("end", () => {
        stop();
        if (!dropped) controller.close();
      });
      req.on("error", (error) => {
        stop();
        if (!dropped) controller.error(error);
      });
      req.on("close", stop);
    },
    pull() {
      wait();
      req.resume();
    },
    cancel() {
      // The handler wants no more (a body over its limit): the rest is read and dropped, so
      // that the client, still sending, gets the answer (`answer()` ends the connection soon).
      stop();
      dropped = true;
      req.resume();
    },
  }, { highWaterMark: 1 });
}

/** Writes `response` to `res`, at the pace the client reads it. */
async function send(res: ServerResponse, response: Response, head = false): Promise<void> {
  const headers: [string, string][] = [];
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers.push([name, value]);
  });
  for (const cookie of response.headers.getSetCookie()) headers.push(["set-cookie", cookie]);
  if (!response.body || head) {
    await response.body?.cancel().catch(() => {});
    res.writeHead(response.status, headers.flat()).end();
    return;
  }
  const reader = response.body.getReader();
  res.on("close", () => reader.cancel().catch(() => {}));
  try {
    // A body that is one chunk (a string, JSON) goes with its length, as `Deno.serve` sends it;
    // a longer one is streamed as it comes.
    const pending: Uint8Array[] = [];
    if (!response.headers.has("content-length")) {
      for (let i = 0; i < 2; i++) {
        const { done, value } = await reader.read();
        if (done) {
          const whole = pending[0] ?? new Uint8Array(0);
          headers.push(["content-length", String(whole.length)]);
          res.writeHead(response.status, headers.flat()).end(whole);
          return;
        }
        pending.push(value);
      }
    }
    res.writeHead(response.status, headers.flat());
    for (const chunk of pending) res.write(chunk);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          res.once("drain", resolve);
          res.once("close", resolve);
        });
      }
      if (res.destroyed) return;
    }
    res.end();
  } catch {
    res.destroy();
  }
}
