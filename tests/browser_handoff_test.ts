// The one-time loopback link that hands the console's sign-in URL to the browser: what each
// request gets (and, on Linux, only from this user), that a client slow with its headers is cut off
// without keeping the browser out, and that stopping it never waits on a client.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type PeerRefusal, serveHandoff } from "../lib/delivery/browser_handoff.ts";
import { checkPeer, type PeerCheck } from "../lib/delivery/loopback_peer.ts";
import { canRun } from "./support/system_tool.ts";
import { OTHER_UIDS, OTHER_USERS_SKIP, runAs } from "./support/users.ts";
import { readUntilClosed } from "./support/raw_conn.ts";

const TARGET = "https://signin.example/federation?Action=login&SigninToken=SECRET";

/** Sends one raw HTTP/1.1 request and returns the status code and the whole answer. */
async function raw(url: URL, head: string): Promise<{ status: number; text: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(url.port) });
  try {
    await conn.write(new TextEncoder().encode(`${head}\r\nConnection: close\r\n\r\n`));
    let text = "";
    const buffer = new Uint8Array(4096);
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    return { status: Number(text.split(" ")[1]), text };
  } finally {
    conn.close();
  }
}

async function get(url: string | URL): Promise<Response> {
  const response = await fetch(url, { redirect: "manual" });
  await response.body?.cancel();
  return response;
}

Deno.test("serveHandoff() redirects the first GET once, uncached and unreferred", async () => {
  let reused = 0;
  await using link = await serveHandoff(TARGET, { onReuse: () => reused++ });
  const url = new URL(link.url);
  assert.equal(url.hostname, "127.0.0.1");
  assert.match(url.pathname, /^\/[A-Za-z0-9_-]{43}$/);
  const first = await get(url);
  assert.equal(first.status, 302);
  assert.equal(first.headers.get("location"), TARGET);
  assert.equal(first.headers.get("cache-control"), "no-store");
  assert.equal(first.headers.get("referrer-policy"), "no-referrer");
  await link.followed;
  for (const _ of [1, 2]) {
    const again = await fetch(url, { redirect: "manual" });
    assert.equal(again.status, 410);
    assert.equal(again.headers.get("location"), null);
    assert.ok(!(await again.text()).includes("SECRET"));
  }
  assert.equal(reused, 1, "warned once");
});

Deno.test("serveHandoff() refuses everything but a GET of its path on its own host", async (t) => {
  let reused = 0;
  await using link = await serveHandoff(TARGET, { onReuse: () => reused++ });
  const url = new URL(link.url);
  const port = url.port;
  const sameLength = `/${"A".repeat(url.pathname.length - 1)}`;
  const cases: Array<[string, string]> = [
    ["a wrong path of the same length", `GET ${sameLength} HTTP/1.1\r\nHost: 127.0.0.1:${port}`],
    [
      "a prefix of the path",
      `GET ${url.pathname.slice(0, 20)} HTTP/1.1\r\nHost: 127.0.0.1:${port}`,
    ],
    [
      "another method",
      `POST ${url.pathname} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 0`,
    ],
    ["HEAD", `HEAD ${url.pathname} HTTP/1.1\r\nHost: 127.0.0.1:${port}`],
    [
      "a foreign Host (DNS rebinding)",
      `GET ${url.pathname} HTTP/1.1\r\nHost: evil.example:${port}`,
    ],
    ["a Host without the port", `GET ${url.pathname} HTTP/1.1\r\nHost: 127.0.0.1`],
    ["another port", `GET ${url.pathname} HTTP/1.1\r\nHost: localhost:1`],
  ];
  for (const [name, head] of cases) {
    await t.step(name, async () => {
      const answer = await raw(url, head);
      assert.equal(answer.status, 404, answer.text);
      assert.ok(!answer.text.includes("SECRET"));
    });
  }
  await t.step("none of them used the link: localhost:PORT still gets the redirect", async () => {
    const answer = await raw(url, `GET ${url.pathname} HTTP/1.1\r\nHost: localhost:${port}`);
    assert.equal(answer.status, 302);
    assert.match(answer.text, /\r\nlocation: https:\/\/signin\.example\/federation\?/i);
  });
  assert.equal(reused, 0);
});

Deno.test("serveHandoff() paths differ and stopping closes the port at once", async () => {
  const a = await serveHandoff(TARGET);
  const b = await serveHandoff(TARGET);
  assert.notEqual(new URL(a.url).pathname, new URL(b.url).pathname);
  await a.close();
  await b.close();
  await b.close();
  await assert.rejects(fetch(a.url));
});

