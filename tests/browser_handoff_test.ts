// The one-time loopback link that hands the console's sign-in URL to the browser: what each
// request gets, and that stopping it never waits on a client.
import assert from "node:assert/strict";
import { serveHandoff } from "../lib/delivery/browser_handoff.ts";

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
  await using link = serveHandoff(TARGET, { onReuse: () => reused++ });
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
  await using link = serveHandoff(TARGET, { onReuse: () => reused++ });
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
  const a = serveHandoff(TARGET);
  const b = serveHandoff(TARGET);
  assert.notEqual(new URL(a.url).pathname, new URL(b.url).pathname);
  await a.close();
  await b.close();
  await b.close();
  await assert.rejects(fetch(a.url));
});

Deno.test("serveHandoff() stops within a second while a client holds a request open", async () => {
  const link = serveHandoff(TARGET);
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
