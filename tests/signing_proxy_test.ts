// The signing proxy in process, between real clients (the AWS CLI v1 found by endpointAwareAws,
// which honours AWS_ENDPOINT_URL, and raw HTTP where a client would never send such a request)
// and the local endpoint, which checks the re-signed requests with the real session as AWS would.
import assert from "node:assert/strict";
import type { SessionCredentials } from "../lib/aws/broker.ts";
import { resolveEndpoint } from "../lib/delivery/aws_endpoints.ts";
import { maskedEnvironment } from "../lib/delivery/credential_env.ts";
import { type SigningProxy, startSigningProxy } from "../lib/delivery/signing_proxy.ts";
import { endpointAwareAws } from "./support/aws_cli.ts";
import { LocalAws, type LocalCredentials } from "./support/local_aws.ts";
import { signedCall } from "./support/signed_call.ts";
import { readUntilClosed } from "./support/raw_conn.ts";
import { tempDir } from "./support/fixture.ts";

const cli = await endpointAwareAws();
const ignoredWithoutCli = cli.path === undefined;
const cliNote = cli.path === undefined ? ` (ignored: ${cli.version})` : "";

function sessionOf(credentials: LocalCredentials): SessionCredentials {
  return {
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    sessionToken: credentials.sessionToken!,
    expiration: credentials.expiration!,
  };
}

/** A local endpoint, a broker-role session on it, and a proxy with one grant of that session. */
async function proxyRig(
  options: {
    expiration?: Date;
    maxStreamedBytes?: number;
    maxBufferedBytes?: number;
    maxHeldBytes?: number;
    loopback?: { headersTimeoutMs?: number; bodyIdleMs?: number };
  } = {},
) {
  const aws = await LocalAws.start();
  const real = aws.addAssumedRoleCaller({
    roleName: "timebound-iam-broker",
    sessionName: "timebound-iam-rig",
  });
  const session = {
    ...sessionOf(real),
    ...(options.expiration ? { expiration: options.expiration } : {}),
  };
  const proxy = await startSigningProxy({
    env: { AWS_ENDPOINT_URL: aws.url },
    maxStreamedBytes: options.maxStreamedBytes,
    maxBufferedBytes: options.maxBufferedBytes,
    maxHeldBytes: options.maxHeldBytes,
    loopback: options.loopback,
  });
  const grant = proxy.addGrant({ session: () => session });
  const home = await Deno.makeTempDir({ prefix: "tbi-proxy-" });
  const env = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_ENDPOINT_URL: proxy.url,
    AWS_ACCESS_KEY_ID: grant.standIn.accessKeyId,
    AWS_SECRET_ACCESS_KEY: grant.standIn.secretAccessKey,
    AWS_SESSION_TOKEN: grant.standIn.sessionToken,
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_MAX_ATTEMPTS: "1",
  };
  return {
    aws,
    real,
    proxy,
    grant,
    env,
    async [Symbol.asyncDispose]() {
      await proxy.close();
      await aws.close();
      await Deno.remove(home, { recursive: true });
    },
  };
}

