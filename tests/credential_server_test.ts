// The renewing credential endpoint in process, with a fake renewal: what a client sees over
// real HTTP on 127.0.0.1, when it renews, and when it stops.
import { formatTime } from "../lib/core/time_text.ts";
import assert from "node:assert/strict";
import type { SessionCredentials } from "../lib/aws/broker.ts";
import {
  type CredentialServer,
  renewalTime,
  startCredentialServer,
} from "../lib/delivery/credential_server.ts";
import { readUntilClosed } from "./support/raw_conn.ts";

let serial = 0;
function credentials(lifetimeMs: number): SessionCredentials {
  serial++;
  return {
    accessKeyId: `ASIATEST${serial}`,
    secretAccessKey: `secret-${serial}`,
    sessionToken: `token-${serial}`,
    expiration: new Date(Date.now() + lifetimeMs),
  };
}

/** Sends a raw HTTP/1.1 request, so the Host header is exactly what the test says. */
async function rawGet(
  port: number,
  options: { path: string; host?: string; token?: string; method?: string },
): Promise<{ status: number; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const lines = [
    `${options.method ?? "GET"} ${options.path} HTTP/1.1`,
    `Host: ${options.host ?? `127.0.0.1:${port}`}`,
    "Connection: close",
  ];
  if (options.token !== undefined) lines.push(`Authorization: ${options.token}`);
  await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(4096);
  while (true) {
    const n = await conn.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
  }
  conn.close();
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  const status = Number(text.split(" ")[1]);
  return { status, body: text.split("\r\n\r\n").slice(1).join("\r\n\r\n") };
}

function parts(server: CredentialServer) {
  const url = new URL(server.env.AWS_CONTAINER_CREDENTIALS_FULL_URI);
  return {
    port: Number(url.port),
    path: url.pathname,
    token: server.env.AWS_CONTAINER_AUTHORIZATION_TOKEN,
  };
}

Deno.test("renewalTime() renews at half the lifetime, at most five minutes early", () => {
  const start = new Date("2030-01-01T00:00:00Z");
  const at = (minutes: number) => new Date(start.getTime() + minutes * 60_000);
  assert.deepEqual(renewalTime(start, at(15)), at(10));
  assert.deepEqual(renewalTime(start, at(60)), at(55));
  assert.deepEqual(renewalTime(start, at(1)), at(0.5));
});

