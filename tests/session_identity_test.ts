// Who a session serves, in CloudTrail: the SourceIdentity (the human behind the base
// credentials) and the session tags timebound-iam:client and timebound-iam:scopes, as the local
// STS endpoint records them from the real CLI; and a broker role too old to allow them.
import assert from "node:assert/strict";
import {
  sanitizeSourceIdentity,
  sessionTags,
  sourceIdentityOf,
  tagValue,
} from "../lib/request/session_identity.ts";
import { runCli } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";
import {
  accountTrustPolicy,
  oneIdentityTrustPolicy,
  pickyTrustPolicy,
} from "./support/policy_document.ts";

const EXEC = ["exec", "--no-confirm", "-s", "s3:ro,dynamodb:full", "-t", "15m", "--", "true"];

/** The config file, with each remembered refusal's time checked (within the last minute) and left out. */
async function configWithoutTimes(path: string): Promise<Record<string, unknown>> {
  const config = JSON.parse(await Deno.readTextFile(path));
  for (const refusal of config.identityRefusals ?? []) {
    const age = Date.now() - Date.parse(refusal.at);
    assert.ok(age >= 0 && age < 60_000, `refused at ${refusal.at}`);
    delete refusal.at;
  }
  return config;
}

Deno.test("sourceIdentityOf() names the human behind a caller ARN", async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ["arn:aws:iam::123456789012:user/alice", "alice"],
    ["arn:aws:iam::123456789012:user/ops/team/bob", "bob"],
    [
      "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Dev_0123/carol@example.com",
      "carol@example.com",
    ],
    ["arn:aws:sts::123456789012:federated-user/dave", "dave"],
    ["arn:aws:iam::123456789012:root", "root"],
    ["arn:aws-cn:iam::123456789012:user/erin", "erin"],
    ["not an arn", undefined],
  ];
  for (const [arn, name] of cases) {
    await t.step(arn, () => assert.equal(sourceIdentityOf(arn), name));
  }
});

Deno.test("sanitizeSourceIdentity() makes awkward names fit 2-64 characters of [\\w+=,.@-]", async (t) => {
  const cases: Array<[string, string]> = [
    ["José García", "Jose-Garcia"],
    ["Zoë O'Brien", "Zoe-O-Brien"],
    ["a", "a_"],
    ["", "__"],
    ["svc+deploy=1,x.y@corp-z", "svc+deploy=1,x.y@corp-z"],
    ["line\nbreak\u001b[31m", "line-break--31m"],
    ["x".repeat(70), "x".repeat(64)],
    ["tab\there", "tab-here"],
    ["Ångström", "Angstrom"],
  ];
  for (const [name, expected] of cases) {
    await t.step(JSON.stringify(name), () => {
      const got = sanitizeSourceIdentity(name);
      assert.equal(got, expected);
      assert.match(got, /^[\w+=,.@-]{2,64}$/);
    });
  }
});

Deno.test("session tags: the client, and the scopes space-separated, cut to 256 with +N more", () => {
  assert.deepEqual(
    sessionTags({
      client: "cli",
      scopes: [{ service: "s3", level: "ro" }, { service: "ec2", level: "full" }],
    }),
    [
      { Key: "timebound-iam:client", Value: "cli" },
      { Key: "timebound-iam:scopes", Value: "s3:ro ec2:full" },
    ],
  );
  const many = Array.from(
    { length: 60 },
    (_, i) => ({ service: `service${i}`, level: "ro" as const }),
  );
  const value = sessionTags({ client: "cli", scopes: many })[1].Value;
  assert.ok(value.length <= 256, `${value.length} characters`);
  assert.match(value, /^service0:ro service1:ro .* \+\d+ more$/);
  const shown = value.split(" ").filter((part) => part.endsWith(":ro")).length;
  assert.equal(value.endsWith(` +${60 - shown} more`), true);
  assert.equal(tagValue("Claude Code, (beta)\n"), "Claude Code- -beta-");
  assert.equal(tagValue("x".repeat(300)).length, 256);
  // Letters, numbers and spaces of any script are AWS's tag alphabet too; controls are not.
  assert.equal(tagValue("Café agent/1.0\u00a0β"), "Café agent/1.0\u00a0β");
  assert.equal(tagValue("tab\there"), "tabhere");
  assert.equal(tagValue("é".repeat(300)), "é".repeat(256));
});