async function runAws(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(cli.path!, { args, env, clearEnv: true }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** Sends raw HTTP/1.1, so that Host and every header are exactly what the test says. */
async function rawRequest(
  proxy: SigningProxy,
  lines: string[],
): Promise<{ status: number; headers: string; body: string }> {
  const port = Number(new URL(proxy.url).port);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const blank = lines.indexOf("");
  const head = blank < 0 ? lines : lines.slice(0, blank);
  const body = blank < 0 ? [] : lines.slice(blank + 1);
  const text = [...head, "Connection: close", "", body.join("\r\n")].join("\r\n");
  await conn.write(new TextEncoder().encode(text));
  const answer = new TextDecoder().decode(
    new Uint8Array(await new Response(conn.readable).arrayBuffer()),
  );
  const [headers, ...rest] = answer.split("\r\n\r\n");
  return { status: Number(headers.split(" ")[1]), headers, body: rest.join("\r\n\r\n") };
}

Deno.test(
  `the AWS CLI through the proxy: sts get-caller-identity names the broker role's session${cliNote}`,
  { ignore: ignoredWithoutCli },
  async () => {
    await using rig = await proxyRig();
    const out = await runAws(["sts", "get-caller-identity", "--output", "json"], rig.env);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(JSON.parse(out.stdout).Arn, rig.real.arn);
    const reached = rig.aws.requests.at(-1)!;
    assert.equal(reached.accessKeyId, rig.real.accessKeyId, "the endpoint saw the real key");
    assert.equal(reached.action, "GetCallerIdentity");
    assert.deepEqual(
      rig.grant.calls.map((c) => [c.service, c.action, c.region, c.status]),
      [["sts", "GetCallerIdentity", "us-east-1", 200]],
    );
  },
);

Deno.test(
  `the AWS CLI with a wrong stand-in secret gets 403 SignatureDoesNotMatch, AWS sees nothing, ` +
    `and the grant only counts it${cliNote}`,
  { ignore: ignoredWithoutCli },
  async () => {
    await using rig = await proxyRig();
    const out = await runAws(["sts", "get-caller-identity"], {
      ...rig.env,
      AWS_SECRET_ACCESS_KEY: rig.grant.standIn.secretAccessKey.slice(1) + "x",
    });
    assert.equal(out.code, 255);
    assert.match(out.stderr, /\(SignatureDoesNotMatch\) when calling the GetCallerIdentity/);
    assert.equal(rig.aws.requests.length, 0);
    assert.deepEqual(rig.grant.calls, [], "not signed with the stand-in secret: no record");
    assert.equal(rig.grant.callCount, 0);
    assert.equal(rig.grant.unverifiedCount, 1);
  },
);

Deno.test(
  `stand-in keys sent straight to the endpoint get InvalidClientTokenId${cliNote}`,
  { ignore: ignoredWithoutCli },
  async () => {
    await using rig = await proxyRig();
    const out = await runAws(["sts", "get-caller-identity"], {
      ...rig.env,
      AWS_ENDPOINT_URL: rig.aws.url,
    });
    assert.equal(out.code, 255);
    assert.match(out.stderr, /\(InvalidClientTokenId\) when calling the GetCallerIdentity/);
  },
);

Deno.test(
  `an expired or revoked grant gets 403 ExpiredToken${cliNote}`,
  { ignore: ignoredWithoutCli },
  async (t) => {
    await t.step("the session's expiry has passed", async () => {
      await using rig = await proxyRig({ expiration: new Date(Date.now() - 1000) });
      const out = await runAws(["sts", "get-caller-identity"], rig.env);
      assert.match(out.stderr, /\(ExpiredToken\) when calling the GetCallerIdentity/);
      assert.equal(rig.aws.requests.length, 0);
    });
    await t.step("revoked: the very next call", async () => {
      await using rig = await proxyRig();
      assert.equal((await runAws(["sts", "get-caller-identity"], rig.env)).code, 0);
      rig.grant.revoke();
      const out = await runAws(["sts", "get-caller-identity"], rig.env);
      assert.match(out.stderr, /\(ExpiredToken\) when calling the GetCallerIdentity/);
      assert.equal(rig.aws.requests.length, 1);
      assert.equal(rig.grant.callCount, 2);
      assert.deepEqual(rig.grant.calls, [], "a revoked grant keeps no call records");
    });
  },
);

Deno.test("the proxy refuses, each with one error in the service's shape", async (t) => {
  await using rig = await proxyRig();
  const port = new URL(rig.proxy.url).port;
  const auth = `AWS4-HMAC-SHA256 Credential=${rig.grant.standIn.accessKeyId}/20300101/` +
    `us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`;
  await t.step(
    "a Host other than 127.0.0.1 or localhost with its port (DNS rebinding)",
    async () => {
      const out = await rawRequest(rig.proxy, [
        "POST / HTTP/1.1",
        `Host: attacker.example:${port}`,
        `Authorization: ${auth}`,
        "Content-Length: 0",
      ]);
      assert.equal(out.status, 403);
      assert.match(out.body, /<Code>AccessDenied<\/Code>.*Host 127\.0\.0\.1:PORT/);
    },
  );
  await t.step("a Host that names no host: the same refusal, no crash", async () => {
    const out = await rawRequest(rig.proxy, [
      "POST / HTTP/1.1",
      `Host: 127.0.0.1:${port}.attacker.example`,
      `Authorization: ${auth}`,
      "Content-Length: 0",
    ]);
    assert.equal(out.status, 403);
    assert.match(out.body, /<Code>AccessDenied<\/Code>.*Host 127\.0\.0\.1:PORT/);
  });
  await t.step("a presigned URL", async () => {
    const out = await rawRequest(rig.proxy, [
      "GET /bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" +
      `${rig.grant.standIn.accessKeyId}%2F20300101%2Fus-east-1%2Fs3%2Faws4_request` +
      `&X-Amz-Date=20300101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=${"0".repeat(64)}` +
      " HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
    ]);
    assert.equal(out.status, 400);
    assert.match(out.body, /<Code>InvalidRequest<\/Code><Message>[^<\n]*presigned[^<\n]*</);
  });
  await t.step("SigV4A", async () => {
    const out = await rawRequest(rig.proxy, [
      "GET /bucket/key HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      `Authorization: AWS4-ECDSA-P256-SHA256 Credential=${rig.grant.standIn.accessKeyId}/` +
      `20300101/s3/aws4_request, SignedHeaders=host, Signature=${"0".repeat(64)}`,
    ]);
    assert.equal(out.status, 400);
    assert.match(out.body, /SigV4A/);
  });
  await t.step("Signature Version 2", async () => {
    const out = await rawRequest(rig.proxy, [
      "GET /?Action=GetCallerIdentity HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      `Authorization: AWS ${rig.grant.standIn.accessKeyId}:c2lnbmF0dXJl`,
    ]);
    assert.equal(out.status, 400);
    assert.match(out.body, /<Code>IncompleteSignature<\/Code>.*Signature Version 4/);
  });
  await t.step("no signature", async () => {
    const out = await rawRequest(rig.proxy, ["GET / HTTP/1.1", `Host: 127.0.0.1:${port}`]);
    assert.equal(out.status, 403);
    assert.match(out.body, /<Code>MissingAuthenticationToken<\/Code>/);
  });
  await t.step("an unknown key, to a JSON service: JSON, UnrecognizedClientException", async () => {
    const out = await rawRequest(rig.proxy, [
      "POST / HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      "X-Amz-Target: DynamoDB_20120810.ListTables",
      "Content-Type: application/x-amz-json-1.0",
      "X-Amz-Date: 20300101T000000Z",
      "Authorization: AWS4-HMAC-SHA256 Credential=ASIAUNKNOWNKEY000000/20300101/us-east-1/" +
      `dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`,
      "Content-Length: 2",
      "",
      "{}",
    ]);
    assert.equal(out.status, 400, "DynamoDB answers client errors with 400");
    assert.match(out.headers, /x-amzn-errortype: UnrecognizedClientException/i);
    assert.equal(JSON.parse(out.body).__type, "UnrecognizedClientException");
  });
  await t.step("a header section over 16 KiB", async () => {
    const out = await rawRequest(rig.proxy, [
      "GET / HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      `X-Padding: ${"a".repeat(17 * 1024)}`,
    ]);
    assert.equal(out.status, 431);
  });
  assert.equal(rig.aws.requests.length, 0, "nothing refused reached the endpoint");
});

Deno.test("resolveEndpoint() finds the endpoint the SDKs use", async (t) => {
  const host = (service: string, region: string, extra: Record<string, string> = {}) =>
    resolveEndpoint(
      { service, region, path: extra.path ?? "/", headers: new Headers(extra) },
      new Map(),
    )?.url.host;
  const cases: Array<[string, string, string | undefined, Record<string, string>?]> = [
    ["sts", "eu-west-1", "sts.eu-west-1.amazonaws.com"],
    ["iam", "us-east-1", "iam.amazonaws.com"],
    ["iam", "cn-north-1", "iam.cn-north-1.amazonaws.com.cn"],
    ["iam", "us-gov-west-1", "iam.us-gov.amazonaws.com"],
    ["cloudfront", "us-east-1", "cloudfront.amazonaws.com"],
    ["route53", "us-east-1", "route53.amazonaws.com"],
    ["organizations", "us-east-1", "organizations.us-east-1.amazonaws.com"],
    ["ses", "eu-west-1", "email.eu-west-1.amazonaws.com"],
    ["mobiletargeting", "us-west-2", "pinpoint.us-west-2.amazonaws.com"],
    ["s3", "cn-northwest-1", "s3.cn-northwest-1.amazonaws.com.cn"],
    ["lambda", "us-isob-east-1", "lambda.us-isob-east-1.sc2s.sgov.gov"],
    ["dynamodb", "us-east-1", "streams.dynamodb.us-east-1.amazonaws.com", {
      "x-amz-target": "DynamoDBStreams_20120810.GetRecords",
    }],
    ["s3", "us-east-1", "123456789012.s3-control.us-east-1.amazonaws.com", {
      path: "/v20180820/jobs",
      "x-amz-account-id": "123456789012",
    }],
    ["s3", "us-east-1", "s3-control.us-east-1.amazonaws.com", {
      path: "/v20180820/jobs",
      "x-amz-account-id": "evil.example#",
    }],
    ["sts", "evil.example.com#", undefined],
    ["sts/../", "us-east-1", undefined],
    // Names of the tables' own properties are services like any other.
    ["constructor", "us-east-1", "constructor.us-east-1.amazonaws.com"],
    ["toString", "us-east-1", undefined],
  ];
  for (const [service, region, expected, extra] of cases) {
    await t.step(`${service} in ${region} → ${expected ?? "refused"}`, () => {
      assert.equal(host(service, region, extra), expected);
    });
  }
  await t.step("the parent's AWS_ENDPOINT_URL_<SERVICE> wins over AWS_ENDPOINT_URL", () => {
    const overrides = new Map([
      ["", new URL("http://127.0.0.1:1")],
      ["CLOUDWATCH_LOGS", new URL("http://127.0.0.1:2/logs")],
    ]);
    const at = (service: string) =>
      resolveEndpoint(
        { service, region: "us-east-1", path: "/", headers: new Headers() },
        overrides,
      )
        ?.url.href;
    assert.equal(at("logs"), "http://127.0.0.1:2/logs");
    assert.equal(at("sqs"), "http://127.0.0.1:1/");
  });
});

Deno.test("the JS SDK's aws-chunked upload (unsigned chunks, CRC32 trailer) passes through", async () => {
  const { S3Client, PutObjectCommand, GetObjectCommand, CreateBucketCommand } = await import(
    "@aws-sdk/client-s3"
  );
  const { Readable } = await import("node:stream");
  await using rig = await proxyRig();
  const s3 = new S3Client({
    region: "us-east-1",
    endpoint: rig.proxy.url,
    credentials: rig.grant.standIn,
    maxAttempts: 1,
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: "chunked-bucket" }));
    const data = new Uint8Array(300_000).map((_, i) => (i * 7919) % 251);
    // A stream of unknown framing: the SDK sends it aws-chunked with a trailing checksum.
    await s3.send(
      new PutObjectCommand({
        Bucket: "chunked-bucket",
        Key: "streamed.bin",
        Body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
        ContentLength: data.length,
      }),
    );
    const got = await s3.send(
      new GetObjectCommand({ Bucket: "chunked-bucket", Key: "streamed.bin" }),
    );
    assert.deepEqual(await got.Body!.transformToByteArray(), data);
    assert.deepEqual(
      rig.grant.calls.map((c) => [c.action, c.resource, c.status]),
      [
        ["CreateBucket", "chunked-bucket", 200],
        ["PutObject", "chunked-bucket/streamed.bin", 200],
        ["GetObject", "chunked-bucket/streamed.bin", 200],
      ],
    );
  } finally {
    s3.destroy();
  }
});

