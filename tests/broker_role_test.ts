// The broker role as data: trust and permission policies, the change plan, the snippets.
import assert from "node:assert/strict";
import {
  buildPermissionPolicy,
  buildTrustPolicy,
  callerPrincipal,
  MCP_CLIENTS,
  renderAgentRules,
  renderAwsCommands,
  renderClientSnippet,
  ROLE_DESCRIPTION,
  roleArnFor,
  samePolicy,
  TRUST_MODES,
} from "../lib/setup/broker_role.ts";
import { planRoleChanges } from "../lib/setup/iam_role.ts";

const USER = "arn:aws:iam::123456789012:user/dev";
const ROLE_ARN = "arn:aws:iam::123456789012:role/timebound-iam-broker";

Deno.test("the broker role's description says what the role is for", () => {
  assert.equal(ROLE_DESCRIPTION, "timebound-iam broker: short-lived, scoped credentials");
});

Deno.test("callerPrincipal() names a user, the root or a federated user as is, and a session by its role", async (t) => {
  const cases: Array<[string, string]> = [
    [USER, USER],
    ["arn:aws:iam::123456789012:user/team/dev", "arn:aws:iam::123456789012:user/team/dev"],
    ["arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root"],
    [
      "arn:aws:sts::123456789012:federated-user/bob",
      "arn:aws:sts::123456789012:federated-user/bob",
    ],
    [
      "arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com",
      "arn:aws:iam::123456789012:role/Admin",
    ],
    [
      "arn:aws-cn:sts::123456789012:assumed-role/AWSReservedSSO_Dev_0123/alice",
      "arn:aws-cn:iam::123456789012:role/AWSReservedSSO_Dev_0123",
    ],
  ];
  for (const [caller, principal] of cases) {
    await t.step(caller, () => assert.equal(callerPrincipal(caller), principal));
  }
});

Deno.test("buildTrustPolicy() trusts exactly the caller, or the account root with account", () => {
  const caller = buildTrustPolicy(USER, { mode: "caller" });
  assert.deepEqual(caller.document, {
    Version: "2012-10-17",
    Statement: [{
      Effect: "Allow",
      Principal: { AWS: USER },
      Action: ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
    }],
  });
  assert.deepEqual(caller.notes, []);
  const session = buildTrustPolicy("arn:aws:sts::123456789012:assumed-role/Admin/alice", {
    mode: "caller",
  });
  assert.equal(session.principal, "arn:aws:iam::123456789012:role/Admin");
  assert.match(session.notes.join(), /role\/PATH\/Admin/);
  const account = buildTrustPolicy(USER, { mode: "account" });
  assert.equal(account.principal, "arn:aws:iam::123456789012:root");
  assert.match(account.notes.join(), /Any principal of account 123456789012/);
});

Deno.test("buildPermissionPolicy() allows <prefix>:* per service, deduplicated and sorted, nothing else", () => {
  assert.deepEqual(buildPermissionPolicy(["s3", "logs", "dynamodb", "s3"]), {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: ["dynamodb:*", "logs:*", "s3:*"], Resource: "*" }],
  });
});

Deno.test("planRoleChanges() changes only what differs", async (t) => {
  const plan = {
    roleName: "timebound-iam-broker",
    roleArn: "arn:aws:iam::123456789012:role/timebound-iam-broker",
    trust: buildTrustPolicy(USER, { mode: "caller" }),
    permissions: buildPermissionPolicy(["s3"]),
    scopes: [{ service: "s3", level: "full" as const }],
    description: ROLE_DESCRIPTION,
    maxSessionSeconds: 14400,
  };
  const same = {
    exists: true,
    trust: JSON.parse(JSON.stringify(plan.trust.document)),
    maxSessionSeconds: 14400,
    permissions: {
      Statement: [{ Resource: "*", Action: ["s3:*"], Effect: "Allow" }],
      Version: "2012-10-17",
    },
  };
  await t.step("a missing role is created with its policy", () => {
    assert.deepEqual(planRoleChanges({ exists: false }, plan), [
      { kind: "create" },
      { kind: "permissions", replace: false },
    ]);
  });
  await t.step("a matching role (keys in another order) needs nothing", () => {
    assert.deepEqual(planRoleChanges(same, plan), []);
  });
  await t.step("each difference is one change", () => {
    assert.deepEqual(
      planRoleChanges({
        ...same,
        trust: buildTrustPolicy(USER, { mode: "account" }).document,
        maxSessionSeconds: 3600,
        permissions: buildPermissionPolicy(["ec2"]),
      }, plan),
      [
        { kind: "trust" },
        { kind: "max-session", from: 3600, to: 14400 },
        { kind: "permissions", replace: true },
      ],
    );
    assert.deepEqual(planRoleChanges({ ...same, permissions: undefined }, plan), [
      { kind: "permissions", replace: false },
    ]);
  });
});

