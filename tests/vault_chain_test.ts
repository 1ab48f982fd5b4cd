// A role profile whose source's keys are in the vault (the layout of aws-vault's users): the real
// CLI against the local endpoint, with the encrypted file as the vault.
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { baseEnv, cliCommand, runCli } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";
import { LocalAws, type RecordedRequest } from "./support/local_aws.ts";
import { filesHolding } from "./support/vault_world.ts";

const PASSPHRASE = "correct horse battery staple";
const ROLE = "prod-admin";

/** A private HOME, the endpoint, base's keys in the vault and nowhere else. */
interface World extends AsyncDisposable {
  aws: LocalAws;
  home: string;
  roleArn: string;
  /** The environment of every run: the endpoint, HOME, the file backend, no keys. */
  env: Record<string, string>;
  /** Runs the CLI in the world; fails when its output shows a secret. */
  run(args: string[], extra?: Record<string, string>): ReturnType<typeof runCli>;
  /** The requests the endpoint answered since the keys were stored. */
  calls(): RecordedRequest[];
}

async function world(
  options: {
    /** ~/.aws/config, from the role's ARN and the endpoint's URL. */
    config?: (roleArn: string, url: string) => string;
    trust?: Record<string, unknown>;
    /** Whether the runs after `keys add` find the endpoint in AWS_ENDPOINT_URL_STS (default). */
    endpointVariable?: boolean;
  } = {},
): Promise<World> {
  const fx = await startFixture({ prefix: "tbi-chain-" });
  // The human's keys are not in the environment: only in the vault, once stored.
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...endpoint } = fx.env;
  const env: Record<string, string> = {
    ...endpoint,
    TIMEBOUND_IAM_VAULT_BACKEND: "file",
    TIMEBOUND_IAM_VAULT_PASSPHRASE: PASSPHRASE,
  };
  const roleArn = fx.aws.addRole({ roleName: ROLE, trustPolicy: options.trust }).arn;
  const base = fx.aws.defaultUser;
  const secrets = () => [
    ...fx.aws.issuedSecrets(),
    base.secretAccessKey,
    PASSPHRASE,
    ...fx.aws.requests.map((r) => r.accessKeyId).filter((id): id is string => !!id),
  ];
  const run = async (args: string[], extra: Record<string, string> = {}) => {
    const result = await runCli(args, { env: { ...env, ...extra } });
    for (const secret of secrets()) {
      assert.ok(!result.stderr.includes(secret), `a secret reached stderr: ${result.stderr}`);
    }
    return result;
  };
  const added = await run(["keys", "add", "base", "--from-env"], {
    AWS_ACCESS_KEY_ID: base.accessKeyId,
    AWS_SECRET_ACCESS_KEY: base.secretAccessKey,
  });
  assert.equal(added.code, 0, added.stderr);
  await Deno.remove(fx.path(".aws", "credentials"));
  if (options.endpointVariable === false) delete env.AWS_ENDPOINT_URL_STS;
  const config = options.config?.(roleArn, fx.aws.url) ??
    `[profile base]\nregion = us-east-1\n\n[profile prod]\nsource_profile = base\n` +
      `role_arn = ${roleArn}\n`;
  await Deno.writeTextFile(fx.path(".aws", "config"), config);
  const since = fx.aws.requests.length;
  return {
    aws: fx.aws,
    home: fx.home,
    roleArn,
    env,
    run,
    calls: () => fx.aws.requests.slice(since),
    [Symbol.asyncDispose]: () => fx[Symbol.asyncDispose](),
  };
}

const GRANT = ["--no-confirm", "-s", "s3:ro", "-t", "15m"];

/** Who signed each call that reached the endpoint: the action, the role it names, the caller. */
function story(w: World): string[][] {
  return w.calls().map((r) => [r.action, r.params.RoleArn ?? "", r.callerArn ?? "?"]);
}