/** A PUT with signed aws-chunked chunks, signed as the Java SDK v1 and Go SDK v1 sign them. */
async function signedChunkedPut(
  rig: Awaited<ReturnType<typeof proxyRig>>,
  options: { path: string; chunks: Uint8Array[]; tamper?: boolean; trailer?: boolean },
) {
  const { signString, stringToSign, toAmzDate, sha256Hex } = await import("./support/sigv4.ts");
  const { crc32Base64 } = await import("./support/s3.ts");
  const standIn = rig.grant.standIn;
  const amzDate = toAmzDate(new Date());
  const auth = {
    accessKeyId: standIn.accessKeyId,
    date: amzDate.slice(0, 8),
    region: "us-east-1",
    service: "s3",
    signedHeaders: [] as string[],
    signature: "",
  };
  const mode = options.trailer
    ? "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    : "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
  const decodedLength = options.chunks.reduce((n, c) => n + c.length, 0);
  const all = new Uint8Array(decodedLength);
  options.chunks.reduce((offset, c) => (all.set(c, offset), offset + c.length), 0);
  const scope = `${auth.date}/us-east-1/s3/aws4_request`;
  const frames: Uint8Array[] = [];
  const encoder = new TextEncoder();
  const emptyHash = sha256Hex(new Uint8Array(0));
  const chunkSign = (previous: string, data: Uint8Array) =>
    signString(
      standIn.secretAccessKey,
      ["AWS4-HMAC-SHA256-PAYLOAD", amzDate, scope, previous, emptyHash, sha256Hex(data)].join("\n"),
      auth,
    );
  const headers = new Headers({
    host: new URL(rig.proxy.url).host,
    "x-amz-date": amzDate,
    "x-amz-content-sha256": mode,
    "x-amz-security-token": standIn.sessionToken,
    "x-amz-decoded-content-length": String(decodedLength),
    "content-encoding": "aws-chunked",
    ...(options.trailer ? { "x-amz-trailer": "x-amz-checksum-crc32" } : {}),
  });
  auth.signedHeaders = [...headers.keys()].sort();
  const { canonicalRequest } = await import("./support/sigv4.ts");
  auth.signature = signString(
    standIn.secretAccessKey,
    stringToSign(
      canonicalRequest({
        method: "PUT",
        url: new URL(options.path, rig.proxy.url),
        headers,
        body: new Uint8Array(0),
      }, auth),
      amzDate,
      auth,
    ),
    auth,
  );
  let previous = auth.signature;
  for (const chunk of [...options.chunks, new Uint8Array(0)]) {
    previous = chunkSign(previous, chunk);
    const sent = options.tamper && chunk.length > 0 ? chunk.map((b) => b ^ 1) : chunk;
    frames.push(encoder.encode(`${chunk.length.toString(16)};chunk-signature=${previous}\r\n`));
    if (chunk.length > 0) frames.push(sent, encoder.encode("\r\n"));
  }
  if (options.trailer) {
    const trailer = `x-amz-checksum-crc32:${crc32Base64(all)}\n`;
    const signature = signString(
      standIn.secretAccessKey,
      ["AWS4-HMAC-SHA256-TRAILER", amzDate, scope, previous, sha256Hex(trailer)].join("\n"),
      auth,
    );
    frames.push(
      encoder.encode(`${trailer.trimEnd()}\r\nx-amz-trailer-signature:${signature}\r\n\r\n`),
    );
  } else {
    frames.push(encoder.encode("\r\n"));
  }
  const body = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  frames.reduce((offset, f) => (body.set(f, offset), offset + f.length), 0);
  headers.set(
    "authorization",
    `AWS4-HMAC-SHA256 Credential=${auth.accessKeyId}/${scope}, SignedHeaders=${
      auth.signedHeaders.join(";")
    }, Signature=${auth.signature}`,
  );
  headers.delete("host");
  const response = await fetch(new URL(options.path, rig.proxy.url), {
    method: "PUT",
    headers,
    body,
  });
  return { status: response.status, text: await response.text(), data: all };
}

Deno.test(
  `signed aws-chunked bodies are checked chunk by chunk and signed again${cliNote}`,
  { ignore: ignoredWithoutCli },
  async (t) => {
    await using rig = await proxyRig();
    const mb = await runAws(["s3api", "create-bucket", "--bucket", "signed-chunks"], rig.env);
    assert.equal(mb.code, 0, mb.stderr);
    const chunks = [
      new Uint8Array(70_000).fill(7),
      new Uint8Array(65_536).fill(9),
      new Uint8Array(10).fill(1),
    ];
    for (const trailer of [false, true]) {
      await t.step(
        `${trailer ? "with" : "without"} a signed trailer: stored byte for byte`,
        async () => {
          const path = `/signed-chunks/object-${trailer}`;
          const out = await signedChunkedPut(rig, { path, chunks, trailer });
          assert.equal(out.status, 200, out.text);
          const reached = rig.aws.requests.at(-1)!;
          assert.equal(reached.accessKeyId, rig.real.accessKeyId);
          assert.equal(reached.action, "PutObject");
          assert.equal(reached.status, 200);
          const back = await new Deno.Command(cli.path!, {
            args: ["s3", "cp", `s3:/${path}`, "-"],
            env: rig.env,
            clearEnv: true,
            stdout: "piped",
          }).output();
          assert.deepEqual(back.stdout, out.data);
        },
      );
    }
    await t.step(
      "a chunk changed on the way: 403 SignatureDoesNotMatch, nothing stored",
      async () => {
        const before =
          rig.aws.requests.filter((r) => r.action === "PutObject" && r.status === 200).length;
        const out = await signedChunkedPut(rig, {
          path: "/signed-chunks/tampered",
          chunks,
          tamper: true,
        });
        assert.equal(out.status, 403);
        assert.match(out.text, /<Code>SignatureDoesNotMatch<\/Code><Message>The chunk signature/);
        const after =
          rig.aws.requests.filter((r) => r.action === "PutObject" && r.status === 200).length;
        assert.equal(after, before);
      },
    );
  },
);

Deno.test("a streamed body past the limit is refused, with or without Content-Length", async () => {
  const { S3Client, PutObjectCommand, CreateBucketCommand } = await import("@aws-sdk/client-s3");
  const { Readable } = await import("node:stream");
  await using rig = await proxyRig({ maxStreamedBytes: 64 * 1024 });
  const s3 = new S3Client({
    region: "us-east-1",
    endpoint: rig.proxy.url,
    credentials: rig.grant.standIn,
    maxAttempts: 1,
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: "bounded-bucket" }));
    const data = new Uint8Array(200_000);
    for (const [name, body] of [["bytes", data], ["a stream", Readable.from([data])]] as const) {
      const error = await s3.send(
        new PutObjectCommand({
          Bucket: "bounded-bucket",
          Key: "big",
          Body: body,
          ContentLength: data.length,
        }),
      ).then(() => undefined, (e) => e);
      assert.equal(error?.name, "EntityTooLarge", name);
      assert.equal(error?.$metadata.httpStatusCode, 413, name);
    }
    assert.deepEqual(rig.aws.requests.filter((r) => r.action === "PutObject" && !r.errorCode), []);
  } finally {
    s3.destroy();
  }
});

