// setup aws end to end: the real CLI (compile permission set) against the local STS and IAM
// endpoint, and the wizard in process with its questions answered by the test.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { IAMClient } from "@aws-sdk/client-iam";
import { STSClient } from "@aws-sdk/client-sts";
import type { Cli } from "../lib/cli/options.ts";
import { setupCommand } from "../lib/commands/setup.ts";
import type { SetupPrompts } from "../lib/setup/wizard.ts";
import { runCli } from "./support/cli.ts";
import { type Fixture, startFixture } from "./support/fixture.ts";
import type { LocalAws, LocalCredentials } from "./support/local_aws.ts";

const ACCOUNT = "123456789012";
const USER_ARN = `arn:aws:iam::${ACCOUNT}:user/developer`;
const WRITES = ["CreateRole", "UpdateRole", "UpdateAssumeRolePolicy", "PutRolePolicy"];

/**
 * The fixture for setup: an endpoint without the broker role (unless `brokerRole`), and the
 * config file under HOME on every OS (XDG_CONFIG_HOME).
 */
function setupFixture(
  options: { brokerRole?: boolean; caller?: (aws: LocalAws) => LocalCredentials } = {},
): Promise<Fixture> {
  return startFixture({
    aws: { brokerRole: options.brokerRole ?? false },
    caller: options.caller,
    // join: the CLI joins the config file's path with the OS's separator, and prints it.
    env: (home) => ({ XDG_CONFIG_HOME: join(home, ".config") }),
    prefix: "tbi-setup-",
  });
}

/** The config file the CLI writes in the fixture's HOME. */
function configFileOf(fx: Fixture): string {
  return fx.path(".config", "timebound-iam", "config.json");
}

/** The lines under the heading that starts with `heading`, up to the next blank line. */
function block(stdout: string, heading: string): string[] {
  const lines = stdout.split("\n");
  const start = lines.findIndex((line) => line.startsWith(heading));
  assert.ok(start >= 0, `no heading "${heading}" in:\n${stdout}`);
  assert.equal(lines[start + 1], "", "a blank line follows the heading");
  const rest = lines.slice(start + 2);
  const end = rest.indexOf("");
  return rest.slice(0, end < 0 ? undefined : end);
}

function jsonLines(value: unknown): string[] {
  return JSON.stringify(value, null, 2).split("\n");
}

function trustOf(principal: string) {
  return {
    Version: "2012-10-17",
    Statement: [{
      Effect: "Allow",
      Principal: { AWS: principal },
      Action: ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
    }],
  };
}

function permissionsOf(...prefixes: string[]) {
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: prefixes.map((p) => `${p}:*`), Resource: "*" }],
  };
}

const SERVICES = ["setup", "aws", "--services", "s3,dynamodb,logs", "--max-session", "4h"];