Deno.test("exec --profile prod assumes prod's role with base's keys from the vault, then the broker role", async () => {
  await using w = await world();
  const result = await w.run([
    "exec",
    "--profile",
    "prod",
    ...GRANT,
    "--",
    "sh",
    "-c",
    'printf "%s\\n" "$AWS_ACCESS_KEY_ID"',
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "", "nothing but the child's output");
  const user = `arn:aws:iam::${w.aws.accountId}:user/developer`;
  const prod = new RegExp(`^arn:aws:sts::${w.aws.accountId}:assumed-role/${ROLE}/`);
  const calls = story(w);
  assert.deepEqual(calls[0], ["AssumeRole", w.roleArn, user], "prod's role, with base's key");
  assert.equal(w.calls()[0].accessKeyId, w.aws.defaultUser.accessKeyId);
  const broker = calls.findIndex(([action, role]) =>
    action === "AssumeRole" && role === w.aws.brokerRoleArn
  );
  assert.ok(broker > 0, JSON.stringify(calls));
  assert.match(calls[broker][2], prod, "the broker role, with prod's session");
  for (const [, , caller] of calls.slice(1)) assert.match(caller, prod);
  assert.equal(calls.length, broker + 1, JSON.stringify(calls));
  // The child holds the broker's session: neither base's keys nor prod's session.
  const session = w.aws.sessions().find((s) => s.roleArn === w.aws.brokerRoleArn);
  assert.equal(result.stdout, `${session?.accessKeyId}\n`);
  assert.equal(session?.chained, true);
  // CloudTrail names the person: the role session bears base's user name, and so the grant.
  assert.equal(w.calls()[0].params.RoleSessionName, "developer");
  assert.equal(session?.sourceIdentity, "developer");
});

Deno.test("a role profile's mfa_serial, external_id and role_session_name travel with its AssumeRole", async () => {
  const externalId = "partner-7f3a";
  await using w = await world({
    trust: {
      Version: "2012-10-17",
      Statement: [{
        Effect: "Allow",
        Principal: { AWS: "arn:aws:iam::123456789012:root" },
        Action: "sts:AssumeRole",
        Condition: {
          Bool: { "aws:MultiFactorAuthPresent": "true" },
          StringEquals: { "sts:ExternalId": externalId },
        },
      }],
    },
    config: (roleArn) =>
      `[profile base]\n\n[profile prod]\nsource_profile = base\nrole_arn = ${roleArn}\n` +
      `mfa_serial = arn:aws:iam::123456789012:mfa/developer\nexternal_id = ${externalId}\n` +
      "role_session_name = alice-prod\nduration_seconds = 1800\n",
  });
  const { serialNumber } = w.aws.addMfaDevice({ deviceName: "developer" });
  const code = w.aws.mfaCode(serialNumber);
  const result = await w.run([
    "exec",
    "--profile",
    "prod",
    "--mfa-code",
    code,
    ...GRANT,
    "--",
    "true",
  ]);
  assert.equal(result.code, 0, result.stderr);
  const first = w.calls()[0];
  assert.equal(first.action, "AssumeRole");
  assert.equal(first.accessKeyId, w.aws.defaultUser.accessKeyId);
  assert.deepEqual(
    [first.params.SerialNumber, first.params.TokenCode, first.params.ExternalId],
    [serialNumber, code, externalId],
  );
  assert.equal(first.params.RoleSessionName, "alice-prod");
  assert.equal(first.params.DurationSeconds, "1800");

  // Without a code and without a terminal: one line that says how to give one.
  const again = await w.run(["exec", "--profile", "prod", ...GRANT, "--", "true"]);
  assert.equal(again.code, 2, again.stderr);
  assert.match(
    again.stderr,
    /^error: An MFA code for arn:aws:iam::123456789012:mfa\/developer is needed/,
  );
});

Deno.test("mfa login --profile prod caches base's MFA session in the vault; grants then need no code", async () => {
  await using w = await world({
    trust: {
      Version: "2012-10-17",
      Statement: [{
        Effect: "Allow",
        Principal: { AWS: "arn:aws:iam::123456789012:root" },
        Action: "sts:AssumeRole",
        Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } },
      }],
    },
    config: (roleArn) =>
      `[profile base]\n\n[profile prod]\nsource_profile = base\nrole_arn = ${roleArn}\n` +
      "mfa_serial = arn:aws:iam::123456789012:mfa/developer\n",
  });
  const { serialNumber } = w.aws.addMfaDevice({ deviceName: "developer" });
  const login = await w.run([
    "mfa",
    "login",
    "--profile",
    "prod",
    "--mfa-code",
    w.aws.mfaCode(serialNumber),
  ]);
  assert.equal(login.code, 0, login.stderr);
  assert.match(
    login.stderr,
    /^MFA session for arn:aws:iam::123456789012:mfa\/developer cached until/,
  );
  const [token] = w.calls();
  assert.equal(token.action, "GetSessionToken");
  assert.equal(token.accessKeyId, w.aws.defaultUser.accessKeyId, "signed with base's key");
  const status = await w.run(["mfa", "status"]);
  assert.match(status.stdout, /^base\s+arn:aws:iam::123456789012:mfa\/developer\s+until /);

  const grant = await w.run(["exec", "--profile", "prod", ...GRANT, "--", "true"]);
  assert.equal(grant.code, 0, grant.stderr);
  const assumed = w.calls().find((r) =>
    r.action === "AssumeRole" && r.params.RoleArn === w.roleArn
  );
  assert.ok(assumed);
  assert.equal(assumed.params.TokenCode, undefined, "no code: the session carries MFA");
  assert.match(assumed.accessKeyId ?? "", /^ASIA/);
  assert.equal(assumed.callerArn, `arn:aws:iam::${w.aws.accountId}:user/developer`);
  // Nothing of the session is in a file but the encrypted vault.
  assert.deepEqual(await filesHolding(w.home, w.aws.issuedSecrets()), []);

  // doctor asks for no code: it finds the cached session too.
  const doctor = await w.run(["doctor", "--profile", "prod"]);
  assert.match(doctor.stdout, /\n✓ base credentials +profile "prod" assuming its role_arn/);

  const logout = await w.run(["mfa", "logout", "--profile", "prod"]);
  assert.equal(
    logout.stderr,
    'Forgot the MFA session of profile "base" (arn:aws:iam::123456789012:mfa/developer)\n',
  );
  const without = await w.run(["doctor", "--profile", "prod"]);
  assert.match(
    without.stdout,
    /\n✗ base credentials +Profile "prod" assumes its role_arn with an MFA code for arn:aws:iam::123456789012:mfa\/developer, and this command asks for none\n.*mfa login --profile prod/,
  );
});