/** A GET signed with the grant's stand-ins, as an SDK signs it, sent to the proxy with fetch. */
async function signedGet(
  proxy: SigningProxy,
  standIn: { accessKeyId: string; secretAccessKey: string; sessionToken: string },
  path: string,
  signed: Record<string, string> = {},
): Promise<Response> {
  const { canonicalRequest, signString, stringToSign, toAmzDate } = await import(
    "./support/sigv4.ts"
  );
  const url = new URL(path, proxy.url);
  const amzDate = toAmzDate(new Date());
  const headers = new Headers({
    ...signed,
    host: url.host,
    "x-amz-date": amzDate,
    "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    "x-amz-security-token": standIn.sessionToken,
  });
  const auth = {
    accessKeyId: standIn.accessKeyId,
    date: amzDate.slice(0, 8),
    region: "us-east-1",
    service: "s3",
    signedHeaders: [...headers.keys()].sort(),
    signature: "",
  };
  const canonical = canonicalRequest({ method: "GET", url, headers, body: new Uint8Array() }, auth);
  const signature = signString(
    standIn.secretAccessKey,
    stringToSign(canonical, amzDate, auth),
    auth,
  );
  headers.set(
    "authorization",
    `AWS4-HMAC-SHA256 Credential=${auth.accessKeyId}/${auth.date}/us-east-1/s3/aws4_request, ` +
      `SignedHeaders=${auth.signedHeaders.join(";")}, Signature=${signature}`,
  );
  headers.delete("host");
  // Ask for the bytes as they are: fetch would otherwise ask for gzip and decompress.
  if (!headers.has("accept-encoding")) headers.set("accept-encoding", "identity");
  return await fetch(url, { headers, redirect: "manual" });
}

Deno.test("the answer comes back unchanged, and an endpoint that stalls gets 504", async (t) => {
  const { gzipSync } = await import("node:zlib");
  const gzipped = new Uint8Array(gzipSync("the object's own bytes, stored compressed"));
  const stall = Promise.withResolvers<void>();
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/bucket/gzipped") {
      return new Response(gzipped, {
        headers: { "content-encoding": "gzip", "x-amz-meta-owner": "alice", etag: '"abc"' },
      });
    }
    if (path === "/bucket/moved") {
      return new Response(null, { status: 307, headers: { location: "https://elsewhere/x" } });
    }
    await stall.promise;
    return new Response("late");
  });
  const proxy = await startSigningProxy({
    env: { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${upstream.addr.port}` },
    idleTimeoutMs: 300,
  });
  try {
    const grant = proxy.addGrant({
      session: () => ({
        accessKeyId: "ASIAREALKEY000000000",
        secretAccessKey: "real-secret",
        sessionToken: "real-token",
        expiration: new Date(Date.now() + 3600_000),
      }),
    });
    await t.step("compressed bytes stay compressed, headers as sent", async () => {
      const response = await signedGet(proxy, grant.standIn, "/bucket/gzipped");
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-encoding"), "gzip");
      assert.equal(response.headers.get("x-amz-meta-owner"), "alice");
      assert.deepEqual(new Uint8Array(await response.arrayBuffer()), gzipped);
    });
    await t.step("a redirect is passed on, not followed", async () => {
      const response = await signedGet(proxy, grant.standIn, "/bucket/moved");
      await response.body?.cancel();
      assert.equal(response.status, 307);
      assert.equal(response.headers.get("location"), "https://elsewhere/x");
    });
    await t.step("no answer within the idle timeout: 504 RequestTimeout", async () => {
      const started = Date.now();
      const response = await signedGet(proxy, grant.standIn, "/bucket/stalls");
      assert.equal(response.status, 504);
      assert.match(await response.text(), /<Code>RequestTimeout<\/Code>/);
      assert.ok(Date.now() - started < 5000);
    });
    assert.deepEqual(grant.calls.map((c) => [c.action, c.status]), [
      ["GetObject", 200],
      ["GetObject", 307],
      ["GetObject", 504],
    ]);
  } finally {
    stall.resolve();
    await proxy.close();
    await upstream.shutdown();
  }
});

Deno.test("nameCall() names the action and the resource as AWS would", async (t) => {
  const { nameCall } = await import("../lib/delivery/call_record.ts");
  const call = (
    service: string,
    method: string,
    target: string,
    options: { headers?: Record<string, string>; body?: string } = {},
  ) => {
    const url = new URL(target, "http://127.0.0.1:1");
    return nameCall({
      service,
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: new Headers(options.headers),
      body: options.body === undefined ? undefined : new TextEncoder().encode(options.body),
    });
  };
  const cases: Array<[string, ReturnType<typeof call>, { action: string; resource?: string }]> = [
    ["S3 ListBuckets", call("s3", "GET", "/"), { action: "ListBuckets" }],
    ["S3 ListObjectsV2", call("s3", "GET", "/b?list-type=2&prefix=x"), {
      action: "ListObjectsV2",
      resource: "b",
    }],
    ["S3 GetObject, key decoded", call("s3", "GET", "/b/a%20b/c.txt"), {
      action: "GetObject",
      resource: "b/a b/c.txt",
    }],
    ["S3 UploadPart", call("s3", "PUT", "/b/k?partNumber=2&uploadId=u"), {
      action: "UploadPart",
      resource: "b/k",
    }],
    ["S3 CopyObject", call("s3", "PUT", "/b/k", { headers: { "x-amz-copy-source": "/a/b" } }), {
      action: "CopyObject",
      resource: "b/k",
    }],
    ["S3 DeleteObjects", call("s3", "POST", "/b?delete"), {
      action: "DeleteObjects",
      resource: "b",
    }],
    [
      "DynamoDB, from the target and the body",
      call("dynamodb", "POST", "/", {
        headers: {
          "x-amz-target": "DynamoDB_20120810.GetItem",
          "content-type": "application/x-amz-json-1.0",
        },
        body: '{"TableName":"Orders","Key":{}}',
      }),
      { action: "GetItem", resource: "Orders" },
    ],
    [
      "a query service, from the form body",
      call("iam", "POST", "/", {
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "Action=GetRole&RoleName=deployer&Version=2010-05-08",
      }),
      { action: "GetRole", resource: "deployer" },
    ],
    ["a REST service, from the path", call("lambda", "GET", "/2015-03-31/functions/my-fn"), {
      action: "GET /functions",
      resource: "my-fn",
    }],
    [
      "control characters neutralised",
      call("dynamodb", "POST", "/", {
        headers: { "x-amz-target": "DynamoDB_20120810.PutItem\u001b[31m" },
        body: '{"TableName":"a\\nb"}',
      }),
      { action: "PutItem?[31m", resource: "a?b" },
    ],
    [
      "bidirectional overrides and line separators neutralised",
      call("dynamodb", "POST", "/", {
        headers: { "x-amz-target": "DynamoDB_20120810.GetItem" },
        body: '{"TableName":"Orders\u202egnp.exe\u2028x\u2066"}',
      }),
      { action: "GetItem", resource: "Orders?gnp.exe?x?" },
    ],
  ];
  for (const [name, actual, expected] of cases) {
    await t.step(name, () => assert.deepEqual(actual, expected));
  }
});

Deno.test("an error answer that echoes the signed headers gets the stand-ins, never the session", async (t) => {
  const { gzipSync } = await import("node:zlib");
  const { uriEncode } = await import("./support/sigv4.ts");
  const real = {
    accessKeyId: "ASIAREALKEY000000000",
    secretAccessKey: "real/secret+key",
    sessionToken: "IQoJb3JpZ2luX2VjE/real+session/token==",
    expiration: new Date(Date.now() + 3600_000),
  };
  const hex = (text: string) =>
    Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join(" ");
  const received: Headers[] = [];
  // As AWS refuses a signature: S3 names the key id and prints the canonical request, as text
  // and as hex bytes; the query and JSON services print it in their message.
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    received.push(req.headers);
    const token = req.headers.get("x-amz-security-token") ?? "";
    const key = /Credential=([^/]+)/.exec(req.headers.get("authorization") ?? "")?.[1] ?? "";
    const canonical = `GET\n/bucket/key\n\nx-amz-security-token:${token}\n`;
    const body =
      `<Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>${key}</AWSAccessKeyId>` +
      `<CanonicalRequest>${canonical}</CanonicalRequest>` +
      `<CanonicalRequestBytes>${hex(canonical)}</CanonicalRequestBytes>` +
      `<Query>${uriEncode(token)}</Query><Json>${JSON.stringify({ m: token })}</Json></Error>`;
    const headers = { "x-amz-echo": token, "content-type": "application/xml" };
    if (new URL(req.url).pathname === "/bucket/gzipped") {
      return new Response(new Uint8Array(gzipSync(body)), {
        status: 403,
        headers: { ...headers, "content-encoding": "gzip" },
      });
    }
    return new Response(body, { status: 403, headers });
  });
  const proxy = await startSigningProxy({
    env: { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${upstream.addr.port}` },
  });
  const grant = proxy.addGrant({ session: () => real });
  const forms = (text: string) => [text, uriEncode(text), hex(text), text.replaceAll("/", "\\/")];
  try {
    await t.step(
      "S3's SignatureDoesNotMatch: every form of the token and key swapped",
      async () => {
        const response = await signedGet(proxy, grant.standIn, "/bucket/key", {
          "accept-encoding": "gzip",
        });
        const text = await response.text();
        assert.equal(response.status, 403);
        assert.match(text, /<Code>SignatureDoesNotMatch<\/Code>/);
        for (const secret of [real.sessionToken, real.accessKeyId]) {
          for (const form of forms(secret)) assert.ok(!text.includes(form), `${form} in ${text}`);
        }
        assert.ok(text.includes(`<AWSAccessKeyId>${grant.standIn.accessKeyId}<`), text);
        assert.ok(text.includes(`x-amz-security-token:${grant.standIn.sessionToken}`), text);
        assert.ok(text.includes(hex(grant.standIn.sessionToken)), text);
        assert.equal(response.headers.get("x-amz-echo"), grant.standIn.sessionToken);
        assert.equal(received.at(-1)?.get("accept-encoding"), "identity", "asked for as is");
      },
    );
    await t.step("an encoded error answer, which cannot be checked, is not passed on", async () => {
      const response = await signedGet(proxy, grant.standIn, "/bucket/gzipped");
      const bytes = new Uint8Array(await response.arrayBuffer());
      assert.equal(response.status, 502);
      assert.match(new TextDecoder().decode(bytes), /<Code>ServiceUnavailable<\/Code>/);
      assert.ok(!new TextDecoder("latin1").decode(bytes).includes(real.sessionToken));
    });
  } finally {
    await proxy.close();
    await upstream.shutdown();
  }
});