Deno.test("exec sends the caller's name as SourceIdentity and tags the client and scopes", async () => {
  await using fx = await startFixture({ prefix: "tbi-identity-" });
  const { aws } = fx;
  const result = await fx.run(EXEC);
  assert.equal(result.code, 0, result.stderr);
  const calls = aws.requests.filter((r) => r.action === "AssumeRole");
  assert.equal(calls.length, 1);
  assert.equal(calls[0].params.SourceIdentity, "developer");
  const session = aws.sessions().at(-1)!;
  assert.equal(session.sourceIdentity, "developer");
  assert.deepEqual(session.tags, {
    "timebound-iam:client": "cli",
    "timebound-iam:scopes": "s3:ro dynamodb:full",
  });
  assert.equal(result.stderr, "");
});

Deno.test("an awkward user name is sanitised; --source-identity overrides it and the summary shows both", async () => {
  await using fx = await startFixture({ aws: { userName: "a" }, prefix: "tbi-identity-" });
  const { aws } = fx;
  const env = fx.env;
  const plain = await runCli(EXEC, { env });
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(aws.sessions().at(-1)!.sourceIdentity, "a_");

  const dry = await runCli(
    [
      "exec",
      "--dry-run",
      "--source-identity",
      "ci-bot",
      "-s",
      "s3:ro",
      "-t",
      "15m",
      "--",
      "true",
    ],
    { env },
  );
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, /^ {2}identity +ci-bot \(CloudTrail sourceIdentity, caller a_\)$/m);
  // shell takes the same flag: its summary names the same identity.
  const shell = await runCli(
    ["shell", "--dry-run", "--source-identity", "ci-bot", "-s", "s3:ro", "-t", "15m"],
    { env },
  );
  assert.equal(shell.code, 0, shell.stderr);
  assert.match(shell.stderr, /^ {2}identity +ci-bot \(CloudTrail sourceIdentity, caller a_\)$/m);

  const over = await runCli([
    "exec",
    "--no-confirm",
    "--source-identity",
    "ci-bot",
    ...EXEC.slice(2),
  ], {
    env,
  });
  assert.equal(over.code, 0, over.stderr);
  assert.equal(aws.sessions().at(-1)!.sourceIdentity, "ci-bot");

  const bad = await runCli([
    "exec",
    "--no-confirm",
    "--source-identity",
    "no spaces",
    ...EXEC.slice(2),
  ], {
    env,
  });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: Invalid source identity "no spaces": use 2 to 64 letters/);
});

