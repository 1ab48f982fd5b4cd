// credential-process: its JSON, its cache (one grant for calls that miss it together, one entry
// per base keys), never a prompt, no fork bomb. Through the AWS CLI: credential_process_cli_test.ts.
import assert from "node:assert/strict";
import { installShim, runCli } from "./support/cli.ts";
import { processCacheKey } from "../lib/cli/process_flow.ts";
import { resolveGrantSettings } from "../lib/grant/settings.ts";
import { startFixture, tempDir } from "./support/fixture.ts";
import { BROKER_ROLE_NAME, type LocalAws } from "./support/local_aws.ts";

function assumes(aws: LocalAws) {
  return aws.requests.filter((r) => r.action === "AssumeRole");
}

Deno.test("credential-process calls that all miss the cache make one grant between them", async () => {
  await using fx = await startFixture({ prefix: "tbi-process-" });
  const { aws, home } = fx;
  const env = { ...aws.env(), HOME: home, XDG_CACHE_HOME: `${home}/.cache` };
  const args = ["credential-process", "-s", "s3:ro", "-t", "15m"];
  // As an AWS tool run in parallel starts them: at once, on an empty cache.
  const results = await Promise.all([1, 2, 3, 4].map(() => runCli(args, { env })));
  for (const result of results) assert.equal(result.code, 0, result.stderr);
  const keys = results.map((result) => JSON.parse(result.stdout).AccessKeyId);
  assert.equal(new Set(keys).size, 1, keys.join(" "));
  assert.equal(assumes(aws).length, 1);
  const dir = `${home}/.cache/timebound-iam/credential-process`;
  for await (const entry of Deno.readDir(dir)) {
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(`${dir}/${entry.name}`)).mode! & 0o777, 0o600, entry.name);
    }
  }
});

Deno.test("credential-process with other keys in the environment is another cache entry: their own session, their own name", async () => {
  await using fx = await startFixture({ prefix: "tbi-process-" });
  const { aws, home } = fx;
  const bot = aws.addUser({ userName: "ci-bot" });
  const env = { ...aws.env(), HOME: home, XDG_CACHE_HOME: `${home}/.cache` };
  const args = ["credential-process", "-s", "s3:ro", "-t", "15m"];
  const first = await runCli(args, { env });
  assert.equal(first.code, 0, first.stderr);
  const other = await runCli(args, {
    env: {
      ...env,
      AWS_ACCESS_KEY_ID: bot.accessKeyId,
      AWS_SECRET_ACCESS_KEY: bot.secretAccessKey,
    },
  });
  assert.equal(other.code, 0, other.stderr);
  assert.notEqual(JSON.parse(other.stdout).AccessKeyId, JSON.parse(first.stdout).AccessKeyId);
  assert.deepEqual(assumes(aws).map((r) => r.params.SourceIdentity), ["developer", "ci-bot"]);
  // Each is still cached for its own keys.
  assert.equal((await runCli(args, { env })).stdout, first.stdout);
  assert.equal(assumes(aws).length, 2);
});

Deno.test("credential-process after an edit of the profile's role chain grants from the new chain, not the cache", async () => {
  await using fx = await startFixture({ prefix: "tbi-process-" });
  const { aws, home } = fx;
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...endpoint } = aws.env();
  const env = { ...endpoint, HOME: home, XDG_CACHE_HOME: `${home}/.cache` };
  const base = aws.defaultUser;
  await Deno.writeTextFile(
    fx.path(".aws", "credentials"),
    `[base]\naws_access_key_id = ${base.accessKeyId}\n` +
      `aws_secret_access_key = ${base.secretAccessKey}\n`,
  );
  const blue = aws.addRole({ roleName: "blue" }).arn;
  const green = aws.addRole({ roleName: "green" }).arn;
  const hub = aws.addRole({ roleName: "hub" }).arn;
  const args = ["credential-process", "-s", "s3:ro", "-t", "15m", "--profile", "prod"];
  const grant = async (config: string) => {
    await Deno.writeTextFile(fx.path(".aws", "config"), config);
    const result = await runCli(args, { env });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout).AccessKeyId as string;
  };
  const roles = () =>
    assumes(aws).map((r) => r.params.RoleArn?.split("/").pop()).filter((r) =>
      r !== BROKER_ROLE_NAME
    );
  const first = await grant(`[profile prod]\nsource_profile = base\nrole_arn = ${blue}\n`);
  assert.equal(await grant(`[profile prod]\nsource_profile = base\nrole_arn = ${blue}\n`), first);
  assert.deepEqual(roles(), ["blue"], "the same chain: the cache");
  // Another role: its own grant, whose base credentials are the new role's session.
  const second = await grant(`[profile prod]\nsource_profile = base\nrole_arn = ${green}\n`);
  assert.notEqual(second, first);
  assert.deepEqual(roles(), ["blue", "green"]);
  // Another source, further up the chain: its own grant too.
  const third = await grant(
    `[profile prod]\nsource_profile = mid\nrole_arn = ${green}\n\n` +
      `[profile mid]\nsource_profile = base\nrole_arn = ${hub}\n`,
  );
  assert.notEqual(third, second);
  assert.deepEqual(roles(), ["blue", "green", "hub", "green"]);
});