Deno.test(
  `behind an HTTP proxy, the AWS CLI in a masked environment still reaches the signing proxy${cliNote}`,
  { ignore: ignoredWithoutCli },
  async () => {
    await using rig = await proxyRig();
    // A corporate proxy in the parent's environment, which botocore honours for http:// URLs.
    const corporate: string[] = [];
    const other = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
      corporate.push(request.url);
      return new Response("proxy error", { status: 502 });
    });
    try {
      const env = maskedEnvironment({
        PATH: rig.env.PATH,
        HOME: rig.env.HOME,
        HTTP_PROXY: `http://127.0.0.1:${other.addr.port}`,
        no_proxy: "internal.example",
        AWS_MAX_ATTEMPTS: "1",
      }, {
        proxyUrl: rig.proxy.url,
        standIn: rig.grant.standIn,
        region: "us-east-1",
        sessionName: "timebound-iam-rig",
      });
      assert.equal(env.no_proxy, "internal.example,127.0.0.1");
      const out = await runAws(["sts", "get-caller-identity", "--output", "json"], env);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(JSON.parse(out.stdout).Arn, rig.real.arn);
      assert.deepEqual(corporate, [], "nothing went to the HTTP proxy");
    } finally {
      await other.shutdown();
    }
  },
);

/** A JSON-protocol call signed with the stand-ins as the SDKs sign it, with the payload hash given. */
async function signedJsonCall(
  proxy: SigningProxy,
  standIn: { accessKeyId: string; secretAccessKey: string; sessionToken: string },
  call: { target: string; body: string; contentSha256: string },
): Promise<Response> {
  const { canonicalRequest, signString, stringToSign, toAmzDate } = await import(
    "./support/sigv4.ts"
  );
  const url = new URL("/", proxy.url);
  const amzDate = toAmzDate(new Date());
  const body = new TextEncoder().encode(call.body);
  const headers = new Headers({
    host: url.host,
    "content-type": "application/x-amz-json-1.0",
    "x-amz-target": call.target,
    "x-amz-date": amzDate,
    "x-amz-content-sha256": call.contentSha256,
    "x-amz-security-token": standIn.sessionToken,
  });
  const auth = {
    accessKeyId: standIn.accessKeyId,
    date: amzDate.slice(0, 8),
    region: "us-east-1",
    service: "dynamodb",
    signedHeaders: [...headers.keys()].sort(),
    signature: "",
  };
  // The local verifier would refuse a STREAMING hash on a plain body: sign it as it stands.
  const canonical = canonicalRequest({ method: "POST", url, headers, body }, auth);
  const signature = signString(
    standIn.secretAccessKey,
    stringToSign(canonical, amzDate, auth),
    auth,
  );
  headers.set(
    "authorization",
    `AWS4-HMAC-SHA256 Credential=${auth.accessKeyId}/${auth.date}/us-east-1/dynamodb/aws4_request, ` +
      `SignedHeaders=${auth.signedHeaders.join(";")}, Signature=${signature}`,
  );
  headers.delete("host");
  return await fetch(url, { method: "POST", headers, body });
}

