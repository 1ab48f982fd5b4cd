// The broker role as data: trust and permission policies, the change plan, the snippets.
import assert from "node:assert/strict";
import {
  buildPermissionPolicy,
  buildTrustPolicy,
  callerPrincipal,
  renderAwsCommands,
  renderClientSnippet,
} from "../lib/setup/broker_role.ts";
import { planRoleChanges } from "../lib/setup/iam_role.ts";

const USER = "arn:aws:iam::123456789012:user/dev";

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
  assert.deepEqual(JSON.parse(withProfile.text).mcpServers["timebound-iam"].env, {
    AWS_PROFILE: "dev",
  });
  assert.equal(
    withProfile.command,
    "claude mcp add timebound-iam -e AWS_PROFILE=dev -- timebound-iam serve",
  );
});