Deno.test({
  name: "credential-process prints the credential_process JSON, and never asks",
  async fn() {
    await using fx = await startFixture({ prefix: "tbi-process-" });
    const { aws, home } = fx;
    const env = { ...aws.env(), HOME: home, XDG_CACHE_HOME: `${home}/.cache` };
    // No --no-confirm and no terminal: exec would refuse; credential-process just answers.
    const result = await runCli(["credential-process", "-s", "s3:ro", "-t", "15m"], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    const json = JSON.parse(result.stdout);
    assert.deepEqual(Object.keys(json), [
      "Version",
      "AccessKeyId",
      "SecretAccessKey",
      "SessionToken",
      "Expiration",
    ]);
    assert.equal(json.Version, 1);
    assert.match(json.AccessKeyId, /^ASIA/);
    // Another TTL is another cache entry: a second AssumeRole.
    const other = await runCli(["credential-process", "-s", "s3:ro", "-t", "30m"], { env });
    assert.equal(other.code, 0, other.stderr);
    assert.notEqual(JSON.parse(other.stdout).AccessKeyId, json.AccessKeyId);
    assert.equal(assumes(aws).length, 2);
    const bad = await runCli(["credential-process", "-s", "s3:nope", "-t", "15m"], { env });
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, "");
    assert.match(bad.stderr, /^error: .*\n/);
  },
});

Deno.test({
  name: "a profile whose credential_process needs itself stops with one error, not a fork bomb",
  ignore: Deno.build.os === "windows",
  async fn() {
    await using fx = await startFixture({ prefix: "tbi-process-" });
    const { aws, home } = fx;
    await installShim(`${home}/bin`);
    const { AWS_ACCESS_KEY_ID: _, AWS_SECRET_ACCESS_KEY: __, ...endpoints } = aws.env();
    await Deno.writeTextFile(
      `${home}/.aws/config`,
      "[profile loop]\n" +
        `credential_process = ${home}/bin/timebound-iam credential-process -s s3:ro -t 15m\n`,
    );
    const result = await runCli(["credential-process", "-s", "s3:ro", "-t", "15m"], {
      env: { ...endpoints, HOME: home, AWS_PROFILE: "loop", XDG_CACHE_HOME: `${home}/.cache` },
    });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, "");
    assert.equal(
      result.stderr,
      'error: Profile "loop" cannot hold the base credentials of credential-process: its ' +
        "credential_process runs timebound-iam credential-process itself\n" +
        "hint: name the profile with the base credentials in the credential_process line " +
        "(--profile NAME), and do not export AWS_PROFILE naming the timebound-iam profile\n",
    );
    assert.equal(assumes(aws).length, 0);
  },
});