Deno.test("a JSON call signed UNSIGNED-PAYLOAD is read whole all the same: bounded, and named in the record", async (t) => {
  await using rig = await proxyRig();
  await t.step(
    "UNSIGNED-PAYLOAD: the call goes through and its table is in the record",
    async () => {
      const response = await signedJsonCall(rig.proxy, rig.grant.standIn, {
        target: "DynamoDB_20120810.CreateTable",
        body: JSON.stringify({
          TableName: "unsigned-payload-table",
          AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
          KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
          BillingMode: "PAY_PER_REQUEST",
        }),
        contentSha256: "UNSIGNED-PAYLOAD",
      });
      assert.equal(response.status, 200, await response.text());
      assert.deepEqual(
        rig.grant.calls.map((c) => [c.service, c.action, c.resource, c.status]),
        [["dynamodb", "CreateTable", "unsigned-payload-table", 200]],
      );
    },
  );
  await t.step("an aws-chunked hash outside S3 is refused before anything is sent", async () => {
    const before = rig.aws.requests.length;
    const response = await signedJsonCall(rig.proxy, rig.grant.standIn, {
      target: "DynamoDB_20120810.ListTables",
      body: "{}",
      contentSha256: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    });
    const answer = await response.json();
    assert.equal(response.status, 400);
    assert.equal(answer.__type, "IncompleteSignature");
    assert.match(answer.message, /STREAMING-UNSIGNED-PAYLOAD-TRAILER" outside S3/);
    assert.equal(rig.aws.requests.length, before, "nothing reached the endpoint");
  });
  await t.step("UNSIGNED-PAYLOAD past the bound of a body read whole: refused", async () => {
    await using small = await proxyRig({ maxBufferedBytes: 1024 });
    const response = await signedJsonCall(small.proxy, small.grant.standIn, {
      target: "DynamoDB_20120810.ListTables",
      body: JSON.stringify({ ExclusiveStartTableName: "x".repeat(2048) }),
      contentSha256: "UNSIGNED-PAYLOAD",
    });
    assert.equal(response.status, 400, "DynamoDB answers client errors with 400");
    assert.equal((await response.json()).__type, "RequestEntityTooLarge");
    assert.equal(small.aws.requests.length, 0, "nothing reached the endpoint");
  });
});

Deno.test("the call record names what AWS gets: headers the proxy does not send, and a target S3 ignores, name nothing", async (t) => {
  await using rig = await proxyRig();
  const s3 = (method: string, path: string, extra: Partial<Parameters<typeof signedCall>[2]>) =>
    signedCall(rig.proxy, rig.grant.standIn, {
      method,
      path,
      service: "s3",
      ...extra,
      signed: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD", ...extra.signed },
    });
  const created = await s3("PUT", "/record-bucket", {});
  assert.equal(created.status, 200, await created.text());
  const cases: Array<[string, () => Promise<Response>, string]> = [
    [
      "an unsigned X-Amz-Target on an S3 upload",
      () =>
        s3("PUT", "/record-bucket/a", { body: "x", unsigned: { "x-amz-target": "S3.GetObject" } }),
      "PutObject",
    ],
    [
      "a signed X-Amz-Target on an S3 upload",
      () =>
        s3("PUT", "/record-bucket/b", { body: "x", signed: { "x-amz-target": "S3.GetObject" } }),
      "PutObject",
    ],
    [
      "an unsigned x-amz-copy-source",
      () => s3("PUT", "/record-bucket/c", { body: "x", unsigned: { "x-amz-copy-source": "/o/k" } }),
      "PutObject",
    ],
    [
      "an unsigned X-Amz-Target on a query call",
      () =>
        signedCall(rig.proxy, rig.grant.standIn, {
          method: "POST",
          path: "/",
          service: "sts",
          body: "Action=GetCallerIdentity&Version=2011-06-15",
          signed: { "content-type": "application/x-www-form-urlencoded" },
          unsigned: { "x-amz-target": "AWSSecurityTokenServiceV20110615.AssumeRole" },
        }),
      "GetCallerIdentity",
    ],
  ];
  for (const [name, sent, action] of cases) {
    await t.step(`${name}: ${action}`, async () => {
      const response = await sent();
      assert.equal(response.status, 200, await response.text());
      assert.equal(rig.aws.requests.at(-1)?.action, action, "what the endpoint did");
      assert.equal(rig.grant.calls.at(-1)?.action, action, "what the record says");
    });
  }
});

Deno.test("bodies read whole are bounded together: past the bound a call gets 503, and a later one goes through", async () => {
  const { sha256Hex } = await import("./support/sigv4.ts");
  const arrived = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  let first = true;
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.arrayBuffer();
    if (first) {
      first = false;
      arrived.resolve();
      await release.promise;
    }
    return new Response("{}", { headers: { "content-type": "application/x-amz-json-1.0" } });
  });
  const proxy = await startSigningProxy({
    env: { AWS_ENDPOINT_URL: `http://127.0.0.1:${upstream.addr.port}` },
    maxHeldBytes: 48 * 1024,
  });
  const grant = proxy.addGrant({
    session: () => ({
      accessKeyId: "ASIAREALKEY000000000",
      secretAccessKey: "real-secret",
      sessionToken: "real-token",
      expiration: new Date(Date.now() + 3600_000),
    }),
  });
  const put = (pad: number) => {
    const body = JSON.stringify({ TableName: "t", Item: { pad: { S: "x".repeat(pad) } } });
    return signedJsonCall(proxy, grant.standIn, {
      target: "DynamoDB_20120810.PutItem",
      body,
      contentSha256: sha256Hex(body),
    });
  };
  try {
    const held = put(30_000);
    await arrived.promise;
    const refused = await put(30_000);
    assert.equal(refused.status, 503);
    assert.equal((await refused.json()).__type, "ThrottlingException");
    release.resolve();
    const first = await held;
    assert.equal(first.status, 200, await first.text());
    const later = await put(30_000);
    assert.equal(later.status, 200, "the first call's bytes count no more");
    await later.text();
    // Refused before its body, so its signature, could be checked: counted, not recorded.
    assert.deepEqual(grant.calls.map((c) => [c.status, c.refused]), [
      [200, undefined],
      [200, undefined],
    ]);
    assert.equal(grant.unverifiedCount, 1);
  } finally {
    release.resolve();
    await proxy.close();
    await upstream.shutdown();
  }
});

Deno.test("the parent's AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true sends the calls to AWS, not its AWS_ENDPOINT_URL*, as the SDK would", async (t) => {
  const reached: string[] = [];
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    reached.push(new URL(req.url).pathname);
    return new Response("<ListBucketResult/>");
  });
  const local = `http://127.0.0.1:${upstream.addr.port}`;
  const session = () => ({
    accessKeyId: "ASIAREALKEY000000000",
    secretAccessKey: "real-secret",
    sessionToken: "real-token",
    expiration: new Date(Date.now() + 3600_000),
  });
  const call = async (value: string | undefined) => {
    const ignore: Record<string, string> = value === undefined
      ? {}
      : { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: value };
    const proxy = await startSigningProxy({
      env: { AWS_ENDPOINT_URL: local, AWS_ENDPOINT_URL_S3: local, ...ignore },
      idleTimeoutMs: 3000,
    });
    try {
      const grant = proxy.addGrant({ session });
      const response = await signedGet(proxy, grant.standIn, "/bucket-x");
      await response.body?.cancel();
      return { status: response.status, calls: grant.calls };
    } finally {
      await proxy.close();
    }
  };
  try {
    // The SDK reads the variable as exactly true or false; anything else leaves the URLs on.
    for (const value of [undefined, "false", "TRUE", "1", ""]) {
      await t.step(
        `${JSON.stringify(value ?? "unset")}: the parent's AWS_ENDPOINT_URL_S3`,
        async () => {
          reached.length = 0;
          const { status } = await call(value);
          assert.equal(status, 200);
          assert.deepEqual(reached, ["/bucket-x"]);
        },
      );
    }
    await t.step("\"true\": AWS's own S3 endpoint, never the parent's", async () => {
      reached.length = 0;
      const { status, calls } = await call("true");
      // This machine reaches no AWS: the proxy's own answer, or AWS's refusal where it can.
      assert.notEqual(status, 200);
      assert.deepEqual(reached, [], "nothing reached the parent's AWS_ENDPOINT_URL_S3");
      assert.equal(calls.length, 1, "the call is the client's own, sent on and recorded");
    });
    await t.step('"true": an endpoint variable the SDK would ignore is not refused', async () => {
      const proxy = await startSigningProxy({
        env: {
          AWS_ENDPOINT_URL_S3: "ftp://minio.internal",
          AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true",
        },
      });
      await proxy.close();
    });
  } finally {
    await upstream.shutdown();
  }
});

