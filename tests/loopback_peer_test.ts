// Who is at the other end of a loopback connection: the row of the kernel's socket table that
// names the peer's socket, read for real on Linux.
import assert from "node:assert/strict";
import {
  checkPeer,
  sharedTableReader,
  socketOwner,
  tcpTableReader,
} from "../lib/delivery/loopback_peer.ts";

const linux = Deno.build.os === "linux";
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** 127.0.0.1 as the kernel prints it on this machine. */
const LOOPBACK = littleEndian ? "0100007F" : "7F000001";
const HEADER =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  " +
  "timeout inode\n";

/** One row of /proc/net/tcp: from `local` port to `remote` port on 127.0.0.1. */
function row(local: number, remote: number, state: string, uid: number): string {
  const port = (n: number) => n.toString(16).toUpperCase().padStart(4, "0");
  return `   7: ${LOOPBACK}:${port(local)} ${LOOPBACK}:${port(remote)} ${state} ` +
    `00000000:00000000 00:00000000 00000000 ${String(uid).padStart(5)}        0 4242 1 ` +
    "0000000000000000 20 4 30 10 -1\n";
}

const server = { hostname: "127.0.0.1", port: 40001 };
const peer = { hostname: "127.0.0.1", port: 51234 };

Deno.test("socketOwner() reads the uid of the peer's own connected row", async (t) => {
  await t.step("the peer's row, not the server's end of the same connection", () => {
    const table = HEADER + row(40001, 51234, "01", 0) + row(51234, 40001, "01", 1000);
    assert.equal(socketOwner(table, { local: peer, remote: server }), 1000);
    assert.equal(socketOwner(table, { local: server, remote: peer }), 0);
  });
  await t.step("a closed socket lingering in TIME_WAIT (shown as uid 0) is no answer", () => {
    const table = HEADER + row(51234, 40001, "06", 0);
    assert.equal(socketOwner(table, { local: peer, remote: server }), undefined);
  });
  await t.step("another client port or another server port is no answer", () => {
    const table = HEADER + row(51235, 40001, "01", 1000) + row(51234, 40002, "01", 1000);
    assert.equal(socketOwner(table, { local: peer, remote: server }), undefined);
  });
  await t.step("another loopback address of the peer is read as such", () => {
    const other = littleEndian ? "0200007F" : "7F000002";
    const table = HEADER +
      row(51234, 40001, "01", 1000).replace(`${LOOPBACK}:C822`, `${other}:C822`);
    assert.equal(socketOwner(table, { local: peer, remote: server }), undefined);
    assert.equal(
      socketOwner(table, { local: { hostname: "127.0.0.2", port: 51234 }, remote: server }),
      1000,
    );
  });
  await t.step("an address that is not IPv4, or a garbled uid, is no answer", () => {
    const table = HEADER + row(51234, 40001, "01", 1000);
    assert.equal(
      socketOwner(table, { local: { hostname: "::1", port: 51234 }, remote: server }),
      undefined,
    );
    const garbled = HEADER + row(51234, 40001, "01", 1000).replace(" 1000 ", " 10x0 ");
    assert.equal(socketOwner(garbled, { local: peer, remote: server }), undefined);
    assert.equal(socketOwner("", { local: peer, remote: server }), undefined);
  });
});

Deno.test("checkPeer() finds this user at the other end of a real loopback connection", {
  ignore: !linux,
}, async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using accepted = await listener.accept();
  const remote = accepted.remoteAddr as Deno.NetAddr;
  assert.equal(remote.port, (client.localAddr as Deno.NetAddr).port);
  assert.deepEqual(await checkPeer(remote, listener.addr.port), { kind: "same" });
  // The same socket seen as someone else's: the uid column is compared with ours.
  assert.deepEqual(
    await checkPeer(remote, listener.addr.port, { uid: 4_000_000 }),
    { kind: "other", uid: Deno.uid()! },
  );
  // A client port with no connection to the listener: no row, so no owner.
  using unrelated = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const nobody = { hostname: "127.0.0.1", port: unrelated.addr.port };
  assert.deepEqual(await checkPeer(nobody, listener.addr.port), {
    kind: "unknown",
    reason: "/proc/net/tcp has no row for the connection",
  });
});

