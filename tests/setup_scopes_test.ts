// setup aws --scopes: the broker role's policy in the scope language of a grant (levels and
// resources), checked with an IAM simulator (@cloud-copilot/iam-simulate is AGPL: tests only);
// a grant under it; doctor and a later setup read the scopes back; the wizard starts from them.
import assert from "node:assert/strict";
import { join } from "node:path";
import { IAMClient } from "@aws-sdk/client-iam";
import { STSClient } from "@aws-sdk/client-sts";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import type { Cli } from "../lib/cli/options.ts";
import { setupCommand } from "../lib/commands/setup.ts";
import type { SetupPrompts } from "../lib/setup/wizard.ts";
import { runCli } from "./support/cli.ts";
import { type Fixture, startFixture } from "./support/fixture.ts";

const ACCOUNT = "123456789012";
const POLICY_NAME = "timebound-iam-services";

/** The fixture with no broker role yet, and the config file under HOME on every OS. */
function setupFixture(): Promise<Fixture> {
  return startFixture({
    aws: { brokerRole: false },
    env: (home) => ({ XDG_CONFIG_HOME: join(home, ".config") }),
    prefix: "tbi-setup-scopes-",
  });
}

/** What IAM decides for the role's own policy alone. */
async function decide(policy: unknown, action: string, resource: string): Promise<string> {
  const result = await runSimulation({
    request: {
      principal: `arn:aws:iam::${ACCOUNT}:role/timebound-iam-broker`,
      action,
      resource: { resource, accountId: ACCOUNT },
      contextVariables: {},
    },
    identityPolicies: [{ name: "role", policy: policy as Record<string, unknown> }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }, {});
  if (result.resultType === "error") throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

Deno.test("setup aws --scopes 's3:ro@my-bucket' --apply: a role that reads that bucket only", async (t) => {
  await using fx = await setupFixture();
  const { aws, env } = fx;
  const setup = await runCli(
    ["setup", "aws", "--scopes", "s3:ro@my-bucket", "--apply", "--yes"],
    {
      env,
    },
  );
  assert.equal(setup.code, 0, setup.stderr);
  assert.match(
    setup.stdout,
    /^2\. Permission policy timebound-iam-services \(the most any grant can have: s3:ro@my-bucket\):$/m,
  );
  assert.match(
    setup.stderr,
    /- add the permission policy timebound-iam-services: s3:ro@my-bucket/,
  );
  const role = aws.role("timebound-iam-broker")!;
  const policy = JSON.parse(role.inlinePolicies[POLICY_NAME]);
  assert.match(role.description!, /; scopes: s3:ro@my-bucket$/);

  const cases: Array<[string, string, string]> = [
    ["s3:GetObject", "arn:aws:s3:::my-bucket/reports/q1.csv", "Allowed"],
    ["s3:ListBucket", "arn:aws:s3:::my-bucket", "Allowed"],
    ["s3:GetObject", "arn:aws:s3:::other-bucket/reports/q1.csv", "ImplicitlyDenied"],
    ["s3:ListBucket", "arn:aws:s3:::other-bucket", "ImplicitlyDenied"],
    ["s3:PutObject", "arn:aws:s3:::my-bucket/reports/q1.csv", "ImplicitlyDenied"],
    ["s3:DeleteBucket", "arn:aws:s3:::my-bucket", "ImplicitlyDenied"],
    [
      "dynamodb:GetItem",
      `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/Orders`,
      "ImplicitlyDenied",
    ],
  ];
  for (const [action, resource, expected] of cases) {
    await t.step(`${action} on ${resource}: ${expected}`, async () => {
      assert.equal(await decide(policy, action, resource), expected);
    });
  }

  await t.step("a grant under the role works", async () => {
    const grant = await runCli([
      "exec",
      "--no-confirm",
      "-s",
      "s3:ro@my-bucket",
      "-t",
      "15m",
      "--",
      Deno.execPath(),
      "eval",
      "console.log(Deno.env.get('AWS_SESSION_TOKEN') ? 'session' : 'none')",
    ], { env });
    assert.equal(grant.code, 0, grant.stderr);
    assert.equal(grant.stdout, "session\n");
    const assumed = aws.requests.filter((r) => r.action === "AssumeRole");
    assert.equal(assumed.length, 1);
    assert.equal(assumed[0].params.RoleArn, `arn:aws:iam::${ACCOUNT}:role/timebound-iam-broker`);
    assert.equal(assumed[0].status, 200);
  });

  await t.step("doctor shows the role's scopes", async () => {
    const doctor = await fx.run(["doctor"]);
    assert.match(doctor.stdout, /^✓ role permissions +at most s3:ro@my-bucket$/m);
  });

  await t.step("setup aws --apply again keeps the scopes: nothing to change", async () => {
    const again = await fx.run(["setup", "aws", "--apply", "--yes"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stderr,
      /^Keeping its scopes \(s3:ro@my-bucket\) and its MaxSessionDuration \(1h\)/,
    );
    assert.match(again.stderr, /is up to date: nothing to change/);
  });

  await t.step(
    "a role policy changed by hand is not taken for the described scopes",
    async () => {
      const { PutRolePolicyCommand } = await import("@aws-sdk/client-iam");
      const iam = new IAMClient({
        region: "us-east-1",
        endpoint: aws.url,
        credentials: aws.defaultUser,
      });
      await iam.send(
        new PutRolePolicyCommand({
          RoleName: "timebound-iam-broker",
          PolicyName: POLICY_NAME,
          PolicyDocument: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }],
          }),
        }),
      );
      iam.destroy();
      const doctor = await fx.run(["doctor"]);
      assert.match(
        doctor.stdout,
        /^– role permissions +timebound-iam-services was not written by setup aws/m,
      );
    },
  );
});

