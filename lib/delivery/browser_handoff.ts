/**
 * A one-time link on this machine that hands a secret URL to the browser: a server on
 * `127.0.0.1` (a random port) whose only page, at a path with 256 random bits, answers exactly one
 * `GET` with a redirect to the secret URL. The browser's argument list then holds only the link,
 * which is worthless once followed; the secret URL itself never reaches any process's arguments.
 *
 * Every other request (a wrong path or host, another method, the right path again) gets a 404 or a
 * 410 with no secret. The right path asked again means that two parties had the link, one of them
 * not the browser: the caller is told, to warn the human.
 *
 * The link's path is in the browser's argument list, which every local user can read, so another
 * user could race the browser to it. On Linux the link therefore answers only a connection whose
 * socket belongs to this process's user ({@linkcode checkPeer}): another user's request, or one
 * whose owner cannot be found, gets a 403 without the secret, leaves the link for the browser, and
 * the caller is told. Elsewhere (macOS, Windows) the owner is not checked.
 *
 * The server is `loopback_server.ts`'s, so that no local process can hold it with slow requests
 * (slowloris): a connection whose request headers are not in within 10 seconds gets `408` and is
 * closed, at most 256 connections are open at once, and stopping it never waits on a client for
 * more than a second. A connection held open that way never delays the browser's own request.
 *
 * @module
 */

import { checkPeer, type LoopbackAddr, type PeerCheck } from "./loopback_peer.ts";
import { type LoopbackOptions, serveLoopback } from "./loopback_server.ts";

/** The random bytes of the link's path (256 bits). */
const PATH_BYTES = 32;

/** A request for the link that was refused for its sender: another user, or one unknown. */
export type PeerRefusal = Extract<PeerCheck, { kind: "other" | "unknown" }>;

/** Options of {@linkcode serveHandoff}. */
export interface HandoffOptions {
  /** Called once when the right path is asked for again after the redirect was given. */
  onReuse?: () => void;
  /**
   * Called when a request for the right path was refused because its connection is not this
   * user's: once per other user, and once for all connections whose owner is unknown.
   */
  onRefused?: (refusal: PeerRefusal) => void;
  /** Who owns a connection's other end (default {@linkcode checkPeer}, this process's user). */
  checkPeer?: (peer: LoopbackAddr, port: number) => Promise<PeerCheck>;
  /** The server's bounds on slow clients, where not `loopback_server.ts`'s (tests give less). */
  limits?: LoopbackOptions;
}

/** A running one-time link; dispose of it (or call `close`) to stop the server. */
export interface Handoff extends AsyncDisposable {
  /** The link to give the browser: `http://127.0.0.1:PORT/RANDOM`. */
  url: string;
  /** Resolves when the link has been followed (the redirect was sent). */
  followed: Promise<void>;
  /**
   * Stops the server: no new connection from then on; requests in flight get at most a second,
   * then their connections are closed (idempotent).
   */
  close(): Promise<void>;
}

/** Compares two byte strings in time that depends on their length only. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

function randomPath(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(PATH_BYTES));
  const text = btoa(String.fromCharCode(...bytes));
  return `/${text.replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "")}`;
}

/** The headers of every answer: nothing cached, no Referer sent on from the redirect. */
function answer(status: number, body: string | null, extra: Record<string, string> = {}) {
  return new Response(body, {
    status,
    headers: {
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
      ...(body === null ? {} : { "content-type": "text/plain; charset=utf-8" }),
      ...extra,
    },
  });
}

/**
 * `check`'s answer, or `undefined` once `signal` is aborted (the client's connection closed): a
 * request whose client is gone does not wait on the socket table, and so does not hold a stop.
 */
function unlessAborted<T>(check: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const gone = () => resolve(undefined);
    signal.addEventListener("abort", gone, { once: true });
    check.then(resolve, reject).finally(() => signal.removeEventListener("abort", gone));
  });
}

/**
 * Starts a one-time link to `target` on `127.0.0.1`, on a random port. The first `GET` of its
 * path with a `Host` of `127.0.0.1:PORT` or `localhost:PORT`, from a connection of this user (on
 * Linux; from anyone elsewhere), gets a `302` to `target` (`Cache-Control: no-store`,
 * `Referrer-Policy: no-referrer`); the same request from another user's connection, or one whose
 * owner is unknown, a 403 (and `onRefused`) that leaves the link unused; anything else a 404, and
 * the path again a 410 (and `onReuse`, once). A client too slow with its request headers gets a
 * 408 and its connection closed (see `loopback_server.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveHandoff } from "./browser_handoff.ts";
 * await using link = await serveHandoff("https://example.com/secret");
 * const first = await fetch(link.url, { redirect: "manual" });
 * await first.body?.cancel();
 * assert.equal(first.headers.get("location"), "https://example.com/secret");
 * const again = await fetch(link.url, { redirect: "manual" });
 * await again.body?.cancel();
 * assert.equal(again.status, 410);
 * ```
 */
export async function serveHandoff(
  target: string,
  options: HandoffOptions = {},
): Promise<Handoff> {
  const path = randomPath();
  const expected = new TextEncoder().encode(path);
  const followed = Promise.withResolvers<void>();
  let used = false;
  let warned = false;
  const refused = new Set<string>();
  const ownerOf = options.checkPeer ?? ((peer, port) => checkPeer(peer, port));
  let hosts: string[] = [];
  const server = await serveLoopback(async (request, info) => {
    const host = request.headers.get("host") ?? "";
    const asked = new TextEncoder().encode(new URL(request.url).pathname);
    if (
      request.method !== "GET" || !hosts.includes(host.toLowerCase()) || !sameBytes(asked, expected)
    ) {
      return answer(404, "Not found\n");
    }
    // The owner of this very connection: its client's end and the server's, as the socket table
    // names them.
    const owner = await unlessAborted(
      ownerOf(info.remoteAddr, info.localAddr.port),
      request.signal,
    );
    // The client is gone: no one to answer, and the link stays unused.
    if (owner === undefined) return answer(404, "Not found\n");
    if (owner.kind === "other" || owner.kind === "unknown") {
      const key = owner.kind === "other" ? `uid ${owner.uid}` : "unknown";
      if (!refused.has(key)) {
        refused.add(key);
        options.onRefused?.(owner);
      }
      return answer(403, "This sign-in link is for the user who asked for it.\n");
    }
    if (used) {
      if (!warned) {
        warned = true;
        options.onReuse?.();
      }
      return answer(410, "This sign-in link was already used.\n");
    }
    used = true;
    followed.resolve();
    return answer(302, null, { location: target });
  }, {
    // Never an answer that echoes the error (and so possibly a request's path); nothing is logged.
    onError: () => answer(500, "Error\n"),
    ...options.limits,
  });
  const port = server.port;
  hosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  // A local client can hold a request open forever (a body that never comes): the loopback
  // server's shutdown (idempotent) waits a second at most for it, then closes its connection.
  const close = () => server.shutdown();
  return {
    url: `http://127.0.0.1:${port}${path}`,
    followed: followed.promise,
    close,
    [Symbol.asyncDispose]: close,
  };
}