Deno.test(
  "checkPeer() never runs a cat found on PATH: without cat or sh at their usual paths, the peer is unknown",
  {
    ignore: !linux,
  },
  async () => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    using _client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    using accepted = await listener.accept();
    const remote = accepted.remoteAddr as Deno.NetAddr;
    // A cat is on this process's PATH; a system without /usr/bin/cat and /bin/cat must not use it.
    const readTable = tcpTableReader({
      catPaths: ["/nonexistent/usr/bin/cat", "/nonexistent/cat"],
      shellPath: "/nonexistent/sh",
    });
    assert.deepEqual(await checkPeer(remote, listener.addr.port, { readTable }), {
      kind: "unknown",
      reason: "/proc/net/tcp cannot be read (NotFound)",
    });
    // Without cat at its usual paths (NixOS, Guix), /bin/sh's built-ins read the table.
    const bySh = tcpTableReader({ catPaths: ["/nonexistent/usr/bin/cat", "/nonexistent/cat"] });
    assert.deepEqual(await checkPeer(remote, listener.addr.port, { readTable: bySh }), {
      kind: "same",
    });
    // The usual paths, where cat is: the same connection is this user's.
    assert.deepEqual(
      await checkPeer(remote, listener.addr.port, { readTable: tcpTableReader() }),
      { kind: "same" },
    );
  },
);

Deno.test("checkPeer() refuses to guess when the table cannot be read or has no row", async () => {
  let reads = 0;
  const unreadable = await checkPeer(peer, server.port, {
    os: "linux",
    readTable: () => {
      reads++;
      return Promise.reject(new Deno.errors.NotCapable("Requires all access"));
    },
  });
  assert.deepEqual(unreadable, {
    kind: "unknown",
    reason: "/proc/net/tcp cannot be read (NotCapable)",
  });
  assert.equal(reads, 1);
  reads = 0;
  const missing = await checkPeer(peer, server.port, {
    os: "linux",
    readTable: () => {
      reads++;
      return Promise.resolve(HEADER + row(40001, 51234, "01", 0));
    },
  });
  assert.deepEqual(missing, {
    kind: "unknown",
    reason: "/proc/net/tcp has no row for the connection",
  });
  assert.equal(reads, 2, "read again before giving up");
  // Found on the second read (a row skipped while sockets came and went).
  const tables = [HEADER, HEADER + row(51234, 40001, "01", 1000)];
  const second = await checkPeer(peer, server.port, {
    os: "linux",
    uid: 1000,
    readTable: () => Promise.resolve(tables.shift()!),
  });
  assert.deepEqual(second, { kind: "same" });
});

Deno.test("checkPeer() does not check on macOS and Windows, which have no such table", async () => {
  for (const os of ["darwin", "windows"] as const) {
    const check = await checkPeer(peer, server.port, {
      os,
      readTable: () => Promise.reject(new Error("not read")),
    });
    assert.deepEqual(check, { kind: "unchecked" });
  }
});

Deno.test("sharedTableReader() runs one read at a time, each started after its callers asked", async () => {
  const started: Array<PromiseWithResolvers<string>> = [];
  const read = sharedTableReader(() => {
    started.push(Promise.withResolvers<string>());
    return started.at(-1)!.promise;
  });
  const first = read();
  // Asked while the first read runs: these share one read that starts once it is done.
  const waiting = Array.from({ length: 20 }, () => read());
  assert.equal(started.length, 1, "one read at a time");
  started[0].resolve("table 1");
  assert.equal(await first, "table 1");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(started.length, 2, "the second read started after the first ended");
  const late = read(); // asked while the second runs: gets a third
  started[1].resolve("table 2");
  assert.deepEqual(new Set(await Promise.all(waiting)), new Set(["table 2"]));
  await new Promise((resolve) => setTimeout(resolve, 0));
  started[2].reject(new Error("cat failed"));
  await assert.rejects(late, /cat failed/);
  // A failed read does not stop the next.
  const again = read();
  started[3].resolve("table 4");
  assert.equal(await again, "table 4");
  assert.equal(started.length, 4);
});

Deno.test("checkPeer() finds this user behind each of many connections checked at once", {
  ignore: !linux,
}, async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const clients: Deno.TcpConn[] = [];
  const accepted: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 30; i++) {
      clients.push(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
      accepted.push(await listener.accept());
    }
    const checks = await Promise.all(
      accepted.map((conn) => checkPeer(conn.remoteAddr as Deno.NetAddr, listener.addr.port)),
    );
    assert.deepEqual(checks, accepted.map(() => ({ kind: "same" })));
  } finally {
    for (const conn of [...clients, ...accepted]) conn.close();
  }
});
