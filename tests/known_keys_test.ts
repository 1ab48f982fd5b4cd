// Which base keys are known without the AWS SDK's provider chain: the environment's as the chain
// would take them, a profile's plain keys in the shared files, and the providers marked so. The
// shared files' paths are read by the SDK's loader from the process's own environment (and
// cached), so profileKeys() runs in a child `deno` given those paths, one child for all the cases.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { environmentKeys, knownKeysOf, knownKeysProvider } from "../lib/aws/known_keys.ts";
import { baseEnv } from "./support/cli.ts";
import { tempDir } from "./support/fixture.ts";

const KEYS = { AWS_ACCESS_KEY_ID: "AKIAENV", AWS_SECRET_ACCESS_KEY: "env-secret" };

Deno.test("environmentKeys() takes the environment's keys unless --profile or AWS_PROFILE names a profile", async (t) => {
  const cases: [string, string | undefined, Record<string, string>, object | undefined][] = [
    ["both keys", undefined, KEYS, {
      accessKeyId: "AKIAENV",
      secretAccessKey: "env-secret",
      $source: { CREDENTIALS_ENV_VARS: "g" },
    }],
    ["with a session token and an expiration", undefined, {
      ...KEYS,
      AWS_SESSION_TOKEN: "env-token",
      AWS_CREDENTIAL_EXPIRATION: "2026-01-01T01:00:00Z",
    }, {
      accessKeyId: "AKIAENV",
      secretAccessKey: "env-secret",
      sessionToken: "env-token",
      expiration: new Date(Date.UTC(2026, 0, 1, 1)),
      $source: { CREDENTIALS_ENV_VARS: "g" },
    }],
    ["an empty token and an expiration that is no time are left out", undefined, {
      ...KEYS,
      AWS_SESSION_TOKEN: "",
      AWS_CREDENTIAL_EXPIRATION: "soon",
    }, {
      accessKeyId: "AKIAENV",
      secretAccessKey: "env-secret",
      $source: { CREDENTIALS_ENV_VARS: "g" },
    }],
    ["an empty AWS_PROFILE names none", undefined, { ...KEYS, AWS_PROFILE: "" }, {
      accessKeyId: "AKIAENV",
      secretAccessKey: "env-secret",
      $source: { CREDENTIALS_ENV_VARS: "g" },
    }],
    ["--profile", "dev", KEYS, undefined],
    ["AWS_PROFILE", undefined, { ...KEYS, AWS_PROFILE: "dev" }, undefined],
    ["AWS_DEFAULT_PROFILE yields to the keys", undefined, { ...KEYS, AWS_DEFAULT_PROFILE: "dev" }, {
      accessKeyId: "AKIAENV",
      secretAccessKey: "env-secret",
      $source: { CREDENTIALS_ENV_VARS: "g" },
    }],
    ["no secret", undefined, { AWS_ACCESS_KEY_ID: "AKIAENV" }, undefined],
    ["no key id", undefined, { AWS_SECRET_ACCESS_KEY: "env-secret" }, undefined],
    ["an empty key id", undefined, { ...KEYS, AWS_ACCESS_KEY_ID: "" }, undefined],
  ];
  for (const [name, profile, env, expected] of cases) {
    await t.step(name, async () => {
      const provider = environmentKeys(profile, env);
      if (expected === undefined) return assert.equal(provider, undefined);
      assert.ok(provider);
      const keys = await provider();
      assert.deepEqual({ ...keys }, expected);
      assert.equal(knownKeysOf(provider), keys);
    });
  }
});

Deno.test("knownKeysOf() knows marked providers and fixed keys, nothing else", async () => {
  const keys = { accessKeyId: "AKID", secretAccessKey: "s", sessionToken: "t" };
  const provider = knownKeysProvider(keys);
  assert.equal(await provider(), keys);
  assert.equal(knownKeysOf(provider), keys);
  assert.equal(knownKeysOf(keys), keys);
  assert.equal(knownKeysOf(() => Promise.resolve(keys)), undefined);
  for (
    const other of [
      { accessKeyId: "AKID" },
      { secretAccessKey: "s" },
      {
        accessKeyId: 1,
        secretAccessKey: "s",
      },
      { accessKeyId: "AKID", secretAccessKey: null },
      null,
      undefined,
      "AKID",
    ]
  ) {
    assert.equal(knownKeysOf(other), undefined, JSON.stringify(other));
  }
});

