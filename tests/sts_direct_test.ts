// The broker's own STS requests: with keys known without the AWS SDK (the environment's, a
// profile's plain keys in the shared files, the vault's, a cached MFA session) and a plain
// endpoint, a grant signs GetCallerIdentity and AssumeRole itself and never loads the SDK; it
// retries, corrects a skewed clock and times out as the SDK's standard mode does. Anything else
// goes through the SDK, as the User-Agent that reached the endpoint shows.
import assert from "node:assert/strict";
import { type Fixture, startFixture } from "./support/fixture.ts";
import type { LocalAws, LocalCredentials } from "./support/local_aws.ts";

const EXEC = ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"];
const OURS = /^timebound-iam\/\d+\.\d+\.\d+$/;
const SDK = /^aws-sdk-js\//;

/** The environment's keys out: the shared files decide. */
const NO_ENV_KEYS = { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" };

/**
 * The profile `dev` of {@linkcode writeDevProfile} named while the environment holds keys too:
 * the SDK's chain takes the profile's, and decides so itself.
 */
const SDK_PROFILE = { AWS_PROFILE: "dev" };

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

/** `aws_access_key_id` and `aws_secret_access_key` (and a session's token) as INI lines. */
function keyLines(keys: LocalCredentials): string {
  return `aws_access_key_id = ${keys.accessKeyId}\naws_secret_access_key = ${keys.secretAccessKey}\n` +
    (keys.sessionToken === undefined ? "" : `aws_session_token = ${keys.sessionToken}\n`);
}

/** Writes `~/.aws/config` and `~/.aws/credentials` (empty when not given). */
async function writeFiles(fx: Fixture, files: { config?: string; credentials?: string }) {
  await Deno.writeTextFile(fx.path(".aws", "config"), files.config ?? "");
  await Deno.writeTextFile(fx.path(".aws", "credentials"), files.credentials ?? "");
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

Deno.test("a profile whose credentials are only keys in the shared files signs its own STS requests with them", async (t) => {
  const cases: {
    name: string;
    args?: string[];
    env?: Record<string, string>;
    files: (keys: LocalCredentials) => { config?: string; credentials?: string };
    session?: boolean;
  }[] = [
    {
      name: "AWS_PROFILE names a profile of ~/.aws/credentials",
      env: { AWS_PROFILE: "prod" },
      files: (keys) => ({ credentials: `[prod]\n${keyLines(keys)}` }),
    },
    {
      name: "--profile names it, beside [default]'s other keys",
      args: ["--profile", "prod"],
      files: (keys) => ({
        credentials: `[default]\naws_access_key_id = AKIADEFAULTNOTUSED00\n` +
          `aws_secret_access_key = not-used\n\n[prod]\n${keyLines(keys)}`,
      }),
    },
    {
      name: "no profile named: [default]",
      files: (keys) => ({ credentials: `[default]\n${keyLines(keys)}` }),
    },
    {
      name: "[profile prod] of ~/.aws/config, beside its region and output",
      env: { AWS_PROFILE: "prod" },
      files: (keys) => ({
        config: `[profile prod]\nregion = us-east-1\noutput = json\n${keyLines(keys)}`,
      }),
    },
    {
      name: "a session's keys with aws_session_token",
      env: { AWS_PROFILE: "prod" },
      files: (keys) => ({ credentials: `[prod]\n${keyLines(keys)}` }),
      session: true,
    },
    {
      name: "only AWS_DEFAULT_PROFILE names it, beside [default]'s other keys",
      env: { AWS_DEFAULT_PROFILE: "prod" },
      files: (keys) => ({
        credentials: `[default]\naws_access_key_id = AKIADEFAULTNOTUSED00\n` +
          `aws_secret_access_key = not-used\n\n[prod]\n${keyLines(keys)}`,
      }),
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await using fx = await startFixture({ prefix: "tbi-direct-" });
      const keys = c.session
        ? fx.aws.addAssumedRoleCaller({ roleName: "base-role" })
        : fx.aws.addUser({ userName: "prod-user" });
      await writeFiles(fx, c.files(keys));
      const result = await fx.run([EXEC[0], ...c.args ?? [], ...EXEC.slice(1)], {
        env: { ...NO_ENV_KEYS, ...c.env },
      });
      assert.equal(result.code, 0, result.stderr);
      const calls = sts(fx.aws);
      assert.deepEqual(calls.map((r) => [r.action, r.status]), [
        ["GetCallerIdentity", 200],
        ["AssumeRole", 200],
      ]);
      for (const call of calls) {
        assert.match(call.userAgent ?? "", OURS);
        assert.equal(call.accessKeyId, keys.accessKeyId);
      }
    });
  }
});

Deno.test("a profile's keys beside other credential settings, in both files or beside the environment's stay on the AWS SDK, with the keys it picks", async (t) => {
  const cases: {
    name: string;
    env?: Record<string, string>;
    files: (
      keys: LocalCredentials,
      other: LocalCredentials,
      roleArn: string,
    ) => { config?: string; credentials?: string };
    /** Who signs the first STS call: the profile's keys, the other user's. */
    signer: "keys" | "other";
  }[] = [
    {
      // The SDK assumes the role with the source's keys, never the profile's own.
      name: "role_arn and source_profile beside the profile's keys",
      files: (keys, other, roleArn) => ({
        config: `[profile prod]\nrole_arn = ${roleArn}\nsource_profile = base\n`,
        credentials: `[prod]\n${keyLines(keys)}\n[base]\n${keyLines(other)}`,
      }),
      signer: "other",
    },
    {
      name: "credential_process beside the keys",
      files: (keys) => ({
        config: `[profile prod]\ncredential_process = /bin/false\n`,
        credentials: `[prod]\n${keyLines(keys)}`,
      }),
      signer: "keys",
    },
    {
      name: "sso_session beside the keys",
      files: (keys) => ({
        config: `[profile prod]\nsso_session = corp\n\n` +
          `[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n`,
        credentials: `[prod]\n${keyLines(keys)}`,
      }),
      signer: "keys",
    },
    {
      // The SDK reads both files, the credentials file's values over the config file's.
      name: "keys in both files, with different values",
      files: (keys, other) => ({
        config: `[profile prod]\n${keyLines(other)}`,
        credentials: `[prod]\n${keyLines(keys)}`,
      }),
      signer: "keys",
    },
    {
      // The SDK takes the profile's, warning that a later version may take the environment's.
      name: "AWS_PROFILE names the profile while the environment holds keys",
      env: { AWS_PROFILE: "prod" },
      files: (keys) => ({ credentials: `[prod]\n${keyLines(keys)}` }),
      signer: "keys",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await using fx = await startFixture({ prefix: "tbi-direct-" });
      const keys = fx.aws.addUser({ userName: "prod-user" });
      const other = fx.aws.addUser({ userName: "other-user" });
      const roleArn = fx.aws.addRole({ roleName: "prod-role" }).arn;
      await writeFiles(fx, c.files(keys, other, roleArn));
      // The environment's keys (the endpoint's default user's) only where the case names them.
      const env = c.env ?? { ...NO_ENV_KEYS, AWS_PROFILE: "prod" };
      const result = await fx.run(EXEC, { env });
      assert.equal(result.code, 0, result.stderr);
      const calls = sts(fx.aws);
      assert.equal(calls.at(-1)?.action, "AssumeRole");
      for (const call of calls) assert.match(call.userAgent ?? "", SDK);
      const signer = c.signer === "keys" ? keys : other;
      assert.equal(calls[0].accessKeyId, signer.accessKeyId);
      const unused = [keys, other, fx.aws.defaultUser].filter((k) => k !== signer);
      for (const call of calls) {
        assert.ok(!unused.some((k) => k.accessKeyId === call.accessKeyId), call.accessKeyId);
      }
    });
  }
});