Deno.test("the endpoint serves the container-credentials JSON only to a right request", async () => {
  const first = credentials(3_600_000);
  const server = await startCredentialServer({
    initial: first,
    renew: () => Promise.reject(new Error("not expected")),
    renewUntil: new Date(Date.now() + 3_600_000),
    warn: () => {},
  });
  const { port, path, token } = parts(server);
  try {
    assert.equal(
      server.env.AWS_CONTAINER_CREDENTIALS_FULL_URI.startsWith("http://127.0.0.1:"),
      true,
    );
    assert.match(token, /^[0-9a-f]{64}$/);
    assert.match(path, /^\/[0-9a-f]{32}$/);
    const good = await rawGet(port, { path, token });
    assert.equal(good.status, 200);
    assert.deepEqual(JSON.parse(good.body), {
      AccessKeyId: first.accessKeyId,
      SecretAccessKey: first.secretAccessKey,
      Token: first.sessionToken,
      Expiration: first.expiration.toISOString(),
    });
    const viaLocalhost = await rawGet(port, { path, token, host: `localhost:${port}` });
    assert.equal(viaLocalhost.status, 200);
    const refusals: Array<[string, Parameters<typeof rawGet>[1], number]> = [
      ["no token", { path }, 401],
      [
        "a wrong token",
        { path, token: token.slice(0, -1) + (token.endsWith("0") ? "1" : "0") },
        401,
      ],
      ["a longer token", { path, token: token + "0" }, 401],
      ["another path", { path: "/", token }, 404],
      ["a query string", { path: `${path}?x=1`, token }, 404],
      ["POST", { path, token, method: "POST" }, 404],
      ["a rebinding Host", { path, token, host: `attacker.example:${port}` }, 404],
      ["another port in Host", { path, token, host: `127.0.0.1:${port + 1}` }, 404],
    ];
    for (const [what, request, status] of refusals) {
      const answer = await rawGet(port, request);
      assert.equal(answer.status, status, what);
      assert.ok(!answer.body.includes(first.secretAccessKey), `${what}: secret in the answer`);
    }
  } finally {
    await server.close();
  }
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("the endpoint renews before expiry, and a request never waits on a renewal", async () => {
  const renewed: SessionCredentials[] = [];
  let release = Promise.withResolvers<void>();
  const server = await startCredentialServer({
    initial: credentials(600),
    renew: async () => {
      await release.promise; // the renewal hangs until the test lets it go
      const next = credentials(600);
      renewed.push(next);
      return next;
    },
    renewUntil: new Date(Date.now() + 3_600_000),
    warn: () => {},
  });
  const { port, path, token } = parts(server);
  try {
    const before = server.current;
    // Renewal starts at 300 ms; while it hangs, requests get the current credentials at once.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const during = await rawGet(port, { path, token });
    assert.equal(during.status, 200);
    assert.equal(JSON.parse(during.body).AccessKeyId, before.accessKeyId);
    release.resolve();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(server.renewals, 1);
    const after = await rawGet(port, { path, token });
    assert.equal(JSON.parse(after.body).AccessKeyId, renewed[0].accessKeyId);
    release = Promise.withResolvers<void>();
  } finally {
    await server.close();
    release.resolve();
  }
});

Deno.test("renewing stops at the limit, and a failed renewal is retried with one warning line", async () => {
  const warnings: string[] = [];
  let calls = 0;
  const server = await startCredentialServer({
    initial: credentials(2_000),
    renew: () => {
      calls++;
      if (calls === 1) return Promise.reject(new Error("Throttling: Rate exceeded"));
      return Promise.resolve(credentials(2_000));
    },
    // The first renewal (at 1 s) fails and is retried at 1.5 s, giving credentials until 3.5 s;
    // the next one would be due at 2.5 s and last until 4.5 s, past the limit.
    renewUntil: new Date(Date.now() + 4_000),
    warn: (line) => warnings.push(line),
  });
  const { port, path, token } = parts(server);
  try {
    await new Promise((resolve) => setTimeout(resolve, 3_800));
    assert.equal(calls, 2);
    assert.equal(server.renewals, 1);
    assert.equal(warnings.length, 2, warnings.join("\n"));
    assert.equal(
      warnings[0],
      "could not renew the credentials: Throttling: Rate exceeded; trying again in 1s",
    );
    assert.match(
      warnings[1],
      /^renewing stops: the --refresh limit is reached; the credentials expire at /,
    );
    // Expired and not renewed: nothing is served.
    assert.equal((await rawGet(port, { path, token })).status, 404);
  } finally {
    await server.close();
  }
});

Deno.test("close() answers a client waiting on a hanging renewal with 503 and does not wait on it", async () => {
  // Expired, so that a POST renews (fresh credentials would be served again).
  const first = credentials(-1000);
  const asked = Promise.withResolvers<AbortSignal | undefined>();
  // STS that never answers, until the test lets it go; an aborted call fails as the SDK's does.
  const hangUp = Promise.withResolvers<void>();
  const server = await startCredentialServer({
    initial: first,
    renew: (signal?: AbortSignal) => {
      asked.resolve(signal);
      return new Promise<SessionCredentials>((_, reject) => {
        signal?.addEventListener("abort", () => reject(new Error("Request aborted")));
        hangUp.promise.then(() => reject(new Error("socket hang up")));
      });
    },
    renewUntil: new Date(8.64e15),
    warn: () => {},
    mode: "on-request",
  });
  const { port, path, token } = parts(server);
  const answer = rawGet(port, { path, token, method: "POST" });
  const signal = await asked.promise;
  // Bounds only the old behaviour (close() waiting for the renewal); it is no measure of speed.
  const guard = setTimeout(() => hangUp.resolve(), 10_000);
  const settledFirst = await Promise.race([
    server.close().then(() => "closed"),
    hangUp.promise.then(() => "renewal released"),
  ]);
  clearTimeout(guard);
  hangUp.resolve(); // the renewal fails after the close: nothing unhandled follows
  assert.equal(settledFirst, "closed");
  assert.equal(signal?.aborted, true);
  const { status, body } = await answer;
  assert.equal(status, 503);
  assert.deepEqual(JSON.parse(body), {
    message: "the endpoint has closed: its shell or command has ended",
  });
  assert.equal(server.renewals, 0);
  assert.equal(server.current, first);
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("a renewal retried after a failure does not outlive the --refresh limit", async () => {
  const start = Date.now();
  let clock = start;
  const first: SessionCredentials = {
    accessKeyId: "ASIALIMIT1",
    secretAccessKey: "secret-limit-1",
    sessionToken: "token-limit-1",
    expiration: new Date(start + 200),
  };
  const warnings: string[] = [];
  const outcome = Promise.withResolvers<string>();
  let calls = 0;
  const renewUntil = new Date(start + 300);
  const server = await startCredentialServer({
    initial: first,
    now: () => new Date(clock),
    // Planned at 100 ms, lasting 200 ms: exactly up to the limit. The call hangs for 50 ms and
    // fails, so a retry would give credentials until 150 + 200 ms, past it.
    renew: () => {
      calls++;
      if (calls === 1) {
        clock = start + 150;
        return Promise.reject(new Error("TimeoutError: socket timed out"));
      }
      outcome.resolve("renewed again");
      return Promise.resolve({
        accessKeyId: "ASIALIMIT2",
        secretAccessKey: "secret-limit-2",
        sessionToken: "token-limit-2",
        expiration: new Date(clock + 200),
      });
    },
    renewUntil,
    warn: (line) => {
      warnings.push(line);
      if (line.startsWith("renewing stops")) outcome.resolve("stopped");
    },
  });
  try {
    assert.equal(await outcome.promise, "stopped");
    assert.equal(calls, 1);
    assert.deepEqual(warnings, [
      "could not renew the credentials: TimeoutError: socket timed out; trying again in 1s",
      `renewing stops: the --refresh limit is reached; the credentials expire at ${
        formatTime(first.expiration)
      }`,
    ]);
    assert.equal(server.current, first);
    assert.ok(server.current.expiration <= renewUntil);
  } finally {
    await server.close();
  }
});

Deno.test("credentials that a slow renewal brings past the --refresh limit are not served", async () => {
  const start = Date.now();
  let clock = start;
  const first: SessionCredentials = {
    accessKeyId: "ASIALIMIT3",
    secretAccessKey: "secret-limit-3",
    sessionToken: "token-limit-3",
    expiration: new Date(start + 200),
  };
  const stopped = Promise.withResolvers<string>();
  const server = await startCredentialServer({
    initial: first,
    now: () => new Date(clock),
    // Planned at 100 ms, lasting 200 ms: up to the limit, if the call took no time. It takes 20.
    renew: () => {
      clock = start + 120;
      return Promise.resolve({
        accessKeyId: "ASIALIMIT4",
        secretAccessKey: "secret-limit-4",
        sessionToken: "token-limit-4",
        expiration: new Date(start + 320),
      });
    },
    renewUntil: new Date(start + 300),
    warn: (line) => stopped.resolve(line),
  });
  try {
    assert.equal(
      await stopped.promise,
      `renewing stops: the --refresh limit is reached; the credentials expire at ${
        formatTime(first.expiration)
      }`,
    );
    assert.equal(server.current, first);
    assert.equal(server.renewals, 0);
  } finally {
    await server.close();
  }
});

Deno.test("on-request: fresh credentials are served again, and more than 3 renewals a minute are refused", async (t) => {
  let time = Date.parse("2030-01-01T00:00:00Z");
  let lifetimeMs = 15 * 60_000;
  let renewed = 0;
  const issue = (): SessionCredentials => ({
    accessKeyId: `ASIACLOCK${++serial}`,
    secretAccessKey: `secret-${serial}`,
    sessionToken: `token-${serial}`,
    expiration: new Date(time + lifetimeMs),
  });
  const server = await startCredentialServer({
    initial: issue(),
    renew: () => {
      renewed++;
      return Promise.resolve(issue());
    },
    renewUntil: new Date(8.64e15),
    warn: () => {},
    now: () => new Date(time),
    mode: "on-request",
  });
  const { port, path, token } = parts(server);
  const post = async () => {
    const { status, body } = await rawGet(port, { path, token, method: "POST" });
    return { status, body: JSON.parse(body) };
  };
  try {
    await t.step(
      "50 POSTs within the first minute: the first credentials, no renewal",
      async () => {
        for (let i = 0; i < 50; i++) {
          time += 1000;
          const { status, body } = await post();
          assert.equal(status, 200);
          assert.equal(body.Renewed, false);
        }
        assert.equal(renewed, 0);
      },
    );
    await t.step("a minute after a renewal, one POST renews; the next ones get it", async () => {
      time += 11_000;
      const first = await post();
      assert.equal(first.body.Renewed, true);
      for (let i = 0; i < 49; i++) assert.equal((await post()).body.Renewed, false);
      assert.equal(renewed, 1);
    });
    await t.step("expired credentials renew, but not more than 3 times a minute", async () => {
      lifetimeMs = 1000;
      time += 61_000;
      const answers = [];
      for (let i = 0; i < 4; i++) {
        time += 2000; // the last credentials have expired
        answers.push(await post());
      }
      assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 429]);
      assert.deepEqual(answers[3].body, {
        message: "too many renewals: at most 3 a minute; try again in 54s",
      });
      assert.equal(renewed, 4);
      time += 54_000;
      assert.equal((await post()).status, 200);
    });
  } finally {
    await server.close();
  }
});

Deno.test("a client that trickles its headers (slowloris) gets 408 and its connection closed; one past the cap is closed at once", async () => {
  const server = await startCredentialServer({
    initial: credentials(3_600_000),
    renew: () => Promise.reject(new Error("not expected")),
    renewUntil: new Date(Date.now() + 3_600_000),
    warn: () => {},
    limits: { headersTimeoutMs: 500, maxConnections: 3 },
  });
  try {
    const { port, path, token } = parts(server);
    // Two connections that send half a request and then nothing, one that sends nothing.
    const slow = await Promise.all(
      [0, 1, 2].map(() => Deno.connect({ hostname: "127.0.0.1", port })),
    );
    const started = performance.now();
    for (const conn of slow.slice(0, 2)) {
      await conn.write(
        new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`),
      );
    }
    // The cap is reached: a fourth connection, even with a whole request, is closed unanswered.
    const extra = await Deno.connect({ hostname: "127.0.0.1", port });
    await extra.write(
      new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`),
    );
    assert.equal(await readUntilClosed(extra, 3000), "");
    const answers = await Promise.all(slow.map((conn) => readUntilClosed(conn, 5000)));
    const elapsed = performance.now() - started;
    for (const answer of answers.slice(0, 2)) {
      assert.match(answer ?? "held open", /^HTTP\/1\.1 408 /);
    }
    assert.notEqual(answers[2], undefined, "the silent connection is closed too");
    assert.ok(elapsed < 3000, `${Math.round(elapsed)} ms`);
    // The slots are free again: a right request is answered.
    let ok = await rawGet(port, { path, token });
    for (let i = 0; i < 10 && ok.status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100)); // the closed ones are counted out
      ok = await rawGet(port, { path, token });
    }
    assert.equal(ok.status, 200);
  } finally {
    await server.close();
  }
});