const CREDENTIALS = `
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = default-secret

[plain]
aws_access_key_id = AKIAPLAIN
aws_secret_access_key = plain-secret

[session]
aws_access_key_id = ASIASESSION
aws_secret_access_key = session-secret
aws_session_token = session-token

[both]
aws_access_key_id = AKIABOTHCREDENTIALS
aws_secret_access_key = both-credentials

[split]
aws_access_key_id = AKIASPLIT

[token-apart]
aws_session_token = token-apart

[empty-secret]
aws_access_key_id = AKIAEMPTYSECRET
aws_secret_access_key =

[empty-token]
aws_access_key_id = AKIAEMPTYTOKEN
aws_secret_access_key = empty-token-secret
aws_session_token =

[no-secret]
aws_access_key_id = AKIANOSECRET

[keys-here-role-there]
aws_access_key_id = AKIAKEYSHERE
aws_secret_access_key = keys-here-secret

[region-there]
aws_access_key_id = AKIAREGIONTHERE
aws_secret_access_key = region-there-secret
`;

/** A profile of the config file with keys and one more setting (or sub-setting). */
function withSetting(name: string, setting: string): string {
  return `[profile ${name}]\naws_access_key_id = AKIA${name.toUpperCase().replace(/-/g, "")}\n` +
    `aws_secret_access_key = secret\n${setting}\n`;
}

const CONFIG = `
[profile config-only]
region = us-east-1
output = json
aws_access_key_id = AKIACONFIGONLY
aws_secret_access_key = config-only-secret

[profile both]
aws_access_key_id = AKIABOTHCONFIG
aws_secret_access_key = both-config

[profile split]
aws_secret_access_key = split-secret

[profile token-apart]
aws_access_key_id = AKIATOKENAPART
aws_secret_access_key = token-apart-secret

[profile keys-here-role-there]
role_arn = arn:aws:iam::123456789012:role/r
source_profile = default

[profile region-there]
region = eu-west-1

[profile nested]
aws_access_key_id = AKIANESTED
aws_secret_access_key = nested-secret
s3 =
  max_concurrent_requests = 10

${withSetting("role", "role_arn = arn:aws:iam::123456789012:role/r")}
${withSetting("role-nested", "role_arn =\n  x = y")}
${withSetting("source", "source_profile = default")}
${withSetting("scope", "aws_credential_scope = s")}
${withSetting("account", "aws_account_id = 123456789012")}
${withSetting("process", "credential_process = /bin/false")}
${withSetting("credential-source", "credential_source = Environment")}
${withSetting("web", "web_identity_token_file = /tmp/token")}
${withSetting("login", "login_session = arn:aws:iam::123456789012:user/u")}
${withSetting("sso-session", "sso_session = s")}
${withSetting("sso-start", "sso_start_url = https://example.awsapps.com/start")}
${withSetting("sso-region", "sso_region = us-east-1")}
${withSetting("sso-account", "sso_account_id = 123456789012")}
`;

/** profileKeys() of each `[profile, env]`, in a child whose shared files are the ones above. */
async function profileKeysOf(
  cases: [string | undefined, Record<string, string>][],
): Promise<(Record<string, unknown> | null)[]> {
  await using home = await tempDir("tbi-known-keys-");
  const env = await baseEnv(home.path);
  await Deno.writeTextFile(env.AWS_SHARED_CREDENTIALS_FILE, CREDENTIALS);
  await Deno.writeTextFile(env.AWS_CONFIG_FILE, CONFIG);
  const module = new URL("../lib/aws/known_keys.ts", import.meta.url).href;
  const code = `
    import { knownKeysOf, profileKeys } from ${JSON.stringify(module)};
    const cases = JSON.parse(await new Response(Deno.stdin.readable).text());
    const out = [];
    for (const [profile, env] of cases) {
      const provider = await profileKeys(profile ?? undefined, env);
      if (provider === undefined) { out.push(null); continue; }
      const keys = await provider();
      if (knownKeysOf(provider) !== keys) throw new Error("not marked");
      // A field set to undefined shows, as JSON would drop it.
      out.push(Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, v ?? "(undefined)"])));
    }
    console.log(JSON.stringify(out));`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "-q",
      "--ext=ts",
      "--config",
      fileURLToPath(new URL("../deno.json", import.meta.url)),
      code,
    ],
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(cases)));
  await writer.close();
  const output = await child.output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

