// The signing proxy's aws-chunked re-signing: each chunk the client signed with the stand-in key
// is checked, then framed again with the real session's signatures, so that S3 (here the local
// endpoint's decoder, which checks as S3 does) accepts the body and gets the client's bytes.
// Held to AWS's documented streaming example; a chunk that does not verify never passes on.
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import {
  ChunkError,
  type ChunkSigner,
  MAX_CHUNK_BYTES,
  resignChunks,
  SIGNED_CHUNKS,
  SIGNED_CHUNKS_TRAILER,
} from "../lib/delivery/aws_chunked.ts";
import { EMPTY_SHA256, sha256Hex, signingKey, type SigV4Scope } from "../lib/core/sigv4.ts";
import { decodeAwsChunked } from "./support/aws_chunked.ts";
import { AwsError } from "./support/aws_error.ts";

const encoder = new TextEncoder();

// AWS's documented example (S3 PUT Object with signed chunks): 65 KiB of "a" in a 64 KiB chunk
// and a 1 KiB chunk, seeded by the request's signature.
const AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const AWS_SCOPE: SigV4Scope = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  date: "20130524",
  region: "us-east-1",
  service: "s3",
};
const AWS_SIGNER: ChunkSigner = {
  key: signingKey(AWS_SECRET, AWS_SCOPE),
  scope: AWS_SCOPE,
  amzDate: "20130524T000000Z",
  seed: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
};
const AWS_CHUNK_SIGNATURES = [
  "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
  "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
  "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
];

const REAL_SECRET = "real/session/secret/0000000000000000000000";
const REAL_SCOPE: SigV4Scope = { ...AWS_SCOPE, accessKeyId: "ASIAREALSESSION00000" };
const REAL_SIGNER: ChunkSigner = {
  key: signingKey(REAL_SECRET, REAL_SCOPE),
  scope: REAL_SCOPE,
  amzDate: AWS_SIGNER.amzDate,
  seed: "1".repeat(64),
};

/** The chain of chunk signatures, computed here from AWS's description, not from the module. */
function chain(secret: string, signer: ChunkSigner, chunks: Uint8Array[]): string[] {
  const key = signingKey(secret, signer.scope);
  const scope = `${signer.scope.date}/${signer.scope.region}/${signer.scope.service}/aws4_request`;
  let previous = signer.seed;
  return chunks.map((chunk) => {
    const toSign = [
      "AWS4-HMAC-SHA256-PAYLOAD",
      signer.amzDate,
      scope,
      previous,
      EMPTY_SHA256,
      sha256Hex(chunk),
    ]
      .join("\n");
    previous = createHmac("sha256", key).update(toSign).digest("hex");
    return previous;
  });
}