Deno.test("a broker role whose trust refuses identity: retried once without, remembered, then sent without", async () => {
  await using fx = await startFixture({ prefix: "tbi-identity-" });
  const { aws, home } = fx;
  aws.addRole({
    roleName: "timebound-iam-broker",
    trustPolicy: accountTrustPolicy(aws.accountId, { identity: false }),
  });
  const env = fx.env;
  const first = await runCli(EXEC, { env });
  assert.equal(first.code, 0, first.stderr);
  const calls = aws.requests.filter((r) => r.action === "AssumeRole");
  // As asked; with the source identity alone (refused too: the role refuses naming anyone,
  // not these tags); then without identity.
  assert.deepEqual(
    calls.map((c) => [
      c.status,
      c.errorCode,
      c.params.SourceIdentity,
      c.params["Tags.member.1.Value"],
      c.params["Tags.member.2.Value"],
    ]),
    [
      [403, "AccessDenied", "developer", "cli", "s3:ro dynamodb:full"],
      [403, "AccessDenied", "developer", undefined, undefined],
      [200, undefined, undefined, undefined, undefined],
    ],
  );
  const configPath = `${home}/.config/timebound-iam/config.json`;
  assert.equal(
    first.stderr,
    `note: ${aws.brokerRoleArn} refused sts:SetSourceIdentity to ` +
      `${aws.defaultUser.arn}: this grant carries no source identity or session tags ` +
      `(remembered in ${configPath})\n` +
      "hint: let CloudTrail show who asked: timebound-iam setup aws --apply adds " +
      "sts:SetSourceIdentity and sts:TagSession to the broker role's trust policy\n",
  );
  assert.deepEqual(await configWithoutTimes(configPath), {
    identityRefusals: [{ role: aws.brokerRoleArn, caller: aws.defaultUser.arn }],
  });
  if (Deno.build.os !== "windows") {
    assert.equal((await Deno.stat(configPath)).mode! & 0o777, 0o600);
  }

  const second = await runCli(EXEC, { env });
  assert.equal(second.code, 0, second.stderr);
  const after = aws.requests.filter((r) => r.action === "AssumeRole").slice(3);
  assert.deepEqual(after.map((c) => [c.status, c.params.SourceIdentity]), [[200, undefined]]);
  assert.equal(
    second.stderr.split("\n")[0],
    `note: no source identity or session tags: ${aws.brokerRoleArn} ` +
      `refused them to ${aws.defaultUser.arn} before (${configPath})`,
  );
});