Deno.test("prod's chain and the broker go to prod's endpoint_url, never to [default]'s", async () => {
  // [default]'s endpoint_url is not prod's: base's keys must not sign a request to it.
  await using elsewhere = await LocalAws.start();
  await using w = await world({
    endpointVariable: false,
    config: (roleArn, url) =>
      `[default]\nendpoint_url = ${elsewhere.url}\n\n[profile base]\nregion = us-east-1\n\n` +
      `[profile prod]\nsource_profile = base\nrole_arn = ${roleArn}\nendpoint_url = ${url}\n`,
  });
  const result = await w.run(["exec", "--profile", "prod", ...GRANT, "--", "true"]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(elsewhere.requests.map((r) => [r.action, r.accessKeyId]), []);
  const calls = story(w);
  assert.deepEqual(calls[0].slice(0, 2), ["AssumeRole", w.roleArn]);
  assert.deepEqual(calls.at(-1)?.slice(0, 2), ["AssumeRole", w.aws.brokerRoleArn]);
});

Deno.test("mfa login --profile prod asks base's endpoint_url for base's session, never [default]'s", async () => {
  await using elsewhere = await LocalAws.start();
  await using w = await world({
    endpointVariable: false,
    config: (roleArn, url) =>
      `[default]\nendpoint_url = ${elsewhere.url}\n\n[profile base]\nendpoint_url = ${url}\n\n` +
      `[profile prod]\nsource_profile = base\nrole_arn = ${roleArn}\nendpoint_url = ${url}\n` +
      "mfa_serial = arn:aws:iam::123456789012:mfa/developer\n",
  });
  const { serialNumber } = w.aws.addMfaDevice({ deviceName: "developer" });
  const code = w.aws.mfaCode(serialNumber);
  const login = await w.run(["mfa", "login", "--profile", "prod", "--mfa-code", code]);
  assert.equal(login.code, 0, login.stderr);
  assert.deepEqual(elsewhere.requests.map((r) => [r.action, r.accessKeyId]), []);
  assert.deepEqual(story(w)[0].slice(0, 1), ["GetSessionToken"]);
});

Deno.test("AWS_ENDPOINT_URL_STS wins over the profile's endpoint_url for the chain and the broker", async () => {
  await using elsewhere = await LocalAws.start();
  await using w = await world({
    config: (roleArn) =>
      `[profile base]\nregion = us-east-1\n\n[profile prod]\nsource_profile = base\n` +
      `role_arn = ${roleArn}\nendpoint_url = ${elsewhere.url}\n`,
  });
  const result = await w.run(["exec", "--profile", "prod", ...GRANT, "--", "true"]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(elsewhere.requests.map((r) => r.action), []);
  assert.deepEqual(story(w).map(([action]) => action).at(-1), "AssumeRole");
});

Deno.test("a cycle in source_profile is one line, exit 2, and no call", async () => {
  await using w = await world({
    config: (roleArn) =>
      `[profile prod]\nsource_profile = mid\nrole_arn = ${roleArn}\n\n` +
      `[profile mid]\nsource_profile = prod\nrole_arn = ${roleArn}\n`,
  });
  const result = await w.run(["exec", "--profile", "prod", ...GRANT, "--", "true"]);
  assert.equal(result.code, 2, result.stderr);
  assert.equal(
    result.stderr,
    'error: Profile "prod" has a cycle in its source_profile chain: prod → mid → prod\n' +
      "hint: end the chain at a profile with keys (timebound-iam keys add NAME)\n",
  );
  assert.deepEqual(w.calls(), []);
});

Deno.test("a source profile with no keys anywhere names keys add", async () => {
  await using w = await world({
    config: (roleArn) =>
      `[profile prod]\nsource_profile = nokeys\nrole_arn = ${roleArn}\n\n[profile nokeys]\n` +
      "region = us-east-1\n",
  });
  const result = await w.run(["exec", "--profile", "prod", ...GRANT, "--", "true"]);
  assert.equal(result.code, 2, result.stderr);
  assert.equal(
    result.stderr,
    'error: Profile "nokeys", the source_profile of "prod", has no keys: none in the ' +
      "timebound-iam vault or ~/.aws/credentials\nhint: store its keys: timebound-iam keys add " +
      "nokeys\n",
  );
  assert.deepEqual(w.calls(), []);
});

Deno.test("doctor says prod's role is assumed with base's keys from the vault", async () => {
  await using w = await world();
  const result = await w.run(["doctor", "--profile", "prod"]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(
    result.stdout,
    /\n✓ base credentials +profile "prod" assuming its role_arn with the keys of profile "base" in the timebound-iam vault, expiring /,
  );
  assert.match(
    result.stdout,
    /\n✓ vault +.*; it holds the keys of profile "base", which grants with profile "prod" use to assume its role_arn\n/,
  );
  assert.match(
    result.stdout,
    new RegExp(`\\n✓ caller identity +arn:aws:sts::\\d+:assumed-role/${ROLE}/`),
  );
});

Deno.test("the AssumeRole of prod's role keeps the call deadline (TIMEBOUND_IAM_TIMEOUT)", async () => {
  await using w = await world();
  const release = w.aws.neverAnswer();
  try {
    const output = w.run(["exec", "--profile", "prod", ...GRANT, "--", "true"], {
      TIMEBOUND_IAM_TIMEOUT: "2",
    });
    const reached = await w.aws.firstHeldAt();
    const result = await output;
    const elapsed = performance.now() - reached;
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^error: Could not reach http:\/\/127\.0\.0\.1:\d+: timed out\n/);
    assert.ok(elapsed <= 3000, `${Math.round(elapsed)} ms`);
  } finally {
    release();
  }
});

Deno.test("with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, an unreachable role is AWS's endpoint, as the SDK used it", async () => {
  await using w = await world({
    config: (roleArn, url) =>
      `[profile base]\nregion = us-east-1\n\n[profile prod]\nsource_profile = base\n` +
      `role_arn = ${roleArn}\nendpoint_url = ${url}\n`,
  });
  // A region that does not exist: nothing leaves the machine.
  const result = await w.run(["exec", "--profile", "prod", ...GRANT, "--", "true"], {
    AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true",
    AWS_REGION: "xx-nowhere-1",
    AWS_DEFAULT_REGION: "xx-nowhere-1",
    TIMEBOUND_IAM_TIMEOUT: "5",
  });
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    /^error: Could not reach https:\/\/sts\.xx-nowhere-1\.amazonaws\.com: .*\nhint: check the network and --region\n/,
  );
  assert.deepEqual(w.calls(), []);
});

Deno.test("a chain of three roles is held to one TIMEBOUND_IAM_TIMEOUT in all, not one per role", async () => {
  await using w = await world();
  const mid = w.aws.addRole({ roleName: "mid-role" }).arn;
  const edge = w.aws.addRole({ roleName: "edge-role" }).arn;
  await Deno.writeTextFile(
    `${w.home}/.aws/config`,
    `[profile prod]\nsource_profile = edge\nrole_arn = ${w.roleArn}\n\n` +
      `[profile edge]\nsource_profile = mid\nrole_arn = ${edge}\n\n` +
      `[profile mid]\nsource_profile = base\nrole_arn = ${mid}\n`,
  );
  // Each AssumeRole alone is well within the 2 s timeout; the three together are not.
  w.aws.answerAfter(1300);
  const started = performance.now();
  const result = await w.run(["exec", "--profile", "prod", ...GRANT, "--", "true"], {
    TIMEBOUND_IAM_TIMEOUT: "2",
  });
  const elapsed = performance.now() - started;
  w.aws.answerAfter(0);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /^error: Could not reach http:\/\/127\.0\.0\.1:\d+: timed out\n/);
  assert.ok(elapsed < 3900, `${Math.round(elapsed)} ms: the chain waited for every role`);
  assert.ok(
    !w.calls().some((r) =>
      r.params.RoleArn === w.aws.brokerRoleArn || r.params.RoleArn === w.roleArn
    ),
    "no role after the deadline was asked for",
  );
});

