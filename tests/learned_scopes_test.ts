// learnScopes(): the line it suggests, and that the line's own session policy allows every call
// it was learned from, by an IAM simulator (@cloud-copilot/iam-simulate, AGPL: tests only).
import assert from "node:assert/strict";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { loadCatalog } from "../lib/request/catalog.ts";
import { prepareGrant } from "../lib/request/grant_request.ts";
import { type LearnedCall, learnScopes } from "../lib/request/learned_scopes.ts";

const catalog = await loadCatalog();
const ACCOUNT = "123456789012";
const REGION = "eu-west-1";

/** Each call as IAM sees it: the actions it needs and the ARN it names (written by hand). */
const IAM: Record<string, (resource?: string) => Array<[string, string]>> = {
  "s3:GetObject": (r) => [["s3:GetObject", `arn:aws:s3:::${r}`]],
  "s3:HeadObject": (r) => [["s3:GetObject", `arn:aws:s3:::${r}`]],
  "s3:PutObject": (r) => [["s3:PutObject", `arn:aws:s3:::${r}`]],
  "s3:ListObjectsV2": (r) => [["s3:ListBucket", `arn:aws:s3:::${r}`]],
  "s3:ListBuckets": () => [["s3:ListAllMyBuckets", "*"]],
  "s3:CompleteMultipartUpload": (r) => [["s3:PutObject", `arn:aws:s3:::${r}`]],
  "dynamodb:GetItem": (
    r,
  ) => [["dynamodb:GetItem", `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${r}`]],
  "dynamodb:ListTables": () => [["dynamodb:ListTables", "*"]],
  "dynamodb:DescribeTable": (r) => [[
    "dynamodb:DescribeTable",
    `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${r}`,
  ]],
  "lambda:InvokeFunction": (r) => [[
    "lambda:InvokeFunction",
    `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${r}`,
  ]],
  "lambda:GET /functions": () => [["lambda:ListFunctions", "*"]],
};

async function allowedAll(line: string, calls: readonly LearnedCall[]): Promise<void> {
  const { policy } = await prepareGrant({ scopes: [line], ttl: "15m" }, {
    catalog,
    target: { account: ACCOUNT, region: REGION, partition: "aws" },
  });
  for (const call of calls) {
    for (const [action, resource] of IAM[`${call.service}:${call.action}`](call.resource)) {
      const result = await runSimulation({
        request: {
          principal: `arn:aws:iam::${ACCOUNT}:role/timebound-iam-broker`,
          action,
          resource: { resource, accountId: ACCOUNT },
          contextVariables: { "aws:CurrentTime": new Date().toISOString() },
        },
        identityPolicies: [{
          name: "broker",
          policy: {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
          },
        }],
        permissionBoundaryPolicies: [{ name: "session", policy: policy.document }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      }, {});
      assert.equal(result.resultType, "single");
      assert.equal(
        result.resultType === "single" && result.overallResult,
        "Allowed",
        `${line} does not allow ${action} on ${resource}`,
      );
    }
  }
}

const CASES: Array<[string, LearnedCall[], string]> = [
  [
    "one object and one item: ro on each",
    [
      { service: "s3", action: "GetObject", resource: "b1/data/q3.csv" },
      { service: "s3", action: "HeadObject", resource: "b1/data/q3.csv" },
      { service: "dynamodb", action: "GetItem", resource: "Orders" },
    ],
    "s3:ro@b1/data/q3.csv,dynamodb:ro@Orders",
  ],
  [
    "a listed bucket covers its objects",
    [
      { service: "s3", action: "ListObjectsV2", resource: "b1" },
      { service: "s3", action: "GetObject", resource: "b1/a.txt" },
    ],
    "s3:ro@b1",
  ],
  [
    "only List actions: list",
    [{ service: "s3", action: "ListObjectsV2", resource: "b1" }],
    "s3:list@b1",
  ],
  [
    "a write on one object, a read on another: each its level",
    [
      { service: "s3", action: "PutObject", resource: "b1/out/r.csv" },
      { service: "s3", action: "GetObject", resource: "b1/in/r.csv" },
    ],
    "s3:ro@b1/in/r.csv,s3:full@b1/out/r.csv",
  ],
  [
    "a call that names no resource makes the service resource-wide",
    [
      { service: "s3", action: "ListBuckets" },
      { service: "s3", action: "GetObject", resource: "b1/a.txt" },
      { service: "dynamodb", action: "ListTables" },
      { service: "dynamodb", action: "DescribeTable", resource: "Orders" },
    ],
    "s3:ro,dynamodb:ro",
  ],
  [
    "an operation it cannot name: full on that service",
    [
      { service: "lambda", action: "GET /functions" },
      { service: "lambda", action: "InvokeFunction", resource: "resize" },
    ],
    "lambda:full",
  ],
  [
    "a key no scope can carry: the bucket",
    [{ service: "s3", action: "CompleteMultipartUpload", resource: "b1/with space,comma" }],
    "s3:full@b1",
  ],
];

Deno.test("learnScopes() suggests the narrowest line, and it allows every call", async (t) => {
  for (const [name, calls, expected] of CASES) {
    await t.step(name, async () => {
      const learned = await learnScopes(calls, catalog);
      assert.equal(learned.text, expected);
      await allowedAll(learned.text, calls);
    });
  }
});

Deno.test("learnScopes() needs nothing for GetCallerIdentity, and says why", async () => {
  const learned = await learnScopes([{ service: "sts", action: "GetCallerIdentity" }], catalog);
  assert.equal(learned.text, "");
  assert.deepEqual(learned.notes, ["sts:GetCallerIdentity needs no permission"]);
});

Deno.test("learnScopes() names the credential-minting actions a learned level also allows", async (t) => {
  const minting = (scope: string, actions: string) =>
    `${scope} also allows credential-minting actions (${actions}): the masked proxy refuses ` +
    "them; without --masked they would hand out real credentials";
  await t.step("ecr:ro keeps GetAuthorizationToken, even on named repositories", async () => {
    const learned = await learnScopes(
      [{ service: "ecr", action: "BatchGetImage", resource: "app" }],
      catalog,
    );
    assert.equal(learned.text, "ecr:ro@app");
    assert.deepEqual(learned.notes, [minting("ecr:ro@app", "ecr:GetAuthorizationToken")]);
  });
  await t.step("iam:full: the first three, then an ellipsis", async () => {
    const learned = await learnScopes([{ service: "iam", action: "CreateUser" }], catalog);
    assert.equal(learned.text, "iam:full");
    assert.deepEqual(learned.notes, [
      minting(
        "iam:full",
        "iam:CreateAccessKey, iam:CreateLoginProfile, iam:CreateServiceSpecificCredential…",
      ),
    ]);
  });
  await t.step("a level that allows none says nothing", async () => {
    const learned = await learnScopes([{ service: "ecr", action: "ListImages" }], catalog);
    assert.equal(learned.text, "ecr:list");
    assert.deepEqual(learned.notes, []);
  });
});
