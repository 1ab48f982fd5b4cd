// The broker's own STS requests: with keys known without the AWS SDK (the environment's, the
// vault's, a cached MFA session) and a plain endpoint, a grant signs GetCallerIdentity and
// AssumeRole itself and never loads the SDK; it retries, corrects a skewed clock and times out
// as the SDK's standard mode does. Anything else goes through the SDK, as the User-Agent that
// reached the endpoint shows.
import assert from "node:assert/strict";
import { type Fixture, startFixture } from "./support/fixture.ts";
import type { LocalAws } from "./support/local_aws.ts";

const EXEC = ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"];
const OURS = /^timebound-iam\/\d+\.\d+\.\d+$/;
const SDK = /^aws-sdk-js\//;

/** The environment's keys out, the profile `dev` of {@linkcode writeDevProfile} in. */
const SDK_PROFILE = { AWS_PROFILE: "dev", AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" };

/** Writes the endpoint's default user's keys as the profile `dev` in ~/.aws/credentials. */
async function writeDevProfile(fx: Fixture): Promise<void> {
  const keys = fx.aws.defaultUser;
  await Deno.writeTextFile(
    fx.path(".aws", "credentials"),
    `[dev]\naws_access_key_id = ${keys.accessKeyId}\naws_secret_access_key = ${keys.secretAccessKey}\n`,
  );
}

function sts(aws: LocalAws) {
  return aws.requests.filter((r) => r.service === "sts");
}

Deno.test("a grant with the environment's keys signs its own STS requests, which AWS's checks accept", async () => {
  await using fx = await startFixture({ prefix: "tbi-direct-" });
  const result = await fx.run(EXEC);
  assert.equal(result.code, 0, result.stderr);
  const calls = sts(fx.aws);
  assert.deepEqual(calls.map((r) => [r.action, r.status]), [
    ["GetCallerIdentity", 200],
    ["AssumeRole", 200],
  ]);
  for (const call of calls) assert.match(call.userAgent ?? "", OURS);
  assert.equal(calls[1].params.Version, "2011-06-15");
  assert.equal(calls[1].params.DurationSeconds, "900");
  assert.match(calls[1].params.RoleSessionName, /^timebound-iam-[0-9a-f-]{36}$/);
  assert.ok(JSON.parse(calls[1].params.Policy).Statement.length > 0);
});

Deno.test("the AWS SDK still signs for a profile's keys, a proxy variable, or an endpoint URL with a password", async (t) => {
  const cases: { name: string; env: (aws: LocalAws) => Record<string, string> }[] = [
    { name: "a profile's keys in ~/.aws/credentials", env: () => SDK_PROFILE },
    // The SDK's HTTP client, run by `deno run` without --use-env-proxy, sends directly.
    { name: "HTTPS_PROXY", env: () => ({ HTTPS_PROXY: "http://127.0.0.1:9" }) },
    {
      name: "user:password@ in AWS_ENDPOINT_URL_STS",
      env: (aws) => ({ AWS_ENDPOINT_URL_STS: aws.url.replace("//", "//u:pw@") }),
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await using fx = await startFixture({ prefix: "tbi-direct-" });
      await writeDevProfile(fx);
      const result = await fx.run(EXEC, { env: c.env(fx.aws) });
      assert.equal(result.code, 0, result.stderr);
      const calls = sts(fx.aws);
      assert.deepEqual(calls.map((r) => r.action), ["GetCallerIdentity", "AssumeRole"]);
      for (const call of calls) assert.match(call.userAgent ?? "", SDK);
    });
  }
});

Deno.test("throttling and AWS's internal errors are tried three times in all, a refusal once", async (t) => {
  await t.step("throttled twice, then granted", async () => {
    await using fx = await startFixture({ prefix: "tbi-direct-" });
    fx.aws.failNext("AssumeRole", "Throttling", { times: 2 });
    const result = await fx.run(EXEC);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      sts(fx.aws).filter((r) => r.action === "AssumeRole").map((r) => r.errorCode ?? r.status),
      ["Throttling", "Throttling", 200],
    );
  });
  await t.step("throttled three times: one sentence, exit 1", async () => {
    await using fx = await startFixture({ prefix: "tbi-direct-" });
    fx.aws.failNext("AssumeRole", "Throttling", { times: 5 });
    const result = await fx.run(EXEC);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^error: AWS throttled AssumeRole \(Throttling\) after retries\n/);
    assert.equal(sts(fx.aws).filter((r) => r.action === "AssumeRole").length, 3);
  });
  await t.step("an internal failure, then granted", async () => {
    await using fx = await startFixture({ prefix: "tbi-direct-" });
    fx.aws.failNext("GetCallerIdentity", "InternalFailure");
    const result = await fx.run(EXEC);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(sts(fx.aws).map((r) => [r.action, r.status]), [
      ["GetCallerIdentity", 500],
      ["GetCallerIdentity", 200],
      ["AssumeRole", 200],
    ]);
  });
  await t.step("access denied: not asked again", async () => {
    await using fx = await startFixture({ prefix: "tbi-direct-" });
    fx.aws.failNext("AssumeRole", "AccessDenied");
    const result = await fx.run(EXEC);
    assert.equal(result.code, 1);
    assert.equal(result.stderr.split("\n")[0].startsWith("error: "), true, result.stderr);
    assert.equal(sts(fx.aws).filter((r) => r.action === "AssumeRole").length, 1);
  });
});