Deno.test("credential-process --profile prod caches its entry in the vault, beside base's keys", async () => {
  await using w = await world();
  const run = () => w.run(["credential-process", "--profile", "prod", "-s", "s3:ro", "-t", "15m"]);
  const first = await run();
  assert.equal(first.code, 0, first.stderr);
  const second = await run();
  assert.equal(second.code, 0, second.stderr);
  assert.equal(JSON.parse(first.stdout).AccessKeyId, JSON.parse(second.stdout).AccessKeyId);
  const brokerCalls = w.calls().filter((r) =>
    r.action === "AssumeRole" && r.params.RoleArn === w.aws.brokerRoleArn
  );
  assert.equal(brokerCalls.length, 1, "the second run found the first's entry");
  const written = await filesHolding(w.home, w.aws.issuedSecrets());
  assert.deepEqual(written, [], "no session in a file but the encrypted vault");
});

Deno.test("a chain of two roles: mid's with base's keys, then prod's with mid's session", async () => {
  await using w = await world();
  const mid = w.aws.addRole({ roleName: "mid-role" }).arn;
  await Deno.writeTextFile(
    `${w.home}/.aws/config`,
    `[profile prod]\nsource_profile = mid\nrole_arn = ${w.roleArn}\n\n` +
      `[profile mid]\nsource_profile = base\nrole_arn = ${mid}\n`,
  );
  const result = await w.run(["exec", "--profile", "prod", ...GRANT, "--", "true"]);
  assert.equal(result.code, 0, result.stderr);
  const session = (role: string) =>
    new RegExp(`^arn:aws:sts::${w.aws.accountId}:assumed-role/${role}/`);
  const calls = story(w);
  assert.deepEqual(calls[0], ["AssumeRole", mid, `arn:aws:iam::${w.aws.accountId}:user/developer`]);
  assert.deepEqual(calls[1].slice(0, 2), ["AssumeRole", w.roleArn]);
  assert.match(calls[1][2], session("mid-role"));
  assert.deepEqual(calls.at(-1)?.slice(0, 2), ["AssumeRole", w.aws.brokerRoleArn]);
  assert.match(calls.at(-1)?.[2] ?? "", session(ROLE));
});