Deno.test("setup aws --services with --scopes: whole services beside narrower scopes", async () => {
  await using fx = await setupFixture();
  const { env } = fx;
  const result = await runCli(
    ["setup", "aws", "--services", "logs", "--scopes", "s3:ro@my-bucket,dynamodb:full@Orders"],
    { env },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /\(the most any grant can have: dynamodb:full@Orders,logs:full,s3:ro@my-bucket\)/,
  );
  // The documents the heading announces: the policy of those scopes.
  const json = result.stdout.split("\n2. Permission policy")[1].split("\n\n")[1];
  const policy = JSON.parse(json);
  const orders = `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/Orders`;
  assert.equal(await decide(policy, "dynamodb:DeleteItem", orders), "Allowed");
  assert.equal(
    await decide(
      policy,
      "dynamodb:DeleteItem",
      `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/Users`,
    ),
    "ImplicitlyDenied",
  );
  assert.equal(await decide(policy, "logs:DeleteLogGroup", "*"), "Allowed");
  assert.match(
    result.stdout,
    /^- The broker allows these services only: dynamodb:full@Orders, logs:full, s3:ro@my-bucket\.$/m,
  );
  assert.match(
    result.stdout,
    /credential_process = .* -s dynamodb:ro@Orders,logs:ro,s3:ro@my-bucket /,
  );
});

Deno.test("setup aws --scopes refuses what a grant would refuse, before any AWS call", async () => {
  await using fx = await setupFixture();
  const { aws } = fx;
  const result = await fx.run(["setup", "aws", "--scopes", "s3:admin@my-bucket"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^error: Unknown level "admin"/);
  assert.deepEqual(aws.requests, []);
});

/** A CLI context that records what it prints, on a terminal. */
function testCli(env: Record<string, string>): Cli & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: (text) => out.push(text),
      stderr: (text) => err.push(text),
      env,
      stdinIsTerminal: true,
      stderrIsTerminal: true,
    },
    exitCode: 0,
    now: () => new Date(),
    confirm: () => Promise.resolve(false),
    out,
    err,
  };
}

Deno.test("the setup aws wizard starts from the existing role's services, scopes and session length", async () => {
  await using fx = await setupFixture();
  const { aws, env } = fx;
  const made = await fx.run([
    "setup",
    "aws",
    "--services",
    "dynamodb",
    "--scopes",
    "s3:ro@my-bucket",
    "--max-session",
    "4h",
    "--apply",
    "--yes",
  ]);
  assert.equal(made.code, 0, made.stderr);

  const asked: Record<string, unknown> = {};
  const prompts: SetupPrompts = {
    services(_catalog, current) {
      asked.services = current;
      return Promise.resolve([...current ?? []]);
    },
    scopes(services, current) {
      asked.scopes = [services, current];
      return Promise.resolve(current ?? "");
    },
    maxSession(current) {
      asked.maxSession = current;
      return Promise.resolve(current ?? "1h");
    },
    client: () => Promise.resolve(undefined),
    confirm: () => Promise.resolve(true),
  };
  const client = { region: "us-east-1", endpoint: aws.url, credentials: aws.defaultUser };
  const cli = testCli({ ...env, AWS_REGION: "us-east-1" });
  const before = aws.requests.length;
  await setupCommand(cli, {
    prompts,
    createStsClient: () => Promise.resolve(new STSClient(client)),
    createIamClient: () => Promise.resolve(new IAMClient(client)),
  }).parseAsync(["aws"], { from: "user" });
  assert.deepEqual(asked, {
    services: ["dynamodb", "s3"],
    scopes: [["dynamodb", "s3"], "dynamodb:full,s3:ro@my-bucket"],
    maxSession: "4h",
  });
  // Kept as it was: nothing to change.
  assert.match(cli.err.join(""), /is up to date: nothing to change/);
  const writes = aws.requests.slice(before).filter((r) =>
    ["CreateRole", "UpdateRole", "PutRolePolicy", "UpdateAssumeRolePolicy"].includes(r.action)
  );
  assert.deepEqual(writes, []);
});

Deno.test("the setup aws wizard on a role of whole services offers them, and no scopes", async () => {
  await using fx = await setupFixture();
  const { aws, env } = fx;
  const made = await runCli(["setup", "aws", "--services", "s3,logs", "--apply", "--yes"], {
    env,
  });
  assert.equal(made.code, 0, made.stderr);
  const asked: unknown[] = [];
  const prompts: SetupPrompts = {
    services: (_catalog, current) => (asked.push(current), Promise.resolve(["s3"])),
    scopes: (_services, current) => (asked.push(current), Promise.resolve("")),
    maxSession: (current) => (asked.push(current), Promise.resolve("2h")),
    client: () => Promise.resolve(undefined),
    confirm: () => Promise.resolve(false),
  };
  const client = { region: "us-east-1", endpoint: aws.url, credentials: aws.defaultUser };
  const cli = testCli({ ...env, AWS_REGION: "us-east-1" });
  await setupCommand(cli, {
    prompts,
    createStsClient: () => Promise.resolve(new STSClient(client)),
    createIamClient: () => Promise.resolve(new IAMClient(client)),
  }).parseAsync(["aws"], { from: "user" });
  assert.deepEqual(asked, [["logs", "s3"], undefined, "1h"]);
});