Deno.test("the parent's profile's ignore_configured_endpoint_urls = true ([default]'s, or AWS_PROFILE's) sends the calls to AWS, as the JS SDK reads it", async (t) => {
  const reached: string[] = [];
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    reached.push(new URL(req.url).pathname);
    return new Response("<ListBucketResult/>");
  });
  const local = `http://127.0.0.1:${upstream.addr.port}`;
  await using dir = await tempDir("tbi-proxy-ignore-");
  const session = () => ({
    accessKeyId: "ASIAREALKEY000000000",
    secretAccessKey: "real-secret",
    sessionToken: "real-token",
    expiration: new Date(Date.now() + 3600_000),
  });
  let n = 0;
  /** Starts a proxy with `config` as the parent's ~/.aws/config and sends it one S3 call. */
  const call = async (config: string, env: Record<string, string> = {}) => {
    // A new file each time: the SDK's loader keeps what it read of a path.
    const files = { config: `${dir.path}/config-${++n}`, credentials: `${dir.path}/creds-${n}` };
    await Deno.writeTextFile(files.config, config);
    await Deno.writeTextFile(files.credentials, "");
    const proxy = await startSigningProxy({
      env: {
        AWS_CONFIG_FILE: files.config,
        AWS_SHARED_CREDENTIALS_FILE: files.credentials,
        AWS_ENDPOINT_URL_S3: local,
        ...env,
      },
      idleTimeoutMs: 3000,
    });
    try {
      const grant = proxy.addGrant({ session });
      reached.length = 0;
      const response = await signedGet(proxy, grant.standIn, "/bucket-x");
      await response.body?.cancel();
      return { status: response.status, reached: [...reached], calls: grant.calls.length };
    } finally {
      await proxy.close();
    }
  };
  const ignoring = "ignore_configured_endpoint_urls = true\n";
  try {
    for (
      const [name, config, env] of [
        ["[default]'s", `[default]\n${ignoring}`, {}],
        ["AWS_PROFILE's", `[default]\n\n[profile dev]\n${ignoring}`, { AWS_PROFILE: "dev" }],
      ] as const
    ) {
      await t.step(`${name}: AWS's own S3 endpoint, never the parent's`, async () => {
        const result = await call(config, env);
        // This machine reaches no AWS: the proxy's own answer, or AWS's refusal where it can.
        assert.notEqual(result.status, 200);
        assert.deepEqual(result.reached, [], "nothing reached the parent's AWS_ENDPOINT_URL_S3");
        assert.equal(result.calls, 1, "the call is the client's own, sent on and recorded");
      });
    }
    for (
      const [name, config, env] of [
        // The SDK reads AWS_PROFILE's profile, else [default]; never AWS_DEFAULT_PROFILE's.
        ["another profile's", `[profile dev]\n${ignoring}`, { AWS_DEFAULT_PROFILE: "dev" }],
        ["[default]'s under AWS_PROFILE", `[default]\n${ignoring}\n[profile dev]\n`, {
          AWS_PROFILE: "dev",
        }],
        // The variable, exactly false, wins over the profile.
        ["[default]'s with the variable false", `[default]\n${ignoring}`, {
          AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "false",
        }],
        // The JS SDK reads only exactly true (the AWS CLI, any case).
        ["[default]'s TRUE", "[default]\nignore_configured_endpoint_urls = TRUE\n", {}],
      ] as const
    ) {
      await t.step(`${name}: the parent's AWS_ENDPOINT_URL_S3`, async () => {
        const result = await call(config, env);
        assert.equal(result.status, 200);
        assert.deepEqual(result.reached, ["/bucket-x"]);
      });
    }
    await t.step(
      "[default]'s: an endpoint variable the SDK would ignore is not refused",
      async () => {
        const config = `${dir.path}/config-bad`;
        await Deno.writeTextFile(config, `[default]\n${ignoring}`);
        const proxy = await startSigningProxy({
          env: { AWS_CONFIG_FILE: config, AWS_ENDPOINT_URL_S3: "ftp://minio.internal" },
        });
        await proxy.close();
      },
    );
  } finally {
    await upstream.shutdown();
  }
});

Deno.test("an invalid AWS_ENDPOINT_URL* is refused in one line that never repeats its value", async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ["http://me:s3cr3t-pw@minio.internal:9000", "s3cr3t-pw", /it holds a user name or password$/],
    ["https://minio.internal/?X-Token=s3cr3t-tok", "s3cr3t-tok", /it has a query or fragment$/],
    ["s3cr3t-pw@minio:9000", "s3cr3t-pw", /it is not a URL$/],
    ["ftp://minio.internal", "minio.internal", /its scheme is "ftp:"$/],
  ];
  for (const [value, secret, reason] of cases) {
    await t.step(reason.source, async () => {
      await assert.rejects(
        () => startSigningProxy({ env: { AWS_ENDPOINT_URL_S3: value } }),
        (error: Error) => {
          assert.equal(error.name, "UsageError");
          assert.match(error.message, /^Invalid AWS_ENDPOINT_URL_S3: /);
          assert.match(error.message, reason);
          assert.ok(!error.message.includes(secret), error.message);
          return true;
        },
      );
    });
  }
});

Deno.test("a signed aws-chunked chunk counts with the bodies held while it is checked, and no longer once passed on", async () => {
  // Room for one 70,000-byte chunk at a time, not for two, nor for one of 100,000.
  await using rig = await proxyRig({ maxHeldBytes: 80 * 1024 });
  const made = await signedCall(rig.proxy, rig.grant.standIn, {
    method: "PUT",
    path: "/held-chunks",
    service: "s3",
    signed: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
  });
  assert.equal(made.status, 200, await made.text());
  const chunks = [new Uint8Array(70_000).fill(1), new Uint8Array(70_000).fill(2)];
  const fits = await signedChunkedPut(rig, { path: "/held-chunks/fits", chunks });
  assert.equal(fits.status, 200, fits.text);
  const again = await signedChunkedPut(rig, { path: "/held-chunks/again", chunks });
  assert.equal(again.status, 200, "each chunk's bytes count no more once passed on");
  const big = await signedChunkedPut(rig, {
    path: "/held-chunks/big",
    chunks: [new Uint8Array(100_000)],
  });
  assert.equal(big.status, 503, big.text);
  assert.match(big.text, /<Code>SlowDown<\/Code>/);
  const stored = rig.aws.requests.filter((r) => r.action === "PutObject" && r.status === 200);
  assert.equal(stored.length, 2, "the refused upload stored nothing");
});

Deno.test("a client that stops sending its headers or its body gets 408 RequestTimeout and its connection closed; a body that keeps coming slowly is read", async () => {
  await using rig = await proxyRig({ loopback: { headersTimeoutMs: 500, bodyIdleMs: 500 } });
  const { toAmzDate } = await import("./support/sigv4.ts");
  const port = Number(new URL(rig.proxy.url).port);
  const { standIn } = rig.grant;
  const amzDate = toAmzDate(new Date());
  const form = "Action=GetCallerIdentity&Version=2011-06-15";
  // Signed with the stand-ins' key and token (the signature itself is checked once the body is in).
  const head = [
    "POST / HTTP/1.1",
    `Host: 127.0.0.1:${port}`,
    `X-Amz-Date: ${amzDate}`,
    `X-Amz-Security-Token: ${standIn.sessionToken}`,
    `Authorization: AWS4-HMAC-SHA256 Credential=${standIn.accessKeyId}/${
      amzDate.slice(0, 8)
    }/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`,
    "Content-Type: application/x-www-form-urlencoded",
    `Content-Length: ${form.length}`,
  ].join("\r\n") + "\r\n\r\n";
  const text = (value: string) => new TextEncoder().encode(value);
  const connect = () => Deno.connect({ hostname: "127.0.0.1", port });
  const [stalledBody, stalledHead, slowBody] = await Promise.all([connect(), connect(), connect()]);
  const started = performance.now();
  await stalledBody.write(text(head + form.slice(0, 10)));
  await stalledHead.write(text(head.slice(0, 40)));
  // Four pieces 300 ms apart: never idle for 500 ms, though the whole takes longer.
  await slowBody.write(text(head.replace("Content-Type", "Connection: close\r\nContent-Type")));
  const slow = readUntilClosed(slowBody, 8000);
  for (let i = 0; i < form.length; i += Math.ceil(form.length / 4)) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    await slowBody.write(text(form.slice(i, i + Math.ceil(form.length / 4))));
  }
  const [body, headers] = await Promise.all([
    readUntilClosed(stalledBody, 5000),
    readUntilClosed(stalledHead, 5000),
  ]);
  assert.match(body ?? "held open", /^HTTP\/1\.1 408 /);
  assert.match(body ?? "", /<Code>RequestTimeout<\/Code>/);
  assert.match(headers ?? "held open", /^HTTP\/1\.1 408 /);
  assert.ok(performance.now() - started < 4000, `${Math.round(performance.now() - started)} ms`);
  // The slow one was read whole, and its (wrong) signature checked: AWS's answer to that.
  const answer = await slow;
  assert.match(answer ?? "held open", /^HTTP\/1\.1 403 /);
  assert.match(answer ?? "", /SignatureDoesNotMatch/);
});