Deno.test("keys in the environment, with no profile named, still win over a default role profile", async () => {
  await using w = await world({
    config: (roleArn) => `[default]\nsource_profile = base\nrole_arn = ${roleArn}\n`,
  });
  const other = w.aws.addUser({ userName: "ci" });
  const result = await w.run(["exec", ...GRANT, "--", "true"], {
    AWS_ACCESS_KEY_ID: other.accessKeyId,
    AWS_SECRET_ACCESS_KEY: other.secretAccessKey,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(
    story(w).map(([action, , caller]) => [action, caller]),
    [
      ["GetCallerIdentity", other.arn],
      ["AssumeRole", other.arn],
    ],
  );
});

Deno.test("keys in the environment win over a profile that only AWS_DEFAULT_PROFILE names, its keys or its source's in the vault", async () => {
  await using w = await world();
  const other = w.aws.addUser({ userName: "ci" });
  // base holds keys in the vault; prod assumes its role with them.
  for (const named of ["base", "prod"]) {
    const since = w.calls().length;
    const result = await w.run(["exec", ...GRANT, "--", "true"], {
      AWS_DEFAULT_PROFILE: named,
      AWS_ACCESS_KEY_ID: other.accessKeyId,
      AWS_SECRET_ACCESS_KEY: other.secretAccessKey,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      story(w).slice(since).map(([action, , caller]) => [action, caller]),
      [
        ["GetCallerIdentity", other.arn],
        ["AssumeRole", other.arn],
      ],
      named,
    );
  }
});

Deno.test("serve --profile prod grants from base's keys, and after keys rotate base from the new key", async () => {
  await using w = await world();
  const env = { ...await baseEnv(w.home), ...w.env, XDG_STATE_HOME: `${w.home}/state` };
  const [command, args] = cliCommand(["serve", "--profile", "prod", "--allow", "s3:ro"]);
  const transport = new StdioClientTransport({ command, args, env, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
  const client = new Client({ name: "chain-test", version: "1" }, { capabilities: {} });
  await client.connect(transport);
  const grant = async () => {
    const result = await client.callTool({
      name: "grant_access",
      arguments: { services: ["s3"], level: "read_only", ttl: "15m" },
    });
    const text = (result.content as Array<{ text: string }>).map((c) => c.text).join("\n");
    assert.notEqual(result.isError, true, text);
    return text;
  };
  const roleCalls = () =>
    w.calls().filter((r) => r.action === "AssumeRole" && r.params.RoleArn === w.roleArn);
  const texts: string[] = [];
  try {
    texts.push(await grant());
    assert.deepEqual(roleCalls().map((r) => r.accessKeyId), [w.aws.defaultUser.accessKeyId]);
    const rotated = await w.run(["keys", "rotate", "base", "--yes"]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const [current] = w.aws.accessKeyIds("developer");
    assert.notEqual(current, w.aws.defaultUser.accessKeyId);
    texts.push(await grant());
    assert.equal(roleCalls().at(-1)?.accessKeyId, current, "the rotated key signs");
  } finally {
    await client.close();
  }
  const secrets = [...w.aws.issuedSecrets(), w.aws.defaultUser.secretAccessKey, PASSPHRASE];
  for (const text of [...texts, stderr]) {
    for (const secret of secrets) assert.ok(!text.includes(secret), `a secret reached: ${text}`);
  }
});

Deno.test("a role that refuses base's keys is one line naming the profile, its role and the keys", async () => {
  await using w = await world({
    trust: {
      Version: "2012-10-17",
      Statement: [{
        Effect: "Allow",
        Principal: { AWS: "arn:aws:iam::123456789012:root" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "sts:ExternalId": "expected-id" } },
      }],
    },
  });
  const result = await w.run(["exec", "--profile", "prod", ...GRANT, "--", "true"]);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(
    result.stderr,
    `error: Access denied assuming ${w.roleArn}, the role_arn of profile "prod": the role does ` +
      'not exist or its trust policy does not allow the keys of profile "base"\n' +
      'hint: check role_arn of profile "prod" in ~/.aws/config\n',
  );
  assert.deepEqual(story(w).map(([action]) => action), ["AssumeRole"]);
});

Deno.test("serve tells an agent that a chain failed, never the human's other profiles, roles or accounts", async () => {
  await using w = await world();
  const hub = w.aws.addRole({
    roleName: "hub-role",
    accountId: "210987654321",
    trustPolicy: {
      Version: "2012-10-17",
      Statement: [{ Effect: "Deny", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }],
    },
  }).arn;
  // prod: base's keys assume hub's role (which refuses them), then prod's. lost: its source's
  // source is nowhere.
  await Deno.writeTextFile(
    `${w.home}/.aws/config`,
    `[profile prod]\nsource_profile = hub\nrole_arn = ${w.roleArn}\n\n` +
      `[profile hub]\nsource_profile = base\nrole_arn = ${hub}\n\n` +
      `[profile lost]\nsource_profile = hidden-middle\nrole_arn = ${w.roleArn}\n\n` +
      `[profile hidden-middle]\nsource_profile = nowhere\nrole_arn = ${hub}\n`,
  );
  const env = { ...await baseEnv(w.home), ...w.env, XDG_STATE_HOME: `${w.home}/state` };
  const [command, args] = cliCommand([
    "serve",
    "--profile",
    "prod",
    "--allow",
    "s3:ro",
    "--allow-profiles",
    "lost",
  ]);
  const transport = new StdioClientTransport({ command, args, env, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
  const client = new Client({ name: "chain-test", version: "1" }, { capabilities: {} });
  await client.connect(transport);
  const texts: string[] = [];
  try {
    for (const profile of [undefined, "lost"]) {
      const result = await client.callTool({
        name: "grant_access",
        arguments: { services: ["s3"], level: "read_only", ttl: "15m", profile },
      });
      assert.equal(result.isError, true);
      texts.push((result.content as Array<{ text: string }>).map((c) => c.text).join("\n"));
    }
  } finally {
    await client.close();
  }
  for (const text of texts) {
    assert.equal(
      text,
      "The base credentials failed: the chain of roles that the human's AWS profile assumes " +
        "did not work\nhint: the server's log says why; ask the human who started the server " +
        "to fix it, and do not retry until then",
    );
  }
  // The human reads why in the server's log.
  assert.match(
    stderr,
    /refused a grant to chain-test 1: Access denied assuming arn:aws:iam::210987654321:role\/hub-role, the role_arn of profile "hub"/,
  );
  assert.match(stderr, /Profile "nowhere", the source_profile of "hidden-middle", does not exist/);
  assert.deepEqual(
    story(w).map(([action, role]) => [action, role]),
    [["AssumeRole", hub]],
    "prod's chain stopped at hub; lost's made no call",
  );
});

Deno.test("a cached MFA session of base that AWS rejects in prod's chain is forgotten, and a code is then asked for", async () => {
  await using w = await world({
    config: (roleArn) =>
      `[profile base]\n\n[profile prod]\nsource_profile = base\nrole_arn = ${roleArn}\n` +
      "mfa_serial = arn:aws:iam::123456789012:mfa/developer\n",
  });
  const { serialNumber } = w.aws.addMfaDevice({ deviceName: "developer" });
  const login = await w.run(
    ["mfa", "login", "--profile", "prod", "--mfa-code", w.aws.mfaCode(serialNumber)],
  );
  assert.equal(login.code, 0, login.stderr);
  w.aws.failNext("AssumeRole", "ExpiredToken");
  const grant = await w.run(["exec", "--profile", "prod", ...GRANT, "--", "true"]);
  assert.equal(grant.code, 2, grant.stderr);
  assert.match(
    grant.stderr,
    /^error: An MFA code for arn:aws:iam::123456789012:mfa\/developer is needed/,
  );
  const status = await w.run(["mfa", "status"]);
  assert.equal(status.stderr, "No cached MFA sessions\n");
});

Deno.test("serve tells an agent that AWS refused a role of the profile's own chain (keys in ~/.aws/credentials), without its names", async () => {
  await using fx = await startFixture({ prefix: "tbi-chain-" });
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...endpoint } = fx.env;
  const base = fx.aws.defaultUser;
  await Deno.writeTextFile(
    fx.path(".aws", "credentials"),
    `[base]\naws_access_key_id = ${base.accessKeyId}\n` +
      `aws_secret_access_key = ${base.secretAccessKey}\n`,
  );
  const hub = fx.aws.addRole({
    roleName: "hub-role",
    accountId: "210987654321",
    trustPolicy: {
      Version: "2012-10-17",
      Statement: [{ Effect: "Deny", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }],
    },
  }).arn;
  const prod = fx.aws.addRole({ roleName: ROLE }).arn;
  await Deno.writeTextFile(
    fx.path(".aws", "config"),
    `[profile prod]\nsource_profile = hub\nrole_arn = ${prod}\n\n` +
      `[profile hub]\nsource_profile = base\nrole_arn = ${hub}\n`,
  );
  const env = { ...await baseEnv(fx.home), ...endpoint, XDG_STATE_HOME: `${fx.home}/state` };
  const [command, args] = cliCommand(["serve", "--profile", "prod", "--allow", "s3:ro"]);
  const transport = new StdioClientTransport({ command, args, env, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
  const client = new Client({ name: "chain-test", version: "1" }, { capabilities: {} });
  await client.connect(transport);
  let text = "";
  try {
    const result = await client.callTool({
      name: "grant_access",
      arguments: { services: ["s3"], level: "read_only", ttl: "15m" },
    });
    assert.equal(result.isError, true);
    text = (result.content as Array<{ text: string }>).map((c) => c.text).join("\n");
  } finally {
    await client.close();
  }
  assert.equal(
    text,
    "The base credentials failed: AWS refused a role that the human's AWS profile assumes\n" +
      "hint: the server's log says why; ask the human who started the server to fix it, and do " +
      "not retry until then",
  );
  assert.match(
    stderr,
    /refused a grant to chain-test 1: .*arn:aws:iam::210987654321:role\/hub-role/,
  );
});

Deno.test("without a vault, a chain of nine roles over keys in ~/.aws/credentials is the SDK's: it works", async () => {
  await using fx = await startFixture({ prefix: "tbi-chain-" });
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...endpoint } = fx.env;
  const base = fx.aws.defaultUser;
  await Deno.writeTextFile(
    fx.path(".aws", "credentials"),
    `[base]\naws_access_key_id = ${base.accessKeyId}\n` +
      `aws_secret_access_key = ${base.secretAccessKey}\n`,
  );
  const names = Array.from({ length: 9 }, (_, i) => `hop${i + 1}`);
  const config = names.map((name, i) =>
    `[profile ${name}]\nsource_profile = ${i === 0 ? "base" : names[i - 1]}\n` +
    `role_arn = ${fx.aws.addRole({ roleName: `${name}-role` }).arn}\n`
  );
  await Deno.writeTextFile(fx.path(".aws", "config"), config.join("\n"));
  const result = await runCli(["exec", "--profile", "hop9", ...GRANT, "--", "true"], {
    env: endpoint,
  });
  assert.equal(result.code, 0, result.stderr);
  const assumed = fx.aws.requests.filter((r) => r.action === "AssumeRole").map((r) =>
    r.params.RoleArn?.split("/").pop()
  );
  assert.deepEqual(assumed, [...names.map((name) => `${name}-role`), "timebound-iam-broker"]);
});

Deno.test("without a vault, a source profile without keys gets the SDK's error, which names no vault", async () => {
  await using fx = await startFixture({ prefix: "tbi-chain-" });
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...endpoint } = fx.env;
  const role = fx.aws.addRole({ roleName: ROLE }).arn;
  await Deno.writeTextFile(
    fx.path(".aws", "config"),
    `[profile prod]\nsource_profile = nokeys\nrole_arn = ${role}\n\n[profile nokeys]\n` +
      "region = us-east-1\n",
  );
  const result = await runCli(["exec", "--profile", "prod", ...GRANT, "--", "true"], {
    env: endpoint,
  });
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /^error: /);
  assert.doesNotMatch(result.stderr, /vault|keys add/);
  assert.deepEqual(fx.aws.requests, []);
});

Deno.test("a chain's one deadline leaves out the time a person takes to type an MFA code", async () => {
  await using aws = await LocalAws.start();
  const mid = aws.addRole({ roleName: "mid-role" }).arn;
  const prod = aws.addRole({ roleName: ROLE }).arn;
  const { serialNumber } = aws.addMfaDevice({ deviceName: "developer" });
  // The SDK's STS clients find the endpoint in the process's environment, as in the CLI.
  const names = ["AWS_ENDPOINT_URL_STS", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"];
  const saved = names.map((name) => Deno.env.get(name));
  Deno.env.set("AWS_ENDPOINT_URL_STS", aws.url);
  Deno.env.set("AWS_CONFIG_FILE", "/dev/null");
  Deno.env.set("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
  try {
    const { chainCredentials } = await import("../lib/aws/vault_chain.ts");
    type Chain = Parameters<typeof chainCredentials>[0];
    const chain = {
      profile: "prod",
      source: "base",
      holding: { profile: "base", keys: aws.defaultUser },
      steps: [
        { profile: "mid", roleArn: mid, mfaSerial: serialNumber },
        { profile: "prod", roleArn: prod },
      ],
    } as unknown as Chain;
    const quiet = () => {};
    // Each AssumeRole takes 0.6 s of the 2 s; the person takes 2.5 s to type the code.
    aws.answerAfter(600);
    const credentials = await chainCredentials(chain, {
      region: "us-east-1",
      env: { AWS_ENDPOINT_URL_STS: aws.url },
      timeoutMs: 2000,
      requestHandler: { requestTimeout: 2000, throwOnRequestTimeout: true },
      logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
      mfaCodeProvider: async (serial) => {
        await new Promise((resolve) => setTimeout(resolve, 2500));
        return aws.mfaCode(serial);
      },
    })();
    aws.answerAfter(0);
    assert.match(credentials.accessKeyId, /^ASIA/);
    const assumed = aws.requests.filter((r) => r.action === "AssumeRole");
    assert.deepEqual(assumed.map((r) => [r.params.RoleArn, r.status]), [[mid, 200], [prod, 200]]);
  } finally {
    names.forEach((name, i) =>
      saved[i] === undefined ? Deno.env.delete(name) : Deno.env.set(name, saved[i])
    );
  }
});