Deno.test("a refusal of identity is remembered for the caller it was made to: another caller's grants keep identity", async () => {
  await using fx = await startFixture({ prefix: "tbi-identity-" });
  const { aws, home } = fx;
  const ops = aws.addUser({ userName: "ops" });
  // An administrator lets the developer name herself, and not ops.
  aws.addRole({
    roleName: "timebound-iam-broker",
    trustPolicy: {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${aws.accountId}:root` },
          Action: "sts:AssumeRole",
        },
        {
          Effect: "Allow",
          Principal: { AWS: aws.defaultUser.arn },
          Action: ["sts:SetSourceIdentity", "sts:TagSession"],
        },
      ],
    },
  });
  const configPath = `${home}/.config/timebound-iam/config.json`;
  const asOps = await fx.run(EXEC, { env: aws.env(ops) });
  assert.equal(asOps.code, 0, asOps.stderr);
  assert.match(
    asOps.stderr,
    /refused sts:SetSourceIdentity to arn:aws:iam::\d+:user\/ops:/,
  );
  assert.deepEqual(await configWithoutTimes(configPath), {
    identityRefusals: [{ role: aws.brokerRoleArn, caller: ops.arn }],
  });

  const seen = aws.requests.length;
  const asDeveloper = await fx.run(EXEC);
  assert.equal(asDeveloper.code, 0, asDeveloper.stderr);
  assert.equal(asDeveloper.stderr, "");
  const calls = aws.requests.slice(seen).filter((r) => r.action === "AssumeRole");
  assert.deepEqual(calls.map((c) => [c.status, c.params.SourceIdentity]), [[200, "developer"]]);

  const again = aws.requests.length;
  const opsAgain = await fx.run(EXEC, { env: aws.env(ops) });
  assert.equal(opsAgain.code, 0, opsAgain.stderr);
  assert.match(
    opsAgain.stderr,
    /^note: no source identity or session tags: .* to arn:aws:iam::\d+:user\/ops before/,
  );
  const opsCalls = aws.requests.slice(again).filter((r) => r.action === "AssumeRole");
  assert.deepEqual(opsCalls.map((c) => [c.status, c.params.SourceIdentity]), [[200, undefined]]);
});

Deno.test("an SSO role whose permissions lack sts:SetSourceIdentity: remembered for that role, whatever the session name; an IAM user keeps identity", async () => {
  await using fx = await startFixture({ prefix: "tbi-identity-" });
  const { aws, home } = fx;
  // The broker role's trust policy allows identity (setup aws wrote it), but a role-chained
  // session needs sts:SetSourceIdentity in its own permissions too, and this permission set
  // lacks it.
  aws.deny("sts:SetSourceIdentity", `arn:aws:iam::${aws.accountId}:role/AWSReservedSSO_Dev`);
  const principal = `arn:aws:sts::${aws.accountId}:assumed-role/AWSReservedSSO_Dev`;
  const configPath = `${home}/.config/timebound-iam/config.json`;
  const exec = ["exec", "--no-confirm", "-s", "s3:ro", "-t", "1h", "--", "true"];
  const first = aws.addAssumedRoleCaller({ roleName: "AWSReservedSSO_Dev", sessionName: "a1" });
  const one = await fx.run(exec, { env: aws.env(first) });
  assert.equal(one.code, 0, one.stderr);
  assert.equal(
    one.stderr,
    `note: ${aws.brokerRoleArn} refused sts:SetSourceIdentity to ` +
      `${principal}: this grant carries no source identity or session tags (remembered in ` +
      `${configPath})\n` +
      "hint: let CloudTrail show who asked: timebound-iam setup aws --apply adds " +
      "sts:SetSourceIdentity and sts:TagSession to the broker role's trust policy; and the " +
      `permissions of ${principal} need them too (AWS asks both for a role-chained session)\n`,
  );
  assert.deepEqual(await configWithoutTimes(configPath), {
    identityRefusals: [{ role: aws.brokerRoleArn, caller: principal }],
  });

  // The next session of the same role has another session name, and goes without at once.
  let seen = aws.requests.length;
  const second = aws.addAssumedRoleCaller({ roleName: "AWSReservedSSO_Dev", sessionName: "a2" });
  const two = await fx.run(exec, { env: aws.env(second) });
  assert.equal(two.code, 0, two.stderr);
  assert.ok(two.stderr.includes(`refused them to ${principal} before`), two.stderr);
  const calls = aws.requests.slice(seen).filter((r) => r.action === "AssumeRole");
  assert.deepEqual(calls.map((c) => [c.status, c.params.SourceIdentity]), [[200, undefined]]);

  // An IAM user's grants are not affected.
  seen = aws.requests.length;
  const user = await fx.run(exec);
  assert.equal(user.code, 0, user.stderr);
  assert.equal(user.stderr, "");
  const userCalls = aws.requests.slice(seen).filter((r) => r.action === "AssumeRole");
  assert.deepEqual(userCalls.map((c) => [c.status, c.params.SourceIdentity]), [
    [200, "developer"],
  ]);
});

Deno.test("--source-identity never goes without identity, even where a refusal of the caller's own name is remembered", async () => {
  await using fx = await startFixture({ prefix: "tbi-identity-" });
  const { aws } = fx;
  aws.addRole({
    roleName: "timebound-iam-broker",
    trustPolicy: oneIdentityTrustPolicy(aws.accountId, "ci-bot"),
  });
  const own = await fx.run(EXEC);
  assert.equal(own.code, 0, own.stderr);
  assert.match(own.stderr, /refused sts:SetSourceIdentity to /);
  const seen = aws.requests.length;
  const ci = await fx.run(EXEC, { env: { TIMEBOUND_IAM_SOURCE_IDENTITY: "ci-bot" } });
  assert.equal(ci.code, 0, ci.stderr);
  assert.equal(ci.stderr, "");
  const calls = aws.requests.slice(seen).filter((r) => r.action === "AssumeRole");
  assert.deepEqual(calls.map((c) => [c.status, c.params.SourceIdentity]), [[200, "ci-bot"]]);
});

Deno.test("a remembered refusal counts for a day: after that a grant asks with identity again, and remembers anew", async (t) => {
  await using fx = await startFixture({ prefix: "tbi-identity-" });
  const { aws } = fx;
  aws.addRole({
    roleName: "timebound-iam-broker",
    trustPolicy: accountTrustPolicy(aws.accountId, { identity: false }),
  });
  const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3600_000).toISOString();
  const cases: Array<[string, string | undefined, number]> = [
    ["23 hours ago: still counts", hoursAgo(23), 1],
    ["25 hours ago: counts no more", hoursAgo(25), 3],
    ["with no time: counts no more", undefined, 3],
    ["in the future: counts no more", hoursAgo(-1), 3],
  ];
  for (const [what, at, requests] of cases) {
    await t.step(what, async () => {
      const { home } = fx;
      const dir = `${home}/.config/timebound-iam`;
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      const refusal = { role: aws.brokerRoleArn, caller: aws.defaultUser.arn };
      await Deno.writeTextFile(
        `${dir}/config.json`,
        JSON.stringify({ identityRefusals: [at === undefined ? refusal : { ...refusal, at }] }),
      );
      const seen = aws.requests.length;
      const result = await fx.run(EXEC);
      assert.equal(result.code, 0, result.stderr);
      const calls = aws.requests.slice(seen).filter((r) => r.action === "AssumeRole");
      assert.equal(calls.length, requests);
      const written = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
      if (requests === 1) {
        assert.match(result.stderr, /^note: no source identity or session tags: /);
        assert.equal(written.identityRefusals[0].at, at);
      } else {
        assert.match(result.stderr, /^note: .* refused sts:SetSourceIdentity to /);
        assert.deepEqual(await configWithoutTimes(`${dir}/config.json`), {
          identityRefusals: [refusal],
        });
      }
    });
  }
});

Deno.test("an IAM user whose path holds DEL: the refusal is remembered, and the config file stays readable", async () => {
  await using fx = await startFixture({ prefix: "tbi-identity-" });
  const { aws, home } = fx;
  aws.addRole({
    roleName: "timebound-iam-broker",
    trustPolicy: accountTrustPolicy(aws.accountId, { identity: false }),
  });
  const odd = aws.addUser({ userName: "ops\u007f/alice" });
  const env = { HOME: home, ...aws.env(odd) };
  const first = await runCli(EXEC, { env });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /\(remembered in /);
  const second = await runCli(EXEC, { env });
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /^note: no source identity or session tags: /);
});

Deno.test("a role whose conditions refuse this grant's tags: the grant fails, nothing is remembered, later grants keep identity", async () => {
  await using fx = await startFixture({ prefix: "tbi-identity-" });
  const { aws, home } = fx;
  aws.addRole({
    roleName: "timebound-iam-broker",
    trustPolicy: pickyTrustPolicy(aws.accountId, { scopes: "s3:ro" }),
  });
  const env = fx.env;
  const refused = await runCli(EXEC, { env });
  assert.equal(refused.code, 1, refused.stderr);
  assert.equal(
    refused.stderr,
    `error: The trust policy of ${aws.brokerRoleArn} refuses this grant's session tags ` +
      "(timebound-iam:client=cli, timebound-iam:scopes=s3:ro dynamodb:full): it lacks " +
      "sts:TagSession, or a condition of it refuses these values\n" +
      "hint: no credentials were handed out; timebound-iam setup aws --apply adds " +
      "sts:TagSession, or allow these values in the conditions on aws:RequestTag and " +
      "aws:TagKeys\n",
  );
  const calls = aws.requests.filter((r) => r.action === "AssumeRole");
  // The grant as asked, then the source identity alone (allowed: so the tags are what the role
  // refuses), and no third request without identity.
  assert.deepEqual(
    calls.map((c) => [
      c.status,
      c.params.SourceIdentity,
      c.params["Tags.member.1.Value"],
      c.params["Tags.member.2.Value"],
    ]),
    [
      [403, "developer", "cli", "s3:ro dynamodb:full"],
      [200, "developer", undefined, undefined],
    ],
  );
  await assert.rejects(
    Deno.stat(`${home}/.config/timebound-iam/config.json`),
    Deno.errors.NotFound,
  );

  const allowed = await runCli(
    ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"],
    {
      env,
    },
  );
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.equal(allowed.stderr, "");
  const last = aws.requests.filter((r) => r.action === "AssumeRole").slice(2);
  assert.deepEqual(last.map((c) => [c.status, c.params.SourceIdentity]), [[200, "developer"]]);
});

Deno.test({
  name:
    "a refusal that cannot be remembered (a config directory others can write) still grants, and says so",
  // Windows has no POSIX modes.
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await using fx = await startFixture({ prefix: "tbi-identity-" });
    const { aws, home } = fx;
    aws.addRole({
      roleName: "timebound-iam-broker",
      trustPolicy: accountTrustPolicy(aws.accountId, { identity: false }),
    });
    const dir = `${home}/.config/timebound-iam`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.chmod(dir, 0o777);
    const result = await fx.run(EXEC);
    assert.equal(result.code, 0, result.stderr);
    const real = await Deno.realPath(dir);
    assert.equal(
      result.stderr.split("\n")[0],
      `note: ${aws.brokerRoleArn} refused sts:SetSourceIdentity to ` +
        `${aws.defaultUser.arn}: this grant carries no source identity or session tags (not remembered: Cannot write ` +
        `config file "${dir}/config.json": Directory "${real}" is writable by other users ` +
        "(mode 0777))",
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
  },
});

Deno.test("--debug reports AWS's PackedPolicySize for the policy and tags", async () => {
  await using fx = await startFixture({ prefix: "tbi-identity-" });
  const { aws } = fx;
  const result = await fx.run(["exec", "--debug", ...EXEC.slice(1)]);
  assert.equal(result.code, 0, result.stderr);
  const [call] = aws.requests.filter((r) => r.action === "AssumeRole");
  const tagChars = "timebound-iam:client".length + "cli".length +
    "timebound-iam:scopes".length + "s3:ro dynamodb:full".length;
  const percent = Math.ceil(((call.params.Policy.length + tagChars) / 2048) * 100);
  assert.equal(result.stderr, `debug: AssumeRole PackedPolicySize ${percent}%\n`);
});

Deno.test("a --source-identity the trust policy refuses fails the grant: it never goes without identity, nor is remembered", async () => {
  await using fx = await startFixture({ prefix: "tbi-identity-" });
  const { aws, home } = fx;
  aws.addRole({
    roleName: "timebound-iam-broker",
    trustPolicy: oneIdentityTrustPolicy(aws.accountId, "developer"),
  });
  const env = { HOME: home, ...aws.env(), TIMEBOUND_IAM_SOURCE_IDENTITY: "somebody-else" };
  const refused = await runCli(EXEC, { env });
  assert.equal(refused.code, 1, refused.stderr);
  assert.equal(
    refused.stderr.split("\n")[0],
    `error: The trust policy of ${aws.brokerRoleArn} refuses this grant's source identity or ` +
      "session tags (sts:SetSourceIdentity), and this grant never goes without them",
  );
  const calls = aws.requests.filter((r) => r.action === "AssumeRole");
  assert.deepEqual(calls.map((c) => [c.status, c.params.SourceIdentity]), [
    [403, "somebody-else"],
  ]);
  await assert.rejects(
    Deno.stat(`${home}/.config/timebound-iam/config.json`),
    Deno.errors.NotFound,
  );
  // In the caller's own name, the grant names them.
  const { TIMEBOUND_IAM_SOURCE_IDENTITY: _, ...own } = env;
  const granted = await runCli(EXEC, { env: own });
  assert.equal(granted.code, 0, granted.stderr);
  const last = aws.requests.filter((r) => r.action === "AssumeRole").at(-1);
  assert.deepEqual([last?.status, last?.params.SourceIdentity], [200, "developer"]);
});