Deno.test("keys in the environment sign over a profile that only AWS_DEFAULT_PROFILE names, and none of its settings apply", async (t) => {
  const cases: {
    name: string;
    files: (keys: LocalCredentials, roleArn: string, serial: string) => {
      config?: string;
      credentials?: string;
    };
  }[] = [
    {
      name: "its keys, beside [default]'s",
      files: (keys) => ({
        credentials: `[default]\naws_access_key_id = AKIADEFAULTNOTUSED00\n` +
          `aws_secret_access_key = not-used\n\n[prod]\n${keyLines(keys)}`,
      }),
    },
    {
      // A grant that asked for the device's code would stop here: no terminal, no --mfa-code.
      name: "its role_arn and mfa_serial",
      files: (keys, roleArn, serial) => ({
        config: `[profile prod]\nrole_arn = ${roleArn}\nsource_profile = base\n` +
          `mfa_serial = ${serial}\n`,
        credentials: `[base]\n${keyLines(keys)}`,
      }),
    },
    {
      // Followed, it would send the grant to AWS's own STS, past AWS_ENDPOINT_URL_STS.
      name: "its ignore_configured_endpoint_urls",
      files: (keys) => ({
        config: `[profile prod]\nignore_configured_endpoint_urls = true\n`,
        credentials: `[prod]\n${keyLines(keys)}`,
      }),
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await using fx = await startFixture({ prefix: "tbi-direct-" });
      const keys = fx.aws.addUser({ userName: "prod-user" });
      const roleArn = fx.aws.addRole({ roleName: "prod-role" }).arn;
      const serial = fx.aws.addMfaDevice({ userName: "prod-user" }).serialNumber;
      await writeFiles(fx, c.files(keys, roleArn, serial));
      // The config file's entry for prod names another broker role and device: not used either.
      const prodBroker = fx.aws.addRole({ roleName: "timebound-iam-broker-prod" }).arn;
      await Deno.mkdir(fx.path("tbi"), { mode: 0o700 });
      await Deno.writeTextFile(
        fx.path("tbi", "config.json"),
        JSON.stringify({ profiles: { prod: { roleArn: prodBroker, mfaSerial: serial } } }),
        { mode: 0o600 },
      );
      const result = await fx.run(EXEC, {
        env: { AWS_DEFAULT_PROFILE: "prod", TIMEBOUND_IAM_CONFIG: fx.path("tbi", "config.json") },
      });
      assert.equal(result.code, 0, result.stderr);
      const calls = sts(fx.aws);
      assert.deepEqual(calls.map((r) => r.action), ["GetCallerIdentity", "AssumeRole"]);
      for (const call of calls) {
        assert.match(call.userAgent ?? "", OURS);
        assert.equal(call.accessKeyId, fx.aws.defaultUser.accessKeyId);
      }
      assert.equal(calls[1].params.RoleArn, fx.aws.brokerRoleArn);
    });
  }
  await t.step("--profile and AWS_PROFILE still win over the environment's keys", async () => {
    for (const named of [{ args: ["--profile", "prod"] }, { env: { AWS_PROFILE: "prod" } }]) {
      await using fx = await startFixture({ prefix: "tbi-direct-" });
      const keys = fx.aws.addUser({ userName: "prod-user" });
      await writeFiles(fx, { credentials: `[prod]\n${keyLines(keys)}` });
      const result = await fx.run([EXEC[0], ...named.args ?? [], ...EXEC.slice(1)], {
        env: { AWS_DEFAULT_PROFILE: "other", ...named.env },
      });
      assert.equal(result.code, 0, result.stderr);
      const calls = sts(fx.aws);
      assert.deepEqual(calls.map((r) => r.action), ["GetCallerIdentity", "AssumeRole"]);
      for (const call of calls) assert.equal(call.accessKeyId, keys.accessKeyId);
    }
  });
});

Deno.test("the AWS SDK still signs with a proxy variable, or an endpoint URL with a password", async (t) => {
  const cases: { name: string; env: (aws: LocalAws) => Record<string, string> }[] = [
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
