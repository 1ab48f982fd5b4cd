// The signing proxy in process, between real clients (the AWS CLI v1 found by endpointAwareAws,
// which honours AWS_ENDPOINT_URL, and raw HTTP where a client would never send such a request)
// and the local endpoint, which checks the re-signed requests with the real session as AWS would.
import assert from "node:assert/strict";
import type { SessionCredentials } from "../lib/aws/broker.ts";
import { resolveEndpoint } from "../lib/delivery/aws_endpoints.ts";
import { type SigningProxy, startSigningProxy } from "../lib/delivery/signing_proxy.ts";
import { endpointAwareAws } from "./support/aws_cli.ts";
import { LocalAws, type LocalCredentials } from "./support/local_aws.ts";

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
async function proxyRig(options: { expiration?: Date } = {}) {
  const aws = await LocalAws.start();
  const real = aws.addAssumedRoleCaller({
    roleName: "timebound-iam-broker",
    sessionName: "timebound-iam-rig",
  });
  const session = { ...sessionOf(real), ...options };
  const proxy = startSigningProxy({ env: { AWS_ENDPOINT_URL: aws.url } });
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
  `the AWS CLI with a wrong stand-in secret gets 403 SignatureDoesNotMatch, and AWS sees nothing${cliNote}`,
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
    assert.deepEqual(rig.grant.calls.map((c) => [c.status, c.refused]), [
      [403, "SignatureDoesNotMatch"],
    ]);
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