Deno.test("setup aws prints the policies, commands and snippets for a user caller", async () => {
  await using fx = await setupFixture();
  const { aws } = fx;
  const configFile = configFileOf(fx);
  const result = await fx.run(SERVICES);
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.split("\n");
  assert.deepEqual(lines.slice(0, 3), [
    `Broker role timebound-iam-broker in account ${ACCOUNT}`,
    `Caller: ${USER_ARN}`,
    "",
  ]);
  const trust = block(result.stdout, "1. Trust policy");
  assert.deepEqual(trust, jsonLines(trustOf(USER_ARN)));
  assert.deepEqual(JSON.parse(trust.join("\n")), trustOf(USER_ARN));
  const permissions = block(result.stdout, "2. Permission policy timebound-iam-services");
  assert.deepEqual(permissions, jsonLines(permissionsOf("dynamodb", "logs", "s3")));
  assert.deepEqual(block(result.stdout, "3. Create or update the role"), [
    "# a new role:",
    "aws iam create-role --role-name timebound-iam-broker --max-session-duration 14400 \\",
    "  --description 'timebound-iam broker: short-lived, scoped credentials' \\",
    `  --assume-role-policy-document '${JSON.stringify(trustOf(USER_ARN))}'`,
    "# or, if the role exists already:",
    "aws iam update-assume-role-policy --role-name timebound-iam-broker \\",
    `  --policy-document '${JSON.stringify(trustOf(USER_ARN))}'`,
    "aws iam update-role --role-name timebound-iam-broker --max-session-duration 14400",
    "# then, in both cases, the permission policy (created or replaced):",
    "aws iam put-role-policy --role-name timebound-iam-broker --policy-name " +
    "timebound-iam-services \\",
    `  --policy-document '${JSON.stringify(permissionsOf("dynamodb", "logs", "s3"))}'`,
  ]);
  assert.match(result.stdout, /^3\. .*\(MaxSessionDuration 4h = 14400 seconds\):$/m);
  const mcp = JSON.parse(block(result.stdout, "4. MCP client").join("\n"));
  assert.deepEqual(mcp.mcpServers["timebound-iam"].args, ["serve"]);
  const rules = block(result.stdout, "5. Agent rules");
  assert.equal(rules[0], "## When accessing AWS resources");
  assert.match(result.stdout, /^- The broker allows these services only: dynamodb, logs, s3\.$/m);
  assert.deepEqual(block(result.stdout, "6. AWS profile for any AWS tool"), [
    "[profile timebound-ro]",
    "credential_process = timebound-iam credential-process -s dynamodb:ro,logs:ro,s3:ro -t 15m " +
    "--profile default",
  ]);
  assert.match(result.stdout, /^6\. .*\(--profile default holds your base credentials; /m);
  assert.match(result.stderr, /Nothing was changed in AWS/);
  // Without --apply: no IAM call, no config file.
  assert.deepEqual(aws.requests.map((r) => r.action), ["GetCallerIdentity"]);
  await assert.rejects(Deno.stat(configFile), Deno.errors.NotFound);
});

Deno.test("setup aws trusts the role of an assumed-role caller, with a note on paths", async () => {
  const caller = (aws: LocalAws) => aws.addAssumedRoleCaller({ roleName: "Admin" });
  await using fx = await setupFixture({ caller });
  const result = await fx.run(SERVICES);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /^Caller: arn:aws:sts::123456789012:assumed-role\/Admin\/base-session$/m,
  );
  const trust = block(result.stdout, "1. Trust policy");
  const json = trust.filter((line) => !line.startsWith("note: "));
  assert.deepEqual(json, jsonLines(trustOf(`arn:aws:iam::${ACCOUNT}:role/Admin`)));
  assert.deepEqual(trust.slice(json.length), [
    'note: You are signed in through the role "Admin", so the trust policy names that role ' +
    "(any session of it may assume the broker). If the role has a path (SSO roles do: " +
    "aws-reserved/sso.amazonaws.com/…), write it into the ARN: role/PATH/Admin",
  ]);
  assert.deepEqual(
    block(result.stdout, "2. Permission policy"),
    jsonLines(permissionsOf("dynamodb", "logs", "s3")),
  );
});

Deno.test("setup aws --trust account trusts the account root", async () => {
  await using fx = await setupFixture();
  const result = await fx.run([...SERVICES, "--trust", "account", "--client", "kiro"]);
  assert.equal(result.code, 0, result.stderr);
  const trust = block(result.stdout, "1. Trust policy");
  const json = trust.filter((line) => !line.startsWith("note: "));
  assert.deepEqual(json, jsonLines(trustOf(`arn:aws:iam::${ACCOUNT}:root`)));
  assert.match(trust[json.length], /^note: Any principal of account 123456789012 /);
  const kiro = block(result.stdout, "4. MCP client Kiro, in .kiro/settings/mcp.json");
  assert.deepEqual(JSON.parse(kiro.join("\n")).mcpServers["timebound-iam"], {
    command: "timebound-iam",
    args: ["serve"],
    disabled: false,
    autoApprove: [],
  });
});

