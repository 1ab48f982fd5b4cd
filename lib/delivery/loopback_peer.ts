/**
 * Who is at the other end of a loopback TCP connection: on Linux, the user that owns the peer's
 * socket, from the kernel's table of TCP sockets (`/proc/net/tcp`), the way an ident server
 * answers. A connection to `127.0.0.1:PORT` from another user's process shows there as a row
 * whose local address is the peer's (`127.0.0.1:CLIENT-PORT`), whose remote address is ours, and
 * whose `uid` column is the user that made the peer's socket. A loopback server that hands out a
 * secret can so answer only its own user.
 *
 * Elsewhere (macOS, Windows) there is no `/proc/net/tcp`, and the peer is not checked (their own
 * interfaces for it are not used).
 *
 * @module
 */

/** The kernel's table of the IPv4 TCP sockets of this network namespace. */
const TCP_TABLE = "/proc/net/tcp";

/** The `st` column of a connected socket (`TCP_ESTABLISHED`). */
const ESTABLISHED = "01";

/** The longest table read: 64 MiB, far above the rows of even a busy server. */
const MAX_TABLE_BYTES = 64 * 1024 * 1024;

/** How long `cat` may take to read the table before it is given up (the request is then refused). */
const READ_TIMEOUT_MS = 2000;

/**
 * How long the shell's copy may take: its `read` takes the table a byte at a time, ~130 µs a row
 * (a machine with 23,000 sockets, most in TIME_WAIT, took 3 s), where `cat` takes milliseconds.
 */
const SHELL_READ_TIMEOUT_MS = 15_000;

/**
 * The programs that read the table for us: `cat` at its usual paths, and never one found on PATH
 * (a directory there may be another user's, or hold a `cat` that forges the table).
 */
const CAT_PATHS: readonly string[] = ["/usr/bin/cat", "/bin/cat"];

/**
 * Where there is no `cat` at those paths (NixOS, Guix), the POSIX shell, whose `read` and
 * `printf` are built in: it copies the table line by line and runs no other program.
 */
const SHELL_PATH = "/bin/sh";
const SHELL_COPY = `while IFS= read -r line; do printf '%s\\n' "$line"; done < ${TCP_TABLE}`;

/** What {@linkcode checkPeer} found out about a connection's peer. */
export type PeerCheck =
  /** The peer's socket belongs to this process's user. */
  | { kind: "same" }
  /** The peer's socket belongs to another user. */
  | { kind: "other"; uid: number }
  /** The owner could not be found (why: no row for the connection, or the table unreadable). */
  | { kind: "unknown"; reason: string }
  /** Not checked: this system has no `/proc/net/tcp` (macOS, Windows). */
  | { kind: "unchecked" };

/** Options of {@linkcode checkPeer}; the defaults are this process's. */
export interface PeerCheckOptions {
  /** The platform. */
  os?: typeof Deno.build.os;
  /** This process's user id. */
  uid?: number;
  /** Reads the table of TCP sockets (default: `/proc/net/tcp`, read by {@linkcode sharedTableReader}). */
  readTable?: () => Promise<string>;
}

/** A host and port (what `Deno.serve` gives as a request's `remoteAddr`). */
export interface LoopbackAddr {
  /** The IPv4 address. */
  hostname: string;
  /** The port. */
  port: number;
}

/** An IPv4 address and port as `/proc/net/tcp` prints them: `0100007F:1F90` on little-endian. */
function tableAddress(hostname: string, port: number): string | undefined {
  const parts = hostname.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    return undefined;
  }
  // The kernel prints the address's four bytes, in network order in memory, as one native-order
  // 32-bit number; the port as a number.
  const word = new Uint32Array(new Uint8Array(parts).buffer)[0];
  const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, "0");
  return `${hex(word, 8)}:${hex(port, 4)}`;
}

/**
 * The owner (`uid` column) of the connected socket at `local` whose other end is `remote`, in the
 * text of `/proc/net/tcp`; `undefined` when there is no such connected row. Only a connected
 * (`ESTABLISHED`) row counts: a closed socket lingering in `TIME_WAIT` is shown with uid 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { socketOwner } from "./loopback_peer.ts";
 * const table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n" +
 *   "   0: 0100007F:D431 0100007F:A433 01 00000000:00000000 00:00000000 00000000  1000 0 7 1\n";
 * const peer = { hostname: "127.0.0.1", port: 0xd431 };
 * const server = { hostname: "127.0.0.1", port: 0xa433 };
 * // On a little-endian machine (x86, ARM as Linux runs it):
 * assert.equal(socketOwner(table, { local: peer, remote: server }), 1000);
 * assert.equal(socketOwner(table, { local: server, remote: peer }), undefined);
 * ```
 */
export function socketOwner(
  table: string,
  connection: { local: LoopbackAddr; remote: LoopbackAddr },
): number | undefined {
  const local = tableAddress(connection.local.hostname, connection.local.port);
  const remote = tableAddress(connection.remote.hostname, connection.remote.port);
  if (local === undefined || remote === undefined) return undefined;
  for (const line of table.split("\n")) {
    const fields = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode …
    if (fields[1] !== local || fields[2] !== remote || fields[3] !== ESTABLISHED) continue;
    const uid = /^\d{1,10}$/.test(fields[7] ?? "") ? Number(fields[7]) : NaN;
    if (Number.isSafeInteger(uid)) return uid;
  }
  return undefined;
}