Deno.test("close() does not wait for a client that keeps trickling a request's body: its connection is cut", async () => {
  await using rig = await proxyRig();
  const { toAmzDate } = await import("./support/sigv4.ts");
  const port = Number(new URL(rig.proxy.url).port);
  const { standIn } = rig.grant;
  const amzDate = toAmzDate(new Date());
  // Past the stand-in's token: the proxy reads the body whole before it checks the signature.
  const head = [
    "POST / HTTP/1.1",
    `Host: 127.0.0.1:${port}`,
    `X-Amz-Date: ${amzDate}`,
    `X-Amz-Security-Token: ${standIn.sessionToken}`,
    `Authorization: AWS4-HMAC-SHA256 Credential=${standIn.accessKeyId}/${
      amzDate.slice(0, 8)
    }/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`,
    "Content-Length: 100000",
  ].join("\r\n") + "\r\n\r\n";
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(head + "x"));
  // One byte every 100 ms: never idle long enough for the body's deadline.
  let sending = true;
  const trickle = (async () => {
    while (sending) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (!sending) break;
      await conn.write(new Uint8Array([120])).catch(() => (sending = false));
    }
  })();
  const answer = readUntilClosed(conn, 8000);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const started = performance.now();
  const outcome = await Promise.race([
    rig.proxy.close().then(() => "closed"),
    new Promise<string>((resolve) => setTimeout(() => resolve("still waiting"), 4000)),
  ]);
  const waited = Math.round(performance.now() - started);
  sending = false;
  await trickle;
  assert.equal(outcome, "closed", `close() waited ${waited} ms on the trickling client`);
  assert.ok(waited < 3000, `${waited} ms`);
  // The client's connection was ended by the proxy (not by the 8 s timer).
  assert.notEqual(await answer, undefined);
});

/**
 * A request signed with `standIn` as a client that names `host` signs it (the AWS CLI with
 * `--endpoint-url http://127.1:PORT`), as raw lines for {@linkcode rawRequest}. A header value is
 * signed as the proxy reads it: its UTF-8 bytes, one character each.
 */
async function signedRawLines(
  standIn: { accessKeyId: string; secretAccessKey: string; sessionToken: string },
  call: {
    method: string;
    path: string;
    host: string;
    service: string;
    region?: string;
    headers?: Record<string, string>;
    body?: string;
  },
): Promise<string[]> {
  const { canonicalRequest, signString, stringToSign, toAmzDate } = await import(
    "./support/sigv4.ts"
  );
  const amzDate = toAmzDate(new Date());
  const asRead = (text: string) => String.fromCharCode(...new TextEncoder().encode(text));
  const sent: Record<string, string> = {
    host: call.host,
    "x-amz-date": amzDate,
    "x-amz-security-token": standIn.sessionToken,
    ...call.headers,
  };
  const headers = new Headers(
    Object.entries(sent).map(([name, value]) => [name, asRead(value)] as [string, string]),
  );
  const auth = {
    accessKeyId: standIn.accessKeyId,
    date: amzDate.slice(0, 8),
    region: call.region ?? "eu-west-1",
    service: call.service,
    signedHeaders: Object.keys(sent).map((name) => name.toLowerCase()).sort(),
    signature: "",
  };
  const body = new TextEncoder().encode(call.body ?? "");
  const url = new URL(call.path, "http://127.0.0.1");
  const canonical = canonicalRequest({ method: call.method, url, headers, body }, auth);
  const signature = signString(
    standIn.secretAccessKey,
    stringToSign(canonical, amzDate, auth),
    auth,
  );
  return [
    `${call.method} ${call.path} HTTP/1.1`,
    ...Object.entries(sent).map(([name, value]) => `${name}: ${value}`),
    `Authorization: AWS4-HMAC-SHA256 Credential=${auth.accessKeyId}/${auth.date}/${auth.region}/` +
    `${auth.service}/aws4_request, SignedHeaders=${auth.signedHeaders.join(";")}, ` +
    `Signature=${signature}`,
    `Content-Length: ${body.length}`,
    "",
    call.body ?? "",
  ];
}

Deno.test(
  "a request for another Host is recorded under the grant whose stand-in secret signed it, " +
    "named as any call; one that only names its key id is counted, and one that names none is not",
  async (t) => {
    await using rig = await proxyRig();
    const port = new URL(rig.proxy.url).port;
    const { standIn } = rig.grant;
    const { accessKeyId, sessionToken } = standIn;
    const auth = (service: string) =>
      `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20300101/eu-west-1/${service}/aws4_request, ` +
      `SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`;
    const reason = "not for a host, region or service the proxy serves";
    const last = () => rig.grant.calls.at(-1)!;
    await t.step("a JSON call's signed target, neutralised and cut to 256 characters", async () => {
      const out = await rawRequest(
        rig.proxy,
        await signedRawLines(standIn, {
          method: "POST",
          path: "/",
          host: `127.1:${port}`,
          service: "ecr",
          headers: { "x-amz-target": `Evil.Do\u200b\u202eIt${"x".repeat(400)}` },
          body: "{}",
        }),
      );
      assert.equal(out.status, 400, "AccessDeniedException, as the JSON RPC services send it");
      assert.equal(rig.grant.callCount, 1);
      const call = last();
      assert.deepEqual(
        [call.service, call.region, call.status, call.refused, call.refusalReason],
        ["ecr", "eu-west-1", 400, "AccessDeniedException", reason],
      );
      assert.ok(call.action.startsWith("Do") && call.action.length <= 256, call.action);
      assert.doesNotMatch(call.action, /[\p{Cc}\p{Cf}]/u);
    });
    await t.step("a form call's action, from the body read to check its hash", async () => {
      const out = await rawRequest(
        rig.proxy,
        await signedRawLines(standIn, {
          method: "POST",
          path: "/",
          host: `127.1:${port}`,
          service: "ec2",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "Action=DescribeInstances&Version=2016-11-15",
        }),
      );
      assert.equal(out.status, 403);
      assert.equal(rig.grant.callCount, 2);
      assert.deepEqual(
        [last().service, last().action, last().refused, last().refusalReason],
        ["ec2", "DescribeInstances", "UnauthorizedOperation", reason],
      );
    });
    await t.step(
      "a made-up signature, the key without its token, a wrong secret, a presigned URL: " +
        "counted under the grant, never recorded",
      async () => {
        const forged = [
          [
            "GET /bucket HTTP/1.1",
            `Authorization: ${auth("s3")}`,
            `X-Amz-Security-Token: ${sessionToken}`,
          ],
          [
            "GET /bucket HTTP/1.1",
            `Authorization: ${auth("s3")}`,
            "X-Amz-Security-Token: not-the-token",
          ],
          await signedRawLines({ ...standIn, secretAccessKey: "x".repeat(40) }, {
            method: "GET",
            path: "/planted-bucket",
            host: `127.1:${port}`,
            service: "s3",
          }),
          [
            "GET /bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" +
            `${accessKeyId}%2F20300101%2Fus-west-2%2Fs3%2Faws4_request` +
            `&X-Amz-Security-Token=${encodeURIComponent(sessionToken)}` +
            `&X-Amz-Date=20300101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=${
              "0".repeat(64)
            }` +
            " HTTP/1.1",
          ],
        ];
        for (const [first, ...rest] of forged) {
          const lines = first.includes("127.1:")
            ? [first, ...rest]
            : [first, `Host: elsewhere.example:${port}`, ...rest];
          const out = await rawRequest(rig.proxy, lines);
          assert.equal(out.status, 403);
        }
        assert.equal(rig.grant.callCount, 2);
        assert.equal(rig.grant.unverifiedCount, 4);
        assert.ok(!rig.grant.calls.some((c) => /bucket/.test(c.resource ?? "")));
      },
    );
    await t.step("no key, or headers over the bounds: nothing", async () => {
      for (
        const extra of [
          [],
          [
            `Authorization: ${auth("s3")}`,
            `X-Amz-Security-Token: ${sessionToken}`,
            `X-Padding: ${"p".repeat(17 * 1024)}`,
          ],
        ]
      ) {
        const out = await rawRequest(rig.proxy, [
          "GET /bucket HTTP/1.1",
          `Host: attacker.example:${port}`,
          ...extra,
        ]);
        assert.equal(out.status, 403);
      }
      assert.equal(rig.grant.callCount, 2);
      assert.equal(rig.grant.unverifiedCount, 4);
    });
    assert.equal(rig.aws.requests.length, 0);
  },
);
