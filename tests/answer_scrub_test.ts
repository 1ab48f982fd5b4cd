// What the signing proxy hands back when AWS's answer carries the real session: an endpoint in
// process answers as the test says, with the real token, key id and secret in any form it likes,
// and the client (signing with the stand-ins) must never read them, only the stand-ins.
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { startSigningProxy } from "../lib/delivery/signing_proxy.ts";
import { signedCall } from "./support/signed_call.ts";
import { uriEncode } from "./support/sigv4.ts";

/** The real session: a token and a secret with the characters that each encoding changes. */
const REAL = {
  accessKeyId: "ASIAREALKEY000000000",
  secretAccessKey: "real/secret+key=Abc",
  sessionToken: "IQoJb3JpZ2luX2VjE/real+session/token==",
};

type Secrets = typeof REAL;

/** Each way an answer can spell a secret: as is, percent-encoded, JSON-escaped, hex bytes. */
function forms(text: string): Record<string, string> {
  const hex = Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0"))
    .join(" ");
  return {
    text,
    percent: uriEncode(text),
    "percent, lower case": uriEncode(text).replace(/%[0-9A-F]{2}/g, (s) => s.toLowerCase()),
    "JSON-escaped": text.replaceAll("/", "\\/"),
    hex,
    "hex, upper case": hex.toUpperCase(),
  };
}

/** Every form of every secret in `secrets`, one a line, for a body that echoes them all. */
function echo(secrets: Secrets): string {
  return Object.entries(secrets).flatMap(([part, value]) =>
    Object.entries(forms(value)).map(([form, spelled]) => `${part} ${form}: ${spelled}\n`)
  ).join("");
}

/**
 * A local endpoint answering each path as `answers` says, and a proxy with one grant of REAL in
 * front of it; `call` sends a request signed with the stand-ins.
 */