/**
 * A reader of `/proc/net/tcp` through `cat`: Deno counts every path under `/proc` as special, and
 * opening one needs `--allow-all`, which the binary does not have (it has `read` and `run`). `cat`
 * is run by the first of `catPaths` (default `/usr/bin/cat`, `/bin/cat`) that exists, never from
 * PATH; without one, `shellPath` (default `/bin/sh`) copies the table with its built-in `read`
 * and `printf`. Either runs in an empty environment, for at most {@linkcode READ_TIMEOUT_MS}
 * (the shell, slower: {@linkcode SHELL_READ_TIMEOUT_MS}), and its output is bounded. Where neither exists the read fails (`NotFound`), and
 * {@linkcode checkPeer} answers `unknown`: the request is refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tcpTableReader } from "./loopback_peer.ts";
 * const none = { catPaths: ["/nowhere/cat"], shellPath: "/nowhere/sh" };
 * await assert.rejects(tcpTableReader(none)(), Deno.errors.NotFound);
 * ```
 */
export function tcpTableReader(
  options: { catPaths?: readonly string[]; shellPath?: string } = {},
): () => Promise<string> {
  const readers: [string, string[], number][] = [
    ...(options.catPaths ?? CAT_PATHS).map((cat): [string, string[], number] => [
      cat,
      [TCP_TABLE],
      READ_TIMEOUT_MS,
    ]),
    [options.shellPath ?? SHELL_PATH, ["-c", SHELL_COPY], SHELL_READ_TIMEOUT_MS],
  ];
  return () => readTcpTable(readers);
}

async function readTcpTable(readers: readonly [string, string[], number][]): Promise<string> {
  for (const [program, args, timeoutMs] of readers) {
    let child: Deno.ChildProcess;
    const abort = new AbortController();
    try {
      child = new Deno.Command(program, {
        args,
        clearEnv: true,
        env: { LC_ALL: "C" },
        stdin: "null",
        stdout: "piped",
        stderr: "null",
        signal: abort.signal,
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const text = await boundedText(child.stdout, () => abort.abort());
      const status = await child.status;
      if (!status.success) throw new Error(`${program} exited with code ${status.code}`);
      return text;
    } finally {
      clearTimeout(timer);
      await child.status;
    }
  }
  throw new Deno.errors.NotFound("cat or sh");
}

/** The whole of a stream as text; past {@linkcode MAX_TABLE_BYTES}, `stop()` and a throw. */
async function boundedText(stream: ReadableStream<Uint8Array>, stop: () => void): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > MAX_TABLE_BYTES) {
      stop();
      throw new RangeError(`${TCP_TABLE} is over 64 MiB`);
    }
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

/**
 * Shares the reads of the socket table among the connections checked at the same time: each call
 * resolves with a read that started after the call (so it holds every connection accepted before
 * it), and all calls made while a read runs share the next one. A flood of requests so runs one
 * `cat` after another, never one per request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sharedTableReader } from "./loopback_peer.ts";
 * let reads = 0;
 * const read = sharedTableReader(() => Promise.resolve(`read ${++reads}`));
 * const texts = await Promise.all([read(), read(), read()]);
 * assert.deepEqual(texts, ["read 1", "read 2", "read 2"]);
 * ```
 */
export function sharedTableReader(
  read: () => Promise<string> = tcpTableReader(),
): () => Promise<string> {
  let running: Promise<string> | undefined;
  let queued: Promise<string> | undefined;
  const start = () => running = read().finally(() => running = undefined);
  return () => {
    if (queued !== undefined) return queued;
    if (running === undefined) return start();
    return queued = running.catch(() => "").then(() => {
      queued = undefined;
      return start();
    });
  };
}

/** The reads of this process's checks. */
const readShared = sharedTableReader();

/**
 * Whose process is at the other end of a connection that this process accepted on the IPv4
 * loopback: `peer` is the connection's remote address (the client's), `port` the port this
 * process listens on (at `127.0.0.1`). On Linux, reads `/proc/net/tcp` for the peer's own row;
 * the table is read a second time when the row is missing (a table read while sockets come and
 * go can skip one). Anywhere else: `unchecked`. Never throws: an unreadable table is `unknown`.
 */
export async function checkPeer(
  peer: LoopbackAddr,
  port: number,
  options: PeerCheckOptions = {},
): Promise<PeerCheck> {
  if ((options.os ?? Deno.build.os) !== "linux") return { kind: "unchecked" };
  const read = options.readTable ?? readShared;
  // The listener is an IPv4 socket bound to 127.0.0.1. A client on a dual-stack IPv6 socket
  // (connected to ::ffff:127.0.0.1, as Java does) reaches it too, but its row is in
  // /proc/net/tcp6, not read here: such a peer is `unknown`, so refused (browsers use IPv4
  // sockets for an IPv4 address).
  const connection = { local: peer, remote: { hostname: "127.0.0.1", port } };
  for (let attempt = 0; attempt < 2; attempt++) {
    let table: string;
    try {
      table = await read();
    } catch (error) {
      const name = error instanceof Error ? error.name : "Error";
      return { kind: "unknown", reason: `${TCP_TABLE} cannot be read (${name})` };
    }
    const uid = socketOwner(table, connection);
    if (uid !== undefined) {
      return uid === (options.uid ?? Deno.uid()) ? { kind: "same" } : { kind: "other", uid };
    }
  }
  return { kind: "unknown", reason: `${TCP_TABLE} has no row for the connection` };
}