Deno.test("setup aws refuses bad input with a usage error", async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [["setup", "aws"], /^error: No services given: pass --services s3,dynamodb/],
    [["setup", "aws", "--services", "s3,nosuch"], /^error: Unknown service "nosuch"/],
    [
      ["setup", "aws", "--services", "s3", "--max-session", "30m"],
      /^error: Invalid --max-session "30m": a role's MaxSessionDuration is 1h to 12h/,
    ],
    [
      ["setup", "aws", "--services", "s3", "--max-session", "13h"],
      /^error: TTL "13h" is too long: the maximum is 12h \(IAM's limit for a role's MaxSessionDuration\)/,
    ],
    [
      ["setup", "aws", "--services", "s3", "--role-name", "a/b"],
      /^error: Invalid role name "a\/b"/,
    ],
    [
      ["setup", "aws", "--services", "s3", "--trust", "world"],
      /^error: Invalid value "world" for --trust: use caller or account\nhint: /,
    ],
  ];
  for (const [args, expected] of cases) {
    await t.step(args.join(" "), async () => {
      const result = await runCli(args, { env: { AWS_EC2_METADATA_DISABLED: "true" } });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, expected);
    });
  }
});

Deno.test("setup aws --apply without --services or --max-session keeps what the role has (the fix doctor and notes suggest)", async () => {
  await using fx = await setupFixture();
  const { aws, env } = fx;
  const first = await runCli(
    ["setup", "aws", "--services", "s3,dynamodb", "--max-session", "4h", "--apply", "--yes"],
    { env },
  );
  assert.equal(first.code, 0, first.stderr);
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/timebound-iam-broker`;

  const before = aws.requests.length;
  const again = await fx.run(["setup", "aws", "--apply", "--yes"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(
    again.stderr.split("\n")[0],
    `Keeping its services (dynamodb, s3) and its MaxSessionDuration (4h) of ${roleArn}: pass ` +
      "--services, --scopes or --max-session to change them.",
  );
  assert.match(again.stderr, /is up to date: nothing to change/);
  const writes = aws.requests.slice(before).filter((r) => WRITES.includes(r.action));
  assert.deepEqual(writes, []);

  const longer = await runCli(["setup", "aws", "--max-session", "8h", "--apply", "--yes"], {
    env,
  });
  assert.equal(longer.code, 0, longer.stderr);
  assert.match(longer.stderr, /^Keeping its services \(dynamodb, s3\) of /);
  const role = aws.role("timebound-iam-broker")!;
  assert.equal(role.maxSessionDuration, 28800);
  assert.deepEqual(
    JSON.parse(role.inlinePolicies["timebound-iam-services"]),
    permissionsOf("dynamodb", "s3"),
  );
});

Deno.test("setup aws without --services, where no role exists yet, asks for them", async () => {
  await using fx = await setupFixture();
  const result = await fx.run(["setup", "aws", "--apply", "--yes"]);
  assert.equal(result.code, 2, result.stderr);
  assert.equal(
    result.stderr,
    "error: No services given: pass --services s3,dynamodb (or run on a terminal to choose)\n",
  );
});

Deno.test("setup aws --apply creates the role, writes the config, changes nothing the second time", async () => {
  await using fx = await setupFixture();
  const { aws, env } = fx;
  const configFile = configFileOf(fx);
  const args = ["setup", "aws", "--services", "s3,dynamodb", "--max-session", "4h", "--apply"];
  const first = await fx.run([...args, "--yes"]);
  assert.equal(first.code, 0, first.stderr);
  const role = aws.role("timebound-iam-broker");
  assert.ok(role, "the role exists");
  assert.equal(role.maxSessionDuration, 14400);
  assert.deepEqual(JSON.parse(role.trustPolicy), trustOf(USER_ARN));
  assert.deepEqual(Object.keys(role.inlinePolicies), ["timebound-iam-services"]);
  assert.deepEqual(
    JSON.parse(role.inlinePolicies["timebound-iam-services"]),
    permissionsOf("dynamodb", "s3"),
  );
  assert.deepEqual(first.stderr.split("\n"), [
    `Changes to make in account ${ACCOUNT}:`,
    `  - create role timebound-iam-broker (MaxSessionDuration 4h, trusting ${USER_ARN})`,
    "  - add the permission policy timebound-iam-services: dynamodb:*, s3:*",
    `✓ Role arn:aws:iam::${ACCOUNT}:role/timebound-iam-broker is set up.`,
    `Wrote ${configFile}: profile "default" uses arn:aws:iam::${ACCOUNT}:role/timebound-iam-broker.`,
    "",
  ]);
  assert.deepEqual(JSON.parse(await Deno.readTextFile(configFile)), {
    profiles: { default: { roleArn: `arn:aws:iam::${ACCOUNT}:role/timebound-iam-broker` } },
  });
  if (Deno.build.os !== "windows") {
    assert.equal((await Deno.stat(configFile)).mode! & 0o777, 0o600);
  }

  const before = aws.requests.length;
  const second = await fx.run(args);
  assert.equal(second.code, 0, second.stderr);
  const actions = aws.requests.slice(before).map((r) => r.action);
  assert.deepEqual(actions, ["GetCallerIdentity", "GetRole", "GetRolePolicy"]);
  assert.match(second.stderr, /is up to date: nothing to change/);
  assert.match(second.stderr, /already names this role/);

  const third = await runCli(
    ["setup", "aws", "--services", "s3,logs", "--max-session", "4h", "--apply", "--yes"],
    { env },
  );
  assert.equal(third.code, 0, third.stderr);
  const writes = aws.requests.slice(before).filter((r) => WRITES.includes(r.action));
  assert.deepEqual(writes.map((r) => r.action), ["PutRolePolicy"]);
  assert.deepEqual(
    JSON.parse(aws.role("timebound-iam-broker")!.inlinePolicies["timebound-iam-services"]),
    permissionsOf("logs", "s3"),
  );
  assert.match(
    third.stderr,
    /- replace the permission policy timebound-iam-services: logs:\*, s3:\*/,
  );
});

Deno.test("setup aws --apply updates an existing role's trust and MaxSessionDuration", async () => {
  await using fx = await setupFixture({ brokerRole: true });
  const { aws } = fx;
  const result = await fx.run([...SERVICES, "--apply", "--yes"]);
  assert.equal(result.code, 0, result.stderr);
  const writes = aws.requests.filter((r) => WRITES.includes(r.action)).map((r) => r.action);
  assert.deepEqual(writes, ["UpdateAssumeRolePolicy", "UpdateRole", "PutRolePolicy"]);
  const role = aws.role("timebound-iam-broker")!;
  assert.equal(role.maxSessionDuration, 14400);
  assert.deepEqual(JSON.parse(role.trustPolicy), trustOf(USER_ARN));
  assert.match(result.stderr, /change MaxSessionDuration of timebound-iam-broker from 1h to 4h/);
});

Deno.test("setup aws --apply without --yes and without a terminal changes nothing", async () => {
  await using fx = await setupFixture();
  const { aws } = fx;
  const configFile = configFileOf(fx);
  const result = await fx.run([...SERVICES, "--apply"]);
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /^error: Cannot ask before changing the role: standard input is not a terminal\nhint: pass --yes to apply without asking\n$/m,
  );
  assert.deepEqual(aws.requests.filter((r) => WRITES.includes(r.action)), []);
  await assert.rejects(Deno.stat(configFile), Deno.errors.NotFound);
});

Deno.test("setup aws --apply explains a denied IAM call and writes no config", async () => {
  await using fx = await setupFixture();
  const { aws } = fx;
  const configFile = configFileOf(fx);
  aws.deny("iam:CreateRole");
  const result = await fx.run([...SERVICES, "--apply", "--yes"]);
  assert.equal(result.code, 1);
  const lines = result.stderr.split("\n");
  assert.ok(
    lines.includes(
      `error: Access denied: ${USER_ARN} may not call iam:CreateRole on role "timebound-iam-broker"`,
    ),
    result.stderr,
  );
  assert.ok(
    lines.includes(
      "hint: setup aws --apply needs iam:GetRole, iam:CreateRole, iam:UpdateRole, " +
        "iam:UpdateAssumeRolePolicy, iam:GetRolePolicy, iam:PutRolePolicy: use an " +
        "administrator's profile (--profile), or have one run the printed aws iam commands",
    ),
    result.stderr,
  );
  assert.equal(aws.role("timebound-iam-broker"), undefined);
  await assert.rejects(Deno.stat(configFile), Deno.errors.NotFound);
});

Deno.test("after setup aws --apply, exec with a 4h TTL needs no other flag", async () => {
  await using fx = await setupFixture();
  const { aws, env } = fx;
  const setup = await fx.run([
    "setup",
    "aws",
    "--services",
    "s3",
    "--role-name",
    "agent-broker",
    "--max-session",
    "4h",
    "--apply",
    "--yes",
  ]);
  assert.equal(setup.code, 0, setup.stderr);
  // The child is Deno itself rather than `true`, which Windows does not have.
  const exec = await runCli(
    ["exec", "--no-confirm", "-s", "s3:ro", "-t", "4h", "--", Deno.execPath(), "eval", ""],
    { env },
  );
  assert.equal(exec.code, 0, exec.stderr);
  const assume = aws.requests.filter((r) => r.action === "AssumeRole");
  assert.equal(assume.length, 1);
  assert.equal(assume[0].params.RoleArn, `arn:aws:iam::${ACCOUNT}:role/agent-broker`);
  assert.equal(assume[0].params.DurationSeconds, "14400");
  assert.equal(assume[0].status, 200);
});

Deno.test("a malformed config file stops setup and exec with the file and the field named", async () => {
  await using fx = await setupFixture();
  const configFile = configFileOf(fx);
  await Deno.mkdir(dirname(configFile), { recursive: true });
  await Deno.writeTextFile(configFile, `{"profiles": {"default": {"roleArn": "broker"}}}`);
  for (
    const args of [SERVICES, ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"]]
  ) {
    const result = await fx.run(args);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(
      result.stderr.split("\n")[0],
      `error: Invalid config file "${configFile}": field "profiles.default.roleArn": "broker" ` +
        "is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)",
    );
  }
});

/** A Cli whose terminal is the test: stdin "is" a terminal, output is captured. */
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

Deno.test("the setup aws wizard asks for services, session length, client and whether to apply", async () => {
  await using fx = await setupFixture();
  const { aws, home } = fx;
  const configFile = `${home}/wizard/config.json`;
  const cli = testCli({ TIMEBOUND_IAM_CONFIG: configFile, AWS_REGION: "us-east-1" });
  const asked: string[] = [];
  const prompts: SetupPrompts = {
    services(catalog) {
      asked.push("services");
      assert.ok(catalog.services.length > 100, "the whole catalog is offered");
      return Promise.resolve(["s3", "cloudwatch-logs"]);
    },
    maxSession() {
      asked.push("maxSession");
      return Promise.resolve("8h");
    },
    client() {
      asked.push("client");
      return Promise.resolve("cursor");
    },
    confirm(message) {
      asked.push(`confirm: ${message}`);
      return Promise.resolve(true);
    },
  };
  const client = { region: "us-east-1", endpoint: aws.url, credentials: aws.defaultUser };
  const command = setupCommand(cli, {
    prompts,
    createStsClient: () => Promise.resolve(new STSClient(client)),
    createIamClient: () => Promise.resolve(new IAMClient(client)),
    serverCommand: "/opt/bin/timebound-iam",
  });
  await command.parseAsync(["aws"], { from: "user" });
  assert.deepEqual(asked, [
    "services",
    "maxSession",
    "client",
    `confirm: Create or update the role timebound-iam-broker in account ${ACCOUNT} now?`,
  ]);
  const stdout = cli.out.join("");
  assert.deepEqual(
    block(stdout, "2. Permission policy"),
    jsonLines(permissionsOf("logs", "s3")),
  );
  const cursor = JSON.parse(
    block(stdout, "4. MCP client Cursor, in .cursor/mcp.json").join("\n"),
  );
  assert.equal(cursor.mcpServers["timebound-iam"].command, "/opt/bin/timebound-iam");
  const role = aws.role("timebound-iam-broker")!;
  assert.equal(role.maxSessionDuration, 8 * 3600);
  assert.deepEqual(
    JSON.parse(role.inlinePolicies["timebound-iam-services"]),
    permissionsOf("logs", "s3"),
  );
  assert.deepEqual(JSON.parse(await Deno.readTextFile(configFile)).profiles.default, {
    roleArn: `arn:aws:iam::${ACCOUNT}:role/timebound-iam-broker`,
  });
});

Deno.test("the setup aws wizard changes nothing when the user says no", async () => {
  await using fx = await setupFixture();
  const { aws, home } = fx;
  const cli = testCli({ TIMEBOUND_IAM_CONFIG: `${home}/c.json`, AWS_REGION: "us-east-1" });
  const prompts: SetupPrompts = {
    services: () => Promise.resolve(["dynamodb"]),
    maxSession: () => Promise.resolve("1h"),
    client: () => Promise.resolve(undefined),
    confirm: () => Promise.resolve(false),
  };
  const client = { region: "us-east-1", endpoint: aws.url, credentials: aws.defaultUser };
  await setupCommand(cli, {
    prompts,
    createStsClient: () => Promise.resolve(new STSClient(client)),
    createIamClient: () => Promise.resolve(new IAMClient(client)),
  }).parseAsync(["aws"], { from: "user" });
  // Only reads: the caller, and the role the wizard would start from (there is none).
  assert.deepEqual(aws.requests.map((r) => r.action), ["GetCallerIdentity", "GetRole"]);
  assert.match(cli.err.join(""), /Nothing was changed in AWS/);
  assert.match(cli.out.join(""), /^4\. MCP client: add this server to its mcpServers/m);
});

Deno.test("setup aws --apply on a terminal is a fix, not the wizard: it keeps what the role has", async () => {
  await using fx = await setupFixture();
  const { aws, home } = fx;
  const asked: string[] = [];
  const prompts: SetupPrompts = {
    services: () => Promise.reject(new Error("the wizard asked for services")),
    maxSession: () => Promise.reject(new Error("the wizard asked for a session length")),
    client: () => Promise.reject(new Error("the wizard asked for a client")),
    confirm(message) {
      asked.push(message);
      return Promise.resolve(true);
    },
  };
  const client = { region: "us-east-1", endpoint: aws.url, credentials: aws.defaultUser };
  const run = async (args: string[]) => {
    const cli = testCli({ TIMEBOUND_IAM_CONFIG: `${home}/c.json`, AWS_REGION: "us-east-1" });
    await setupCommand(cli, {
      prompts,
      createStsClient: () => Promise.resolve(new STSClient(client)),
      createIamClient: () => Promise.resolve(new IAMClient(client)),
    }).parseAsync(args, { from: "user" });
    return cli;
  };
  await run(["aws", "--services", "s3", "--max-session", "4h", "--apply", "--yes"]);
  const fix = await run(["aws", "--apply"]);
  assert.match(
    fix.err.join(""),
    /^Keeping its services \(s3\) and its MaxSessionDuration \(4h\) of arn:aws:iam::/,
  );
  assert.match(fix.err.join(""), /is up to date: nothing to change/);
  assert.deepEqual(asked, []);
  assert.equal(aws.role("timebound-iam-broker")!.maxSessionDuration, 14400);
});