Deno.test("credential-process never asks for an MFA code: a cached MFA session, or exit 1", async () => {
  await using fx = await startFixture({ prefix: "tbi-process-mfa-" });
  const { aws, home } = fx;
  aws.addRole({
    roleName: BROKER_ROLE_NAME,
    trustPolicy: {
      Version: "2012-10-17",
      Statement: [{
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${aws.accountId}:root` },
        Action: ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
        Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } },
      }],
    },
  });
  const { serialNumber: serial } = aws.addMfaDevice();
  const env = { ...aws.env(), HOME: home, TIMEBOUND_IAM_MFA_SERIAL: serial };
  const process = ["credential-process", "-s", "s3:ro", "-t", "15m"];
  // No cached MFA session: one error, exit 1, nothing asked, nothing assumed.
  const refused = await runCli(process, { env });
  assert.equal(refused.code, 1, refused.stderr);
  assert.equal(refused.stdout, "");
  assert.equal(
    refused.stderr,
    `error: An MFA code for ${serial} is needed, and credential-process never asks for one\n` +
      "hint: run timebound-iam mfa login first: its cached MFA session is used until it ends\n",
  );
  assert.equal(assumes(aws).length, 0);
  // After mfa login, the cached MFA session is used: no code, no prompt.
  const login = await runCli(["mfa", "login", "--mfa-code", aws.mfaCode(serial)], { env });
  assert.equal(login.code, 0, login.stderr);
  const granted = await runCli(process, { env });
  assert.equal(granted.code, 0, granted.stderr);
  assert.equal(granted.stderr, "");
  assert.equal(JSON.parse(granted.stdout).Version, 1);
  assert.equal(assumes(aws).length, 1);
  assert.equal(aws.requests.filter((r) => r.action === "GetSessionToken").length, 1);
});

Deno.test("credential-process's cache key follows whose base credentials the SDK would take", async () => {
  await using tmp = await tempDir("tbi-process-key-");
  const home = tmp.path;
  const flags = { scope: ["s3:ro"], ttl: "15m" };
  const key = (env: Record<string, string>, profile?: string) =>
    processCacheKey({ ...flags, profile }, { HOME: home, ...env });
  const keysA = { AWS_ACCESS_KEY_ID: "AKIAAAAAAAAAAAAAAAAA", AWS_SECRET_ACCESS_KEY: "a" };
  const keysB = { AWS_ACCESS_KEY_ID: "AKIABBBBBBBBBBBBBBBB", AWS_SECRET_ACCESS_KEY: "b" };
  const web = (role: string) => ({ AWS_WEB_IDENTITY_TOKEN_FILE: "/t", AWS_ROLE_ARN: role });
  const differ: Array<[string, Record<string, string>, Record<string, string>]> = [
    ["keys in the environment", keysA, keysB],
    ["a web identity's role", web("arn:aws:iam::1:role/a"), web("arn:aws:iam::1:role/b")],
    [
      "a container endpoint",
      { AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:1/a" },
      { AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:1/b" },
    ],
    ["the shared config file", { AWS_CONFIG_FILE: "/a" }, { AWS_CONFIG_FILE: "/b" }],
    ["the profile", { AWS_PROFILE: "a" }, { AWS_PROFILE: "b" }],
  ];
  for (const [what, a, b] of differ) assert.notEqual(await key(a), await key(b), what);
  // A named profile is what the SDK uses, whatever keys are exported.
  assert.equal(await key(keysA, "dev"), await key(keysB, "dev"));
  assert.equal(
    await key({ ...keysA, AWS_PROFILE: "dev" }),
    await key({ ...keysB, AWS_PROFILE: "dev" }),
  );
  // The access key id is in the key; the secret never is.
  assert.ok((await key(keysA)).includes(keysA.AWS_ACCESS_KEY_ID));
  assert.ok(!(await key({ ...keysA, AWS_SECRET_ACCESS_KEY: "s3cr3t-value" })).includes("s3cr3t"));
  // The MFA device the config file names (not only --mfa-serial), and the vault's key id.
  const env = { HOME: home, AWS_PROFILE: "dev" };
  const settings = await resolveGrantSettings({ profile: "dev" }, env);
  const withDevice = { ...settings, mfaSerial: "arn:aws:iam::123456789012:mfa/dev" };
  const plain = await processCacheKey(flags, env, { settings });
  assert.notEqual(await processCacheKey(flags, env, { settings: withDevice }), plain);
  assert.notEqual(
    await processCacheKey(flags, env, { settings, vaultKeyId: "AKIACCCCCCCCCCCCCCCC" }),
    plain,
  );
});