async function scrubRig(answers: Record<string, () => Response>) {
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const answer = answers[new URL(request.url).pathname];
    return answer ? answer() : new Response("no such path", { status: 500 });
  });
  const proxy = await startSigningProxy({
    env: { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${upstream.addr.port}` },
  });
  const grant = proxy.addGrant({
    session: () => ({ ...REAL, expiration: new Date(Date.now() + 3600_000) }),
  });
  return {
    standIn: grant.standIn,
    call: (path: string, method = "GET") =>
      signedCall(proxy, grant.standIn, { method, path, service: "s3" }),
    async [Symbol.asyncDispose]() {
      await proxy.close();
      await upstream.shutdown();
    },
  };
}

/**
 * Asserts that no form of a real secret is in `text`, and every form of its stand-in is (the
 * percent-encoded and hex ones in either case: the stand-in's are spelled in one).
 */
function assertSwapped(text: string, standIn: Secrets): void {
  for (const part of Object.keys(REAL) as Array<keyof Secrets>) {
    const real = forms(REAL[part]);
    const fake = forms(standIn[part]);
    for (const form of Object.keys(real)) {
      assert.ok(!text.includes(real[form]), `the real ${part} (${form}) reached the client`);
      const line = `${part} ${form}: ${fake[form]}\n`;
      const found = /percent|hex/.test(form)
        ? text.toLowerCase().includes(line.toLowerCase())
        : text.includes(line);
      assert.ok(found, `no stand-in ${part} (${form})`);
    }
  }
}

Deno.test("an error answer gets the stand-ins for every form of the token, key id and secret", async () => {
  await using rig = await scrubRig({
    "/b/denied": () =>
      new Response(echo(REAL), {
        status: 403,
        headers: { "x-amz-echo": `${REAL.sessionToken} ${uriEncode(REAL.secretAccessKey)}` },
      }),
  });
  const response = await rig.call("/b/denied");
  assert.equal(response.status, 403);
  assertSwapped(await response.text(), rig.standIn);
  assert.equal(
    response.headers.get("x-amz-echo"),
    `${rig.standIn.sessionToken} ${uriEncode(rig.standIn.secretAccessKey)}`,
  );
});

Deno.test("any answer from 300 up is checked; a success streams through as the endpoint sent it", async (t) => {
  await using rig = await scrubRig({
    "/b/choices": () => new Response(echo(REAL), { status: 300 }),
    "/b/object": () => new Response(`an object that says ${REAL.sessionToken}`, { status: 200 }),
  });
  await t.step("300: scrubbed", async () => {
    const response = await rig.call("/b/choices");
    assert.equal(response.status, 300);
    assertSwapped(await response.text(), rig.standIn);
  });
  await t.step("200: the object's own bytes", async () => {
    const response = await rig.call("/b/object");
    assert.equal(response.status, 200);
    assert.equal(await response.text(), `an object that says ${REAL.sessionToken}`);
  });
});

Deno.test("the scrubbed error body arrives whole, every byte but the secrets as sent", async (t) => {
  // Past the first 8 KiB, with bytes that are not ASCII (nor valid UTF-8) on either side.
  const before = new Uint8Array([0xc3, 0xa9, 0xff, 0x00, 0x80]);
  const filler = "x".repeat(20_000);
  const body = (token: string) =>
    new Uint8Array([
      ...before,
      ...new TextEncoder().encode(`${filler}<Token>${token}</Token>${filler}`),
      ...before,
    ]);
  await using rig = await scrubRig({
    // The endpoint says how long its body is; the proxy's answer is longer (the stand-in is).
    "/b/long": () =>
      new Response(body(REAL.sessionToken), {
        status: 403,
        headers: { "content-length": String(body(REAL.sessionToken).length) },
      }),
    "/b/empty": () => new Response(null, { status: 404 }),
  });
  await t.step("a long body with the token after 8 KiB", async () => {
    const response = await rig.call("/b/long");
    assert.equal(response.status, 403);
    assert.deepEqual(
      new Uint8Array(await response.arrayBuffer()),
      body(rig.standIn.sessionToken),
    );
  });
  await t.step("an empty error body stays empty", async () => {
    const response = await rig.call("/b/empty");
    assert.equal(response.status, 404);
    assert.equal(await response.text(), "");
  });
});

Deno.test("an error body is read up to 1 MiB: one byte more and it is refused, not passed on", async (t) => {
  const MiB = 1024 * 1024;
  const padded = (size: number) => {
    const text = `<Error><Token>${REAL.sessionToken}</Token></Error>`;
    return text + " ".repeat(size - text.length);
  };
  await using rig = await scrubRig({
    "/b/at-bound": () => new Response(padded(MiB), { status: 403 }),
    "/b/past-bound": () => new Response(padded(MiB + 1), { status: 403 }),
  });
  await t.step("exactly 1 MiB: scrubbed and passed on", async () => {
    const response = await rig.call("/b/at-bound");
    const text = await response.text();
    assert.equal(response.status, 403);
    assert.equal(text, padded(MiB).replace(REAL.sessionToken, rig.standIn.sessionToken));
  });
  await t.step("1 MiB and a byte: 502, and none of it", async () => {
    const response = await rig.call("/b/past-bound");
    const text = await response.text();
    assert.equal(response.status, 502);
    assert.match(
      text,
      /<Code>ServiceUnavailable<\/Code><Message>The endpoint's error answer is larger than the proxy checks<\/Message>/,
    );
    assert.ok(!text.includes(REAL.sessionToken));
  });
});

Deno.test("an error answer's content-encoding decides: identity in any spelling is checked, others refused", async (t) => {
  const token = `<Token>${REAL.sessionToken}</Token>`;
  const encoded = (encoding: string) => () =>
    new Response(token, { status: 403, headers: { "content-encoding": encoding } });
  await using rig = await scrubRig({
    "/b/identity": encoded(" Identity "),
    "/b/empty": encoded(""),
    "/b/gzip": () =>
      new Response(new Uint8Array(gzipSync(token)), {
        status: 403,
        headers: { "content-encoding": "GZip" },
      }),
    "/b/long-name": encoded(`x-${"a".repeat(100)}`),
  });
  for (const path of ["/b/identity", "/b/empty"]) {
    await t.step(`${path.slice(3)}: scrubbed and passed on`, async () => {
      const response = await rig.call(path);
      assert.equal(response.status, 403);
      assert.equal(await response.text(), `<Token>${rig.standIn.sessionToken}</Token>`);
    });
  }
  await t.step("gzip: 502, saying so", async () => {
    const response = await rig.call("/b/gzip");
    assert.equal(response.status, 502);
    assert.match(
      await response.text(),
      /<Message>The endpoint's error answer is encoded &#34;gzip&#34;<\/Message>/,
    );
  });
  await t.step("an encoding's name is cut at 40 characters in the message", async () => {
    const response = await rig.call("/b/long-name");
    assert.equal(response.status, 502);
    const message = /<Message>([^<]*)<\/Message>/.exec(await response.text())?.[1];
    assert.equal(message, `The endpoint's error answer is encoded &#34;x-${"a".repeat(38)}&#34;`);
  });
});

Deno.test("answers without a body (HEAD, 204, 304) pass on as they are, headers scrubbed", async (t) => {
  // An object stored gzip-compressed: its headers say so even where no body follows.
  const headers = { "content-encoding": "gzip", "x-amz-echo": REAL.sessionToken };
  await using rig = await scrubRig({
    "/b/head-denied": () => new Response(null, { status: 403, headers }),
    "/b/no-content": () => new Response(null, { status: 204, headers }),
    "/b/not-modified": () => new Response(null, { status: 304, headers }),
  });
  for (
    const [path, method, status] of [
      ["/b/head-denied", "HEAD", 403],
      ["/b/no-content", "DELETE", 204],
      ["/b/not-modified", "GET", 304],
    ] as const
  ) {
    await t.step(`${method} ${status}`, async () => {
      const response = await rig.call(path, method);
      await response.body?.cancel();
      assert.equal(response.status, status);
      assert.equal(response.headers.get("content-encoding"), "gzip");
      assert.equal(response.headers.get("x-amz-echo"), rig.standIn.sessionToken);
    });
  }
});