function trailerSignature(secret: string, signer: ChunkSigner, previous: string, trailer: string) {
  const scope = `${signer.scope.date}/${signer.scope.region}/${signer.scope.service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256-TRAILER", signer.amzDate, scope, previous, sha256Hex(trailer)]
    .join("\n");
  return createHmac("sha256", signingKey(secret, signer.scope)).update(toSign).digest("hex");
}

/** A signed aws-chunked body as an SDK frames it (the final empty chunk included). */
function frame(
  chunks: Uint8Array[],
  options: { secret?: string; signer?: ChunkSigner; trailer?: string[] } = {},
): Uint8Array {
  const signer = options.signer ?? AWS_SIGNER;
  const all = [...chunks, new Uint8Array()];
  const signatures = chain(options.secret ?? AWS_SECRET, signer, all);
  const parts: Uint8Array[] = [];
  all.forEach((chunk, i) => {
    parts.push(encoder.encode(`${chunk.length.toString(16)};chunk-signature=${signatures[i]}\r\n`));
    if (chunk.length > 0) parts.push(chunk, encoder.encode("\r\n"));
  });
  if (options.trailer === undefined) parts.push(encoder.encode("\r\n"));
  else {
    const canonical = options.trailer.map((line) => `${line}\n`).join("");
    const signature = trailerSignature(
      options.secret ?? AWS_SECRET,
      signer,
      signatures[signatures.length - 1],
      canonical,
    );
    const lines = [...options.trailer, `x-amz-trailer-signature:${signature}`, ""];
    parts.push(encoder.encode(lines.map((line) => `${line}\r\n`).join("")));
  }
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A stream of `body`, in pieces of `size` bytes (1 = byte by byte). */
function streamOf(body: Uint8Array, size = body.length || 1): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= body.length) return controller.close();
      controller.enqueue(body.slice(offset, offset + size));
      offset += size;
    },
  });
}

/** Re-signs `body`, collecting what passed on before the stream ended or failed. */
async function resign(
  body: Uint8Array,
  options: { trailer?: boolean; to?: ChunkSigner; pieces?: number } = {},
): Promise<{ out: Uint8Array; error?: ChunkError }> {
  const stream = resignChunks(streamOf(body, options.pieces), {
    from: AWS_SIGNER,
    to: options.to ?? REAL_SIGNER,
    trailer: options.trailer ?? false,
  });
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { out: concat(parts) };
      parts.push(value);
    }
  } catch (error) {
    assert.ok(error instanceof ChunkError, String(error));
    return { out: concat(parts), error };
  }
}

/** What S3 decodes from a body signed by the real session. */
function s3Decodes(body: Uint8Array, mode: string, headers: Record<string, string> = {}) {
  return decodeAwsChunked(
    body,
    new Headers({ "x-amz-content-sha256": mode, ...headers }),
    {
      auth: { ...REAL_SCOPE, signedHeaders: ["host"], signature: REAL_SIGNER.seed },
      amzDate: REAL_SIGNER.amzDate,
      secretAccessKey: REAL_SECRET,
    },
  );
}

const A64K = new Uint8Array(65536).fill(0x61);
const A1K = new Uint8Array(1024).fill(0x61);
const text = (s: string) => encoder.encode(s);

Deno.test("the aws-chunked names and bounds are S3's", () => {
  assert.equal(SIGNED_CHUNKS, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
  assert.equal(SIGNED_CHUNKS_TRAILER, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER");
  assert.equal(MAX_CHUNK_BYTES, 16 * 1024 * 1024);
  assert.equal(EMPTY_SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});

Deno.test("AWS's streaming example: the chunk signatures are AWS's, and re-signing keeps every byte", async () => {
  assert.deepEqual(
    chain(AWS_SECRET, AWS_SIGNER, [A64K, A1K, new Uint8Array()]),
    AWS_CHUNK_SIGNATURES,
  );
  const body = frame([A64K, A1K]);
  const same = await resign(body, { to: AWS_SIGNER });
  assert.equal(same.error, undefined);
  assert.deepEqual(same.out, body);
});

Deno.test("a body re-signed with the real session is what S3 accepts, at the same length", async (t) => {
  for (const pieces of [undefined, 1, 7, 4096]) {
    await t.step(`arriving in pieces of ${pieces ?? "all"} bytes`, async () => {
      // Byte by byte, a smaller body: the framing is what is tested, not the throughput.
      const chunks = pieces === 1
        ? [A1K, text("hello\r\nworld\n"), text("z")]
        : [A64K, text("hello\r\nworld\n"), A1K];
      const body = frame(chunks);
      const { out, error } = await resign(body, { pieces });
      assert.equal(error, undefined);
      assert.equal(out.length, body.length);
      assert.notDeepEqual(out, body);
      const length = String(chunks.reduce((n, c) => n + c.length, 0));
      const decoded = s3Decodes(out, SIGNED_CHUNKS, { "x-amz-decoded-content-length": length });
      assert.deepEqual(decoded, concat(chunks));
    });
  }
  await t.step("an empty body (the final chunk only)", async () => {
    const { out, error } = await resign(frame([]));
    assert.equal(error, undefined);
    assert.deepEqual(s3Decodes(out, SIGNED_CHUNKS), new Uint8Array());
  });
  await t.step("a chunk size in upper-case hex is kept as sent", async () => {
    const chunk = new Uint8Array(0xab).fill(7);
    const body = frame([chunk]);
    const upper = text(new TextDecoder().decode(body).replace(/^ab;/, "AB;"));
    const { out, error } = await resign(upper);
    assert.equal(error, undefined);
    assert.match(new TextDecoder().decode(out.subarray(0, 3)), /^AB;/);
    assert.deepEqual(s3Decodes(out, SIGNED_CHUNKS), chunk);
  });
});

Deno.test("a signed trailer is checked and signed again", async (t) => {
  await t.step("S3 accepts the re-signed trailer", async () => {
    const data = text("trailer test");
    const sum = createHash("sha256").update(data).digest("base64");
    const trailer = [`x-amz-checksum-sha256:${sum}`];
    const { out, error } = await resign(frame([data], { trailer }), { trailer: true });
    assert.equal(error, undefined);
    const text_ = new TextDecoder().decode(out);
    assert.match(
      text_,
      /\r\nx-amz-checksum-sha256:[^\r\n]+\r\nx-amz-trailer-signature:[0-9a-f]{64}\r\n\r\n$/,
    );
    assert.deepEqual(
      s3Decodes(out, SIGNED_CHUNKS_TRAILER, { "x-amz-trailer": "x-amz-checksum-sha256" }),
      data,
    );
  });
  await t.step("two trailer lines", async () => {
    const lines = ["x-amz-meta-a:1", "x-amz-meta-b:2"];
    const { out, error } = await resign(frame([text("x")], { trailer: lines }), { trailer: true });
    assert.equal(error, undefined);
    assert.match(new TextDecoder().decode(out), /\r\nx-amz-meta-a:1\r\nx-amz-meta-b:2\r\n/);
    assert.deepEqual(s3Decodes(out, SIGNED_CHUNKS_TRAILER), text("x"));
  });
  await t.step("a trailer changed on the way is refused", async () => {
    const body = new TextDecoder().decode(frame([text("x")], { trailer: ["x-amz-meta-a:1"] }));
    const { error } = await resign(text(body.replace("x-amz-meta-a:1", "x-amz-meta-a:2")), {
      trailer: true,
    });
    assert.equal(error?.code, "SignatureDoesNotMatch");
    assert.match(error!.message, /^The trailer signature we calculated does not match/);
  });
  await t.step("a trailer without its signature is refused", async () => {
    const body = new TextDecoder().decode(frame([text("x")], { trailer: ["x-amz-meta-a:1"] }));
    const { error } = await resign(
      text(body.replace(/x-amz-trailer-signature:[0-9a-f]+\r\n/, "")),
      {
        trailer: true,
      },
    );
    assert.equal(error?.code, "SignatureDoesNotMatch");
  });
  await t.step("a trailer that ends too soon", async () => {
    const body = new TextDecoder().decode(frame([text("x")], { trailer: ["x-amz-meta-a:1"] }));
    const { error } = await resign(text(body.replace(/\r\n\r\n$/, "\r\n")), { trailer: true });
    assert.equal(error?.code, "IncompleteBody");
    assert.equal(error?.message, "The aws-chunked trailer ends too soon");
  });
  await t.step("a trailer longer than 16 KiB", async () => {
    const lines = Array.from({ length: 5 }, (_, i) => `x-amz-meta-${i}:${"v".repeat(3500)}`);
    const { error } = await resign(frame([text("x")], { trailer: lines }), { trailer: true });
    assert.equal(error?.code, "IncompleteBody");
    assert.equal(error?.message, "The aws-chunked trailer is too long");
    const fits = Array.from({ length: 4 }, (_, i) => `x-amz-meta-${i}:${"v".repeat(3500)}`);
    assert.equal(
      (await resign(frame([text("x")], { trailer: fits }), { trailer: true })).error,
      undefined,
    );
  });
});

Deno.test("a chunk that does not verify is refused before it is passed on", async (t) => {
  await t.step("a byte changed in the second chunk", async () => {
    const body = frame([A1K, text("second chunk")]);
    const at = new TextDecoder().decode(body).indexOf("second chunk");
    body[at] ^= 1;
    const { out, error } = await resign(body);
    assert.equal(error?.code, "SignatureDoesNotMatch");
    assert.equal(error?.name, "ChunkError");
    assert.match(error!.message, /^The chunk signature we calculated does not match/);
    // The first chunk went on, re-signed; nothing of the second.
    const first = `400;chunk-signature=${chain(REAL_SECRET, REAL_SIGNER, [A1K])[0]}\r\n`;
    assert.deepEqual(out, concat([text(first), A1K, text("\r\n")]));
  });
  await t.step("signed with another secret", async () => {
    const { out, error } = await resign(frame([A1K], { secret: "another" }));
    assert.equal(error?.code, "SignatureDoesNotMatch");
    assert.equal(out.length, 0);
  });
  await t.step("the final chunk's signature is checked too", async () => {
    const body = new TextDecoder().decode(frame([text("x")]));
    const last = /0;chunk-signature=([0-9a-f]{64})/.exec(body)![1];
    const { out, error } = await resign(text(body.replace(last, "0".repeat(64))));
    assert.equal(error?.code, "SignatureDoesNotMatch");
    assert.ok(out.length > 0);
    assert.doesNotMatch(new TextDecoder().decode(out), /\n0;/);
  });
});

Deno.test("a body that is not signed aws-chunked is refused with IncompleteBody", async (t) => {
  const sig = AWS_CHUNK_SIGNATURES[0];
  const cases: Array<[string, Uint8Array, string]> = [
    ["plain bytes", text("hello world\r\n"), "The body is not a signed aws-chunked stream"],
    ["an empty body", new Uint8Array(), "The body is not a signed aws-chunked stream"],
    [
      "unsigned chunks",
      text("5\r\nhello\r\n0\r\n\r\n"),
      "The body is not a signed aws-chunked stream",
    ],
    [
      "an upper-case signature",
      text(`5;chunk-signature=${sig.toUpperCase()}\r\n`),
      "The body is not a signed aws-chunked stream",
    ],
    [
      "a size of nine digits",
      text(`000000005;chunk-signature=${sig}\r\n`),
      "The body is not a signed aws-chunked stream",
    ],
    ["no size", text(`;chunk-signature=${sig}\r\n`), "The body is not a signed aws-chunked stream"],
    [
      "something after the signature",
      text(`5;chunk-signature=${sig}x\r\n`),
      "The body is not a signed aws-chunked stream",
    ],
    [
      "something before the size",
      text(` 5;chunk-signature=${sig}\r\n`),
      "The body is not a signed aws-chunked stream",
    ],
    [
      "a header without its line end",
      text(`5;chunk-signature=${sig}`),
      "The aws-chunked body ends within a line",
    ],
    [
      "a chunk shorter than its size",
      text(`5;chunk-signature=${sig}\r\nhel`),
      "The aws-chunked body ends within a chunk",
    ],
    ["a line longer than 4 KiB", text("1".repeat(5000)), "An aws-chunked line is too long"],
    [
      "a chunk over 16 MiB",
      text(`1000001;chunk-signature=${sig}\r\n`),
      "An aws-chunked chunk is larger than 16 MiB",
    ],
  ];
  for (const [name, body, message] of cases) {
    await t.step(name, async () => {
      const { out, error } = await resign(body, { pieces: 1000 });
      assert.equal(error?.code, "IncompleteBody");
      assert.equal(error?.message, message);
      assert.equal(out.length, 0);
    });
  }
  await t.step("a line of 4 KiB arriving in pieces is still read", async () => {
    const { error } = await resign(text(`${"1".repeat(4000)}\r\n`), { pieces: 100 });
    assert.equal(error?.message, "The body is not a signed aws-chunked stream");
  });
  await t.step("a chunk of exactly 16 MiB is read (and checked)", async () => {
    const size = MAX_CHUNK_BYTES.toString(16);
    const { error } = await resign(text(`${size};chunk-signature=${sig}\r\n`));
    assert.equal(error?.message, "The aws-chunked body ends within a chunk");
  });
  await t.step("a chunk not followed by CRLF", async () => {
    const body = new TextDecoder().decode(frame([text("hello")]));
    const { error } = await resign(text(body.replace("hello\r\n", "helloX\r\n")));
    assert.equal(error?.code, "IncompleteBody");
    assert.equal(error?.message, "An aws-chunked chunk does not end with CRLF");
  });
  await t.step("the last chunk not followed by an empty line", async () => {
    const body = new TextDecoder().decode(frame([text("hello")]));
    const { out, error } = await resign(text(body.replace(/\r\n$/, "x\r\n")));
    assert.equal(error?.code, "IncompleteBody");
    assert.equal(error?.message, "The last aws-chunked chunk does not end with CRLF");
    assert.equal(new TextDecoder().decode(out).includes("\n0;"), false);
    const cut = await resign(text(body.replace(/\r\n$/, "")));
    assert.equal(cut.error?.message, "The last aws-chunked chunk does not end with CRLF");
  });
});

Deno.test("a line ending in a bare LF is refused: S3 wants CRLF, and the body keeps its length", async (t) => {
  const body = new TextDecoder().decode(frame([text("hello")], { trailer: ["x-amz-meta-a:1"] }));
  const cases: Array<[string, string]> = [
    ["a chunk header", body.replace(/^(5;chunk-signature=[0-9a-f]+)\r\n/, "$1\n")],
    ["after a chunk's data", body.replace("hello\r\n", "hello\n")],
    ["the final chunk header", body.replace(/(0;chunk-signature=[0-9a-f]+)\r\n/, "$1\n")],
    ["a trailer line", body.replace("x-amz-meta-a:1\r\n", "x-amz-meta-a:1\n")],
    ["the empty line that ends the trailer", body.replace(/\r\n\r\n$/, "\r\n\n")],
  ];
  for (const [name, sent] of cases) {
    await t.step(name, async () => {
      const { error } = await resign(text(sent), { trailer: true });
      assert.equal(error?.code, "IncompleteBody");
      assert.equal(error?.message, "An aws-chunked line does not end with CRLF");
    });
  }
  await t.step("a body that starts with a bare LF", async () => {
    const { error } = await resign(text("\n"));
    assert.equal(error?.message, "An aws-chunked line does not end with CRLF");
  });
});

Deno.test("cancelling the re-signed stream cancels the client's body", async () => {
  let reason: unknown;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(frame([A1K]).subarray(0, 10));
    },
    cancel(why) {
      reason = why;
    },
  });
  const stream = resignChunks(source, { from: AWS_SIGNER, to: REAL_SIGNER, trailer: false });
  await stream.cancel("client went away");
  assert.equal(reason, "client went away");
});

Deno.test("the local endpoint's decoder refuses what S3 would (the check above is real)", () => {
  const body = frame([text("x")]);
  assert.throws(
    () => s3Decodes(body, SIGNED_CHUNKS),
    (error: Error) => error instanceof AwsError && error.code === "SignatureDoesNotMatch",
  );
});

Deno.test("the limits hold at their edges: a 4 KiB line, a 16 KiB trailer", async (t) => {
  await t.step("4096 bytes held without a line end are still read on", async () => {
    const { error } = await resign(text(`${"1".repeat(4096)}\r\n`), { pieces: 4096 });
    assert.equal(error?.message, "The body is not a signed aws-chunked stream");
  });
  await t.step("a trailer of exactly 16 KiB, its signature line included, is taken", async () => {
    // Each line counts without its CRLF; the signature line is 88 characters.
    const lines = Array.from({ length: 4 }, (_, i) => `x-amz-meta-${i}:${"v".repeat(4061)}`);
    assert.equal(lines.join("").length + 88, 16 * 1024);
    const { out, error } = await resign(frame([text("x")], { trailer: lines }), { trailer: true });
    assert.equal(error, undefined);
    assert.deepEqual(s3Decodes(out, SIGNED_CHUNKS_TRAILER), text("x"));
  });
});

Deno.test("a trailer line that only contains the signature's name is part of the trailer", async (t) => {
  const hex = "a".repeat(64);
  for (
    const line of [
      `x-amz-meta-note:x-amz-trailer-signature:${hex}`,
      `x-amz-trailer-signature:${hex}0`,
    ]
  ) {
    await t.step(line.slice(0, 40), async () => {
      const { out, error } = await resign(frame([text("x")], { trailer: [line] }), {
        trailer: true,
      });
      assert.equal(error, undefined);
      assert.ok(new TextDecoder().decode(out).includes(`\r\n${line}\r\n`));
      assert.deepEqual(s3Decodes(out, SIGNED_CHUNKS_TRAILER), text("x"));
    });
  }
});

Deno.test("each chunk is held while it is checked, and released after, refused or not", async (t) => {
  const run = async (body: Uint8Array) => {
    const held: number[] = [];
    let released = 0;
    const stream = resignChunks(streamOf(body), {
      from: AWS_SIGNER,
      to: REAL_SIGNER,
      trailer: false,
      hold: (size) => {
        held.push(size);
        return () => released++;
      },
    });
    const error = await new Response(stream).arrayBuffer().then(() => undefined, (e) => e);
    return { held, released, error };
  };
  await t.step("a body that verifies", async () => {
    const { held, released, error } = await run(frame([A1K, text("x")]));
    assert.equal(error, undefined);
    assert.deepEqual(held, [1024, 1, 0]);
    assert.equal(released, 3);
  });
  await t.step("a chunk that does not verify", async () => {
    const { held, released, error } = await run(frame([A1K], { secret: "another" }));
    assert.ok(error instanceof ChunkError);
    assert.deepEqual(held, [1024]);
    assert.equal(released, 1);
  });
});