Deno.test("serveHandoff() stops within a second while a client holds a request open", async () => {
  const link = await serveHandoff(TARGET);
  const url = new URL(link.url);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(url.port) });
  try {
    // A body announced and never sent: the request stays in flight.
    await conn.write(
      new TextEncoder().encode(
        `POST /x HTTP/1.1\r\nHost: ${url.host}\r\nContent-Length: 100\r\n\r\nab`,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const start = Date.now();
    await link.close();
    assert.ok(Date.now() - start < 1500, `stopped after ${Date.now() - start} ms`);
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: Number(url.port) }));
  } finally {
    conn.close();
  }
});

Deno.test("serveHandoff() closes a connection that never sends its headers, and the browser still gets the link meanwhile", async () => {
  let reused = 0;
  await using link = await serveHandoff(TARGET, {
    onReuse: () => reused++,
    limits: { headersTimeoutMs: 500 },
  });
  const url = new URL(link.url);
  const connect = () => Deno.connect({ hostname: "127.0.0.1", port: Number(url.port) });
  // One connection that sends nothing, one that asks for the link and never ends its headers.
  const [silent, trickling] = await Promise.all([connect(), connect()]);
  const started = performance.now();
  await trickling.write(
    new TextEncoder().encode(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n`),
  );
  const held = [readUntilClosed(silent, 5000), readUntilClosed(trickling, 5000)];
  // While both are open, the browser's request gets the redirect at once.
  const browser = await get(url);
  assert.equal(browser.status, 302);
  assert.equal(browser.headers.get("location"), TARGET);
  assert.ok(performance.now() - started < 400, `${Math.round(performance.now() - started)} ms`);
  await link.followed;
  const [nothing, half] = await Promise.all(held);
  const elapsed = performance.now() - started;
  assert.match(nothing ?? "held open", /^HTTP\/1\.1 408 /);
  assert.match(half ?? "held open", /^HTTP\/1\.1 408 /);
  assert.ok(!half?.includes("SECRET"), half);
  assert.ok(elapsed < 3000, `${Math.round(elapsed)} ms`);
  assert.equal(reused, 0, "the half request never counted as a second visit");
});

Deno.test("serveHandoff() stops within a second while a request waits on the owner check", async () => {
  const asked = Promise.withResolvers<void>();
  const link = await serveHandoff(TARGET, {
    // A socket table that never comes: the request waits on it.
    checkPeer: () => {
      asked.resolve();
      return new Promise<PeerCheck>(() => {});
    },
  });
  const waiting = fetch(link.url, { redirect: "manual" }).then(
    (response) => response.status,
    () => "closed",
  );
  await asked.promise;
  const start = Date.now();
  await link.close();
  assert.ok(Date.now() - start < 1500, `stopped after ${Date.now() - start} ms`);
  assert.equal(await waiting, "closed");
});

Deno.test("serveHandoff() checks that the request comes from its own user, then redirects it", async () => {
  const checks: PeerCheck[] = [];
  const refusals: PeerRefusal[] = [];
  await using link = await serveHandoff(TARGET, {
    onRefused: (refusal) => refusals.push(refusal),
    // The real check, watched: it ran, and found this user.
    checkPeer: async (peer, port) => {
      const check = await checkPeer(peer, port);
      checks.push(check);
      return check;
    },
  });
  const first = await get(link.url);
  assert.equal(first.status, 302);
  assert.equal(first.headers.get("location"), TARGET);
  await link.followed;
  assert.deepEqual(checks, [{ kind: Deno.build.os === "linux" ? "same" : "unchecked" }]);
  assert.deepEqual(refusals, []);
});

Deno.test("serveHandoff() refuses a request whose user cannot be checked, keeping the link", async () => {
  const refusals: PeerRefusal[] = [];
  let unreadable = true;
  await using link = await serveHandoff(TARGET, {
    onRefused: (refusal) => refusals.push(refusal),
    // As if /proc/net/tcp could not be read (a sandbox without /proc), then as it is.
    checkPeer: (peer, port) =>
      unreadable
        ? checkPeer(peer, port, {
          os: "linux",
          readTable: () => Promise.reject(new Deno.errors.PermissionDenied("no /proc")),
        })
        : Promise.resolve({ kind: "same" }),
  });
  for (const _ of [1, 2]) {
    const refused = await fetch(link.url, { redirect: "manual" });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get("location"), null);
    assert.ok(!(await refused.text()).includes("SECRET"));
  }
  assert.deepEqual(refusals, [{
    kind: "unknown",
    reason: "/proc/net/tcp cannot be read (PermissionDenied)",
  }], "told once");
  unreadable = false;
  const first = await get(link.url);
  assert.equal(first.status, 302, "the refusals did not use the link");
});

/** `curl` run as `uid`: the status, the Location header and the whole answer. */
async function curlAs(uid: number, url: string) {
  const out = await runAs(uid, "curl", ["-s", "--noproxy", "*", "--max-time", "5", "-D", "-", url]);
  assert.equal(out.code, 0, out.stderr);
  const status = Number(out.stdout.split(" ")[1]);
  const location = /^location: (.*)\r$/im.exec(out.stdout)?.[1];
  return { status, location, text: out.stdout };
}

const curlSkip = OTHER_USERS_SKIP ?? (await canRun("curl") ? undefined : "curl is not installed");

Deno.test({
  name: `serveHandoff() gives other users a 403 without the URL and keeps the link for its own${
    curlSkip ? ` (ignored: ${curlSkip})` : ""
  }`,
  ignore: curlSkip !== undefined,
  fn: async () => {
    const refusals: PeerRefusal[] = [];
    await using link = await serveHandoff(TARGET, {
      onRefused: (refusal) => refusals.push(refusal),
    });
    for (const uid of [...OTHER_UIDS, OTHER_UIDS[0]]) {
      const other = await curlAs(uid, link.url);
      assert.equal(other.status, 403, other.text);
      assert.equal(other.location, undefined);
      assert.ok(!other.text.includes("SECRET"), other.text);
    }
    assert.deepEqual(refusals, OTHER_UIDS.map((uid) => ({ kind: "other", uid })), "once per user");
    // The owner (this process's user) still gets the one redirect.
    const owner = await curlAs(Deno.uid()!, link.url);
    assert.equal(owner.status, 302, owner.text);
    assert.equal(owner.location, TARGET);
    await link.followed;
  },
});

/**
 * A program that serves a one-time link with this checkout's handoff and prints the link, then
 * each refusal as a JSON line on stderr, and exits once the link was followed.
 */
const HANDOFF_PROGRAM = `import { serveHandoff } from "./browser_handoff.ts";
const link = await serveHandoff("${TARGET}", {
  onRefused: (refusal) => console.error(JSON.stringify(refusal)),
});
console.log(link.url);
await link.followed;
await link.close();
`;

Deno.test({
  name: `serveHandoff() run by one user refuses every other user, root included${
    curlSkip ? ` (ignored: ${curlSkip})` : ""
  }`,
  ignore: curlSkip !== undefined,
  fn: async () => {
    const [other, owner] = OTHER_UIDS;
    // A directory the owner (not root) can read: the three modules and the program, and its own
    // Deno cache.
    const dir = await Deno.makeTempDir({ prefix: "tbi-handoff-" });
    try {
      await Deno.chmod(dir, 0o755);
      for (const file of ["browser_handoff.ts", "loopback_peer.ts", "loopback_server.ts"]) {
        const source = fileURLToPath(new URL(`../lib/delivery/${file}`, import.meta.url));
        await Deno.copyFile(source, `${dir}/${file}`);
        await Deno.chmod(`${dir}/${file}`, 0o644);
      }
      await Deno.writeTextFile(`${dir}/serve.ts`, HANDOFF_PROGRAM, { mode: 0o644 });
      await Deno.mkdir(`${dir}/deno`);
      await Deno.chown(`${dir}/deno`, owner, owner);
      const child = new Deno.Command("setpriv", {
        args: [
          `--reuid=${owner}`,
          `--regid=${owner}`,
          "--clear-groups",
          "--",
          Deno.execPath(),
          "run",
          "--no-config",
          "--no-lock",
          "--no-prompt",
          "--allow-net=127.0.0.1",
          "--allow-run",
          "--allow-sys=uid",
          `${dir}/serve.ts`,
        ],
        cwd: dir,
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin", HOME: dir, DENO_DIR: `${dir}/deno`, NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      try {
        const { value: url = "" } = await lines.read();
        assert.match(url.trim(), /^http:\/\/127\.0\.0\.1:\d+\//, url);
        for (const uid of [other, Deno.uid()!]) {
          const refused = await curlAs(uid, url.trim());
          assert.equal(refused.status, 403, refused.text);
          assert.ok(!refused.text.includes("SECRET"), refused.text);
        }
        const followed = await curlAs(owner, url.trim());
        assert.equal(followed.status, 302, followed.text);
        assert.equal(followed.location, TARGET);
      } finally {
        await lines.cancel();
        let text = "";
        for (let r = await stderr.read(); !r.done; r = await stderr.read()) text += r.value;
        const status = await child.status;
        assert.equal(status.code, 0, text);
        assert.deepEqual(
          text.trim().split("\n").map((line) => JSON.parse(line)),
          [{ kind: "other", uid: other }, { kind: "other", uid: Deno.uid() }],
          text,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