Deno.test("a clock 20 minutes off AWS's is corrected from the answer's Date and the request signed again", async () => {
  for (const skew of [20 * 60_000, -20 * 60_000]) {
    await using fx = await startFixture({ prefix: "tbi-direct-", aws: { clockSkewMs: skew } });
    const result = await fx.run(EXEC);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(sts(fx.aws).map((r) => [r.action, r.errorCode ?? r.status]), [
      ["GetCallerIdentity", "SignatureDoesNotMatch"],
      ["GetCallerIdentity", 200],
      // The correction holds for the calls that follow.
      ["AssumeRole", 200],
    ]);
  }
});

Deno.test("an endpoint that does not answer: the same line as through the SDK, within TIMEBOUND_IAM_TIMEOUT", async () => {
  const firstLines: string[] = [];
  for (const viaSdk of [false, true]) {
    await using fx = await startFixture({ prefix: "tbi-direct-" });
    await writeDevProfile(fx);
    fx.aws.answerAfter(30_000, "AssumeRole");
    const env = { TIMEBOUND_IAM_TIMEOUT: "1", ...viaSdk ? SDK_PROFILE : {} };
    const result = await fx.run(EXEC, { env });
    assert.equal(result.code, 1);
    firstLines.push(result.stderr.split("\n")[0]);
    const calls = sts(fx.aws).filter((r) => r.action === "AssumeRole");
    assert.equal(calls.length, 1);
    assert.match(calls[0].userAgent ?? "", viaSdk ? SDK : OURS);
  }
  assert.deepEqual(firstLines, [
    "error: Could not reach AWS STS: timed out",
    "error: Could not reach AWS STS: timed out",
  ]);
});

Deno.test("a session token a header cannot carry is refused without being shown, --debug included", async () => {
  await using fx = await startFixture({ prefix: "tbi-direct-" });
  for (const token of ["SECRETPART1\nSECRETPART2", "SECRETPART1\rSECRETPART2"]) {
    const result = await fx.run(["--debug", ...EXEC], { env: { AWS_SESSION_TOKEN: token } });
    assert.equal(result.code, 1);
    assert.ok(!/SECRETPART/.test(result.stderr + result.stdout), result.stderr);
  }
  assert.equal(sts(fx.aws).length, 0);
});

Deno.test("ignore_configured_endpoint_urls in [default] keeps the signed requests off AWS_ENDPOINT_URL_STS, as the SDK does", async () => {
  await using fx = await startFixture({ prefix: "tbi-direct-" });
  await Deno.writeTextFile(
    fx.path(".aws", "config"),
    "[default]\nignore_configured_endpoint_urls = true\n",
  );
  // AWS's own endpoint cannot be reached from the tests: the grant fails, having sent nothing here.
  const result = await fx.run(EXEC, { env: { TIMEBOUND_IAM_TIMEOUT: "2" } });
  assert.equal(result.code, 1);
  assert.equal(fx.aws.requests.length, 0);
});

Deno.test("a connection that fails in TLS names neither the endpoint's path nor its addresses", async () => {
  await using fx = await startFixture({ prefix: "tbi-direct-" });
  // The local endpoint speaks plain HTTP: https:// to it fails in the TLS handshake.
  const url = fx.aws.url.replace("http://", "https://") + "/private-path-(x)/";
  const result = await fx.run(EXEC, { env: { AWS_ENDPOINT_URL_STS: url } });
  assert.equal(result.code, 1);
  assert.equal(result.stderr.split("\n").filter((line) => line.startsWith("error: ")).length, 1);
  assert.ok(!result.stderr.includes("private-path"), result.stderr);
  const port = new URL(fx.aws.url).port;
  const lines = result.stderr.split("\n").filter((line) => line.includes(port));
  // Only "Could not reach https://127.0.0.1:PORT" may name it, never the client's own address.
  assert.ok(lines.every((line) => /reach https:\/\/127\.0\.0\.1:\d+\b/.test(line)), result.stderr);
});