/** A profile's keys as profileKeys() gives them. */
function profileKeysAre(accessKeyId: string, secretAccessKey: string, sessionToken?: string) {
  return {
    accessKeyId,
    secretAccessKey,
    ...sessionToken === undefined ? {} : { sessionToken },
    $source: { CREDENTIALS_PROFILE: "n" },
  };
}

Deno.test("profileKeys() takes a profile's keys only where the SDK's chain would take them and nothing else", async () => {
  const plain = profileKeysAre("AKIAPLAIN", "plain-secret");
  const defaults = profileKeysAre("AKIADEFAULT", "default-secret");
  const cases: [string, string | undefined, Record<string, string>, object | null][] = [
    ["no profile named: [default]", undefined, {}, defaults],
    ["AWS_PROFILE", undefined, { AWS_PROFILE: "plain" }, plain],
    ["--profile over AWS_PROFILE", "plain", { AWS_PROFILE: "config-only" }, plain],
    ["AWS_PROFILE over AWS_DEFAULT_PROFILE", undefined, {
      AWS_PROFILE: "plain",
      AWS_DEFAULT_PROFILE: "config-only",
    }, plain],
    ["AWS_DEFAULT_PROFILE", undefined, { AWS_DEFAULT_PROFILE: "plain" }, plain],
    ["empty environment keys are none", "plain", {
      AWS_ACCESS_KEY_ID: "",
      AWS_SECRET_ACCESS_KEY: "",
    }, plain],
    ["a key id in the environment", "plain", { AWS_ACCESS_KEY_ID: "AKIAENV" }, null],
    ["a secret in the environment", undefined, { AWS_SECRET_ACCESS_KEY: "env-secret" }, null],
    [
      "a session's keys",
      "session",
      {},
      profileKeysAre("ASIASESSION", "session-secret", "session-token"),
    ],
    [
      "keys of ~/.aws/config beside its region and output",
      "config-only",
      {},
      profileKeysAre(
        "AKIACONFIGONLY",
        "config-only-secret",
      ),
    ],
    [
      "keys in the credentials file, the region in the config file",
      "region-there",
      {},
      profileKeysAre(
        "AKIAREGIONTHERE",
        "region-there-secret",
      ),
    ],
    [
      "keys with a sub-setting that is no credential",
      "nested",
      {},
      profileKeysAre(
        "AKIANESTED",
        "nested-secret",
      ),
    ],
    ["keys in both files", "both", {}, null],
    ["the key id in one file, the secret in the other", "split", {}, null],
    ["the token in one file, the keys in the other", "token-apart", {}, null],
    ["keys in the credentials file, role_arn in the config file", "keys-here-role-there", {}, null],
    ["an empty secret", "empty-secret", {}, null],
    // The SDK's loader drops a setting with an empty value: the keys are a user's, as for it.
    [
      "an empty session token is none",
      "empty-token",
      {},
      profileKeysAre(
        "AKIAEMPTYTOKEN",
        "empty-token-secret",
      ),
    ],
    ["no secret", "no-secret", {}, null],
    ["no such profile", "missing", {}, null],
    ["a profile named like an object's property", "constructor", {}, null],
    ...[
      "role",
      "role-nested",
      "source",
      "scope",
      "account",
      "process",
      "credential-source",
      "web",
      "login",
      "sso-session",
      "sso-start",
      "sso-region",
      "sso-account",
    ].map((name): [string, string, Record<string, string>, null] => [
      `keys beside ${name}`,
      name,
      {},
      null,
    ]),
  ];
  const results = await profileKeysOf(cases.map(([, profile, env]) => [profile, env]));
  assert.deepEqual(
    Object.fromEntries(cases.map(([name], i) => [name, results[i]])),
    Object.fromEntries(cases.map(([name, , , expected]) => [name, expected])),
  );
});