Deno.test("renderAwsCommands() creates or updates the role with documents that parse", () => {
  const plan = {
    roleName: "broker",
    roleArn: "arn:aws:iam::123456789012:role/broker",
    trust: buildTrustPolicy(USER, { mode: "caller" }),
    permissions: buildPermissionPolicy(["s3"]),
    scopes: [{ service: "s3", level: "full" as const }],
    description: ROLE_DESCRIPTION,
    maxSessionSeconds: 7200,
  };
  const text = renderAwsCommands(plan, { profile: "admin" });
  const commands = text.replace(/ \\\n\s+/g, " ").split("\n").filter((l) => l.startsWith("aws "));
  assert.deepEqual(commands.map((c) => c.split(" ").slice(0, 3).join(" ")), [
    "aws iam create-role",
    "aws iam update-assume-role-policy",
    "aws iam update-role",
    "aws iam put-role-policy",
  ]);
  for (const command of commands) {
    assert.match(command, / --profile admin --role-name broker /);
  }
  const documents = commands.map((command) => /'(\{.*\})'/.exec(command)?.[1]);
  const parsed = (i: number) => JSON.parse(documents[i] ?? "missing document");
  assert.deepEqual(parsed(0), plan.trust.document);
  assert.deepEqual(parsed(1), plan.trust.document);
  assert.equal(documents[2], undefined);
  assert.deepEqual(parsed(3), plan.permissions);
  assert.match(commands[0], /--max-session-duration 7200 /);
  assert.match(commands[2], /--max-session-duration 7200$/);
});

Deno.test("renderClientSnippet() fits each client's file", async (t) => {
  const server = { command: "/usr/local/bin/timebound-iam", args: ["serve"] };
  const expected = {
    claude: { mcpServers: { "timebound-iam": server } },
    kiro: { mcpServers: { "timebound-iam": { ...server, disabled: false, autoApprove: [] } } },
    cursor: { mcpServers: { "timebound-iam": server } },
    vscode: { servers: { "timebound-iam": { type: "stdio", ...server } } },
  };
  for (const [client, json] of Object.entries(expected)) {
    await t.step(client, () => {
      const snippet = renderClientSnippet(client as keyof typeof expected, {
        command: "/usr/local/bin/timebound-iam",
      });
      assert.deepEqual(JSON.parse(snippet.text), json);
    });
  }
  const withProfile = renderClientSnippet("claude", { command: "timebound-iam", profile: "dev" });
  // The profile is a flag of serve, which pins it: not AWS_PROFILE, which an agent could override.
  assert.deepEqual(JSON.parse(withProfile.text).mcpServers["timebound-iam"], {
    command: "timebound-iam",
    args: ["serve", "--profile", "dev"],
  });
  assert.equal(
    withProfile.command,
    "claude mcp add timebound-iam -- timebound-iam serve --profile dev",
  );
});

// The texts `setup aws` prints, whole: a reader follows them to the letter.
Deno.test("renderAwsCommands() prints the commands a human can run as they are", () => {
  const plan = {
    roleName: "broker",
    roleArn: "arn:aws:iam::123456789012:role/broker",
    trust: buildTrustPolicy(USER, { mode: "caller" }),
    permissions: buildPermissionPolicy(["s3"]),
    scopes: [{ service: "s3", level: "full" as const }],
    description: ROLE_DESCRIPTION,
    maxSessionSeconds: 7200,
  };
  const trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":' +
    `{"AWS":"${USER}"},"Action":["sts:AssumeRole","sts:SetSourceIdentity","sts:TagSession"]}]}`;
  const permissions =
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"*"}]}';
  assert.equal(
    renderAwsCommands(plan),
    [
      "# a new role:",
      "aws iam create-role --role-name broker --max-session-duration 7200 \\",
      "  --description 'timebound-iam broker: short-lived, scoped credentials' \\",
      `  --assume-role-policy-document '${trust}'`,
      "# or, if the role exists already:",
      "aws iam update-assume-role-policy --role-name broker \\",
      `  --policy-document '${trust}'`,
      "aws iam update-role --role-name broker --max-session-duration 7200",
      "# then, in both cases, the permission policy (created or replaced):",
      "aws iam put-role-policy --role-name broker --policy-name timebound-iam-services \\",
      `  --policy-document '${permissions}'`,
      "",
    ].join("\n"),
  );
});

Deno.test("renderClientSnippet() names each client, its file, and Claude's command", () => {
  const described = (["claude", "kiro", "cursor", "vscode"] as const).map((client) => {
    const { title, file, command } = renderClientSnippet(client, { command: "tbi" });
    return { title, file, command };
  });
  assert.deepEqual(described, [
    {
      title: "Claude Code",
      file: ".mcp.json in the project (or claude_desktop_config.json for Claude Desktop)",
      command: "claude mcp add timebound-iam -- tbi serve",
    },
    {
      title: "Kiro",
      file: ".kiro/settings/mcp.json in the workspace (or ~/.kiro/settings/mcp.json)",
      command: undefined,
    },
    {
      title: "Cursor",
      file: ".cursor/mcp.json in the project (or ~/.cursor/mcp.json)",
      command: undefined,
    },
    { title: "VS Code", file: ".vscode/mcp.json in the workspace", command: undefined },
  ]);
});

Deno.test("renderAgentRules() tells the agent where its credentials come from, and to stop at a denial", () => {
  assert.equal(
    renderAgentRules(["s3", "ec2"]),
    [
      "## When accessing AWS resources",
      "",
      "- ALWAYS get AWS credentials from the timebound-iam MCP server: call `grant_access` with",
      "  the services you need, the `read_only` level unless you must write, and the shortest `ttl`",
      "  that does the job.",
      "- Run AWS commands as `env $(cat CREDENTIAL_FILE) <command>` with the `credential_file`",
      "  that `grant_access` returned.",
      "- NEVER use the credentials in ~/.aws, AWS_PROFILE or any other AWS keys, EVEN when",
      "  timebound-iam's credentials get Access Denied: report the error and ask the user.",
      "- The broker allows these services only: s3, ec2.",
      "",
    ].join("\n"),
  );
});

Deno.test("buildTrustPolicy() with MFA, and the notes it gives", () => {
  const actions = ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"];
  assert.deepEqual(buildTrustPolicy(USER, { mode: "caller", mfaMaxAgeSeconds: 3600 }), {
    principal: USER,
    notes: [
      "Grants need MFA: give your device once (--mfa-serial, or mfaSerial in the config file) " +
      "and run: timebound-iam mfa login",
    ],
    document: {
      Version: "2012-10-17",
      Statement: [{
        Effect: "Allow",
        Principal: { AWS: USER },
        Action: actions,
        Condition: {
          Bool: { "aws:MultiFactorAuthPresent": "true" },
          NumericLessThan: { "aws:MultiFactorAuthAge": "3600" },
        },
      }],
    },
  });
  assert.deepEqual(
    buildTrustPolicy(USER, { mode: "caller", requireMfa: true }).document.Statement[0].Condition,
    { Bool: { "aws:MultiFactorAuthPresent": "true" } },
  );
  assert.deepEqual(buildTrustPolicy("arn:aws:iam::123456789012:root", { mode: "caller" }).notes, [
    "You are signed in as the account's root user: prefer an IAM user or role, and run setup " +
    "again with it",
  ]);
  assert.deepEqual(buildTrustPolicy(USER, { mode: "account" }), {
    principal: "arn:aws:iam::123456789012:root",
    notes: [
      "Any principal of account 123456789012 whose own IAM policy allows sts:AssumeRole on this " +
      "role can assume it; drop --trust account to trust only you",
    ],
    document: {
      Version: "2012-10-17",
      Statement: [{
        Effect: "Allow",
        Principal: { AWS: "arn:aws:iam::123456789012:root" },
        Action: actions,
      }],
    },
  });
  assert.deepEqual(buildTrustPolicy(USER, { mode: "caller" }).notes, []);
});

Deno.test("the trust modes and MCP clients offered by setup aws", () => {
  assert.deepEqual([...TRUST_MODES], ["caller", "account"]);
  assert.deepEqual([...MCP_CLIENTS], ["claude", "kiro", "cursor", "vscode"]);
});

Deno.test("roleArnFor() names the role in the caller's partition and account", () => {
  assert.equal(
    roleArnFor("arn:aws-cn:sts::123456789012:assumed-role/Admin/me", "broker"),
    "arn:aws-cn:iam::123456789012:role/broker",
  );
  assert.equal(roleArnFor(USER, "timebound-iam-broker"), ROLE_ARN);
  assert.equal(roleArnFor("not-an-arn", "broker"), "arn:aws:iam:::role/broker");
});

Deno.test("samePolicy() ignores key order and nothing else", () => {
  assert.ok(
    samePolicy({ a: 1, b: { c: [1, "x"], d: null } }, { b: { d: null, c: [1, "x"] }, a: 1 }),
  );
  assert.ok(!samePolicy({ a: [1, 2] }, { a: [2, 1] }), "list order matters");
  assert.ok(!samePolicy({ a: "1" }, { a: 1 }), "a string is not a number");
  assert.ok(!samePolicy({ a: null }, { a: "null" }));
  assert.ok(!samePolicy({ a: 1 }, { a: 1, b: 1 }));
  assert.ok(!samePolicy({ "a,b": 1 }, { a: 1, b: 1 }));
});

Deno.test("callerPrincipal() takes only a whole assumed-role ARN for a session", () => {
  const session = "arn:aws:sts::123456789012:assumed-role/Admin/me";
  assert.equal(callerPrincipal(session), "arn:aws:iam::123456789012:role/Admin");
  assert.equal(callerPrincipal(`x${session}`), `x${session}`);
  assert.equal(
    callerPrincipal("arn:aws:sts::123456789012:assumed-role/Admin/"),
    "arn:aws:sts::123456789012:assumed-role/Admin/",
  );
});
