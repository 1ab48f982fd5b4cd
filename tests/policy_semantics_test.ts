// Checks what the session policy means, with an IAM simulator. @cloud-copilot/iam-simulate is
// AGPL: it is used here, in tests, and never imported by lib/ or main.ts.
import assert from "node:assert/strict";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { type AllowList, parseAllowList } from "../lib/request/allow_list.ts";
import { prepareGrant } from "../lib/request/grant_request.ts";
import { loadCatalog } from "../lib/request/catalog.ts";

const catalog = await loadCatalog();
const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
const target = { account: ACCOUNT, region: REGION, partition: "aws" };

const ALLOW_ALL = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
};

async function decide(
  scopes: string,
  action: string,
  resource: string,
  contextVariables: Record<string, string> = {},
  allow?: AllowList,
): Promise<string> {
  const { policy } = await prepareGrant({ scopes: [scopes], ttl: "15m" }, {
    catalog,
    target,
    allow,
  });
  const result = await runSimulation({
    request: {
      principal: "arn:aws:iam::123456789012:role/timebound-iam-broker",
      action,
      resource: { resource, accountId: "123456789012" },
      contextVariables,
    },
    identityPolicies: [{ name: "broker", policy: ALLOW_ALL }],
    permissionBoundaryPolicies: [{ name: "session", policy: policy.document }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }, {});
  if (result.resultType === "error") throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

Deno.test("s3:ro allows reading S3 and nothing else", async (t) => {
  const cases: Array<[string, string, string]> = [
    ["s3:GetObject", "arn:aws:s3:::bucket/key", "Allowed"],
    ["s3:ListBucket", "arn:aws:s3:::bucket", "Allowed"],
    ["s3:PutObject", "arn:aws:s3:::bucket/key", "ImplicitlyDenied"],
    ["ec2:DescribeInstances", "*", "ImplicitlyDenied"],
  ];
  for (const [action, resource, expected] of cases) {
    await t.step(`${action} is ${expected}`, async () => {
      assert.equal(await decide("s3:ro", action, resource), expected);
    });
  }
});

Deno.test("s3:full allows writing S3", async () => {
  assert.equal(await decide("s3:full", "s3:PutObject", "arn:aws:s3:::bucket/key"), "Allowed");
  assert.equal(await decide("s3:full", "ec2:DescribeInstances", "*"), "ImplicitlyDenied");
});

async function decideAt(
  policy: object,
  action: string,
  resource: string,
  time: Date,
): Promise<string> {
  const result = await runSimulation({
    request: {
      principal: "arn:aws:iam::123456789012:role/timebound-iam-broker",
      action,
      resource: { resource, accountId: "123456789012" },
      contextVariables: { "aws:CurrentTime": time.toISOString() },
    },
    identityPolicies: [{ name: "broker", policy: ALLOW_ALL }],
    permissionBoundaryPolicies: [{ name: "session", policy }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }, {});
  if (result.resultType === "error") throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

Deno.test("a 5-minute grant allows until its deadline and denies everything after", async () => {
  const start = new Date("2030-01-01T12:00:00Z");
  const { policy } = await prepareGrant({ scopes: ["s3:ro"], ttl: "5m" }, { now: () => start });
  const deadline = new Date("2030-01-01T12:05:00Z");
  assert.deepEqual(policy.deadline, deadline);
  const at = (offsetSeconds: number) => new Date(deadline.getTime() + offsetSeconds * 1000);
  const object = "arn:aws:s3:::bucket/key";
  assert.equal(await decideAt(policy.document, "s3:GetObject", object, at(-1)), "Allowed");
  assert.equal(await decideAt(policy.document, "s3:GetObject", object, at(1)), "ExplicitlyDenied");
  assert.equal(await decideAt(policy.document, "s3:PutObject", object, at(-1)), "ImplicitlyDenied");
});

Deno.test("ten common ro scopes and a deadline stay within AWS's 2,048 characters", async () => {
  const scopes = "s3:ro,dynamodb:ro,lambda:ro,ec2:ro,iam:ro,sqs:ro,sns:ro,logs:ro,cloudwatch:ro," +
    "cloudformation:ro";
  const { policy } = await prepareGrant({ scopes: [scopes], ttl: "5m" });
  assert.ok(policy.packed.includes('"Effect":"Deny"'), policy.packed);
  assert.ok(policy.packed.length <= 2048, `${policy.packed.length} characters`);
});

// For each service with bare names: [scope, a typical action, the named resource's ARN, the ARN
// of another resource of the same type, an action of another service].
const arn = (service: string, rest: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${rest}`;
const BARE_NAMES: Array<[string, string, string, string]> = [
  ["s3:ro@my-bucket", "s3:GetObject", "arn:aws:s3:::my-bucket/key", "arn:aws:s3:::other/key"],
  [
    "dynamodb:ro@Orders",
    "dynamodb:Query",
    arn("dynamodb", "table/Orders"),
    arn("dynamodb", "table/Users"),
  ],
  ["sqs:full@jobs", "sqs:SendMessage", arn("sqs", "jobs"), arn("sqs", "other-jobs")],
  ["sns:full@alerts", "sns:Publish", arn("sns", "alerts"), arn("sns", "alerts2")],
  [
    "lambda:full@my-fn",
    "lambda:InvokeFunction",
    arn("lambda", "function:my-fn"),
    arn("lambda", "function:my-fn2"),
  ],
  [
    "logs:ro@/aws/lambda/my-fn",
    "logs:GetLogEvents",
    arn("logs", "log-group:/aws/lambda/my-fn:log-stream:2030/01/01/x"),
    arn("logs", "log-group:/aws/lambda/other:log-stream:2030/01/01/x"),
  ],
  [
    "secretsmanager:ro@prod/db",
    "secretsmanager:GetSecretValue",
    arn("secretsmanager", "secret:prod/db-AbCdEf"),
    arn("secretsmanager", "secret:prod/db-admin-AbCdEf"),
  ],
  [
    "ssm:ro@/app/db-password",
    "ssm:GetParameter",
    arn("ssm", "parameter/app/db-password"),
    arn("ssm", "parameter/app/api-key"),
  ],
  ["ecr:full@web", "ecr:PutImage", arn("ecr", "repository/web"), arn("ecr", "repository/api")],
  [
    "states:full@flow",
    "states:StartExecution",
    arn("states", "stateMachine:flow"),
    arn("states", "stateMachine:flow2"),
  ],
];

Deno.test("a bare name allows its own resource only, and no other service", async (t) => {
  for (const [scope, action, named, other] of BARE_NAMES) {
    await t.step(scope, async () => {
      assert.equal(await decide(scope, action, named), "Allowed", `${action} on ${named}`);
      assert.equal(await decide(scope, action, other), "ImplicitlyDenied", `${action} on ${other}`);
      assert.equal(await decide(scope, "ec2:DescribeInstances", "*"), "ImplicitlyDenied");
    });
  }
});

Deno.test("s3:full@bucket allows bucket and object actions on that bucket only", async (t) => {
  const cases: Array<[string, string, string]> = [
    ["s3:PutObject", "arn:aws:s3:::my-bucket/a/b.txt", "Allowed"],
    ["s3:DeleteObject", "arn:aws:s3:::my-bucket/key", "Allowed"],
    ["s3:ListBucket", "arn:aws:s3:::my-bucket", "Allowed"],
    ["s3:PutBucketPolicy", "arn:aws:s3:::my-bucket", "Allowed"],
    ["s3:PutObject", "arn:aws:s3:::other/key", "ImplicitlyDenied"],
    ["s3:DeleteBucket", "arn:aws:s3:::other", "ImplicitlyDenied"],
    // full drops the actions that name no resource: it is about this bucket only.
    ["s3:ListAllMyBuckets", "*", "ImplicitlyDenied"],
  ];
  for (const [action, resource, expected] of cases) {
    await t.step(`${action} on ${resource} is ${expected}`, async () => {
      assert.equal(await decide("s3:full@my-bucket", action, resource), expected);
    });
  }
});

Deno.test("s3:full@bucket/prefix/* allows objects under the prefix and denies the others", async () => {
  const scope = "s3:full@my-bucket/uploads/*";
  assert.equal(
    await decide(scope, "s3:PutObject", "arn:aws:s3:::my-bucket/uploads/a.txt"),
    "Allowed",
  );
  assert.equal(
    await decide(scope, "s3:GetObject", "arn:aws:s3:::my-bucket/uploads/x/y"),
    "Allowed",
  );
  assert.equal(
    await decide(scope, "s3:PutObject", "arn:aws:s3:::my-bucket/other/a.txt"),
    "ImplicitlyDenied",
  );
  assert.equal(
    await decide(scope, "s3:GetObject", "arn:aws:s3:::my-bucket/uploads"),
    "ImplicitlyDenied",
  );
  assert.equal(
    await decide(scope, "s3:DeleteBucket", "arn:aws:s3:::my-bucket"),
    "ImplicitlyDenied",
  );
  // Listing works within the path, and only there.
  const list = (prefix: string) =>
    decide(scope, "s3:ListBucket", "arn:aws:s3:::my-bucket", { "s3:prefix": prefix });
  assert.equal(await list("uploads/"), "Allowed");
  assert.equal(await list("uploads/2030/"), "Allowed");
  assert.equal(await list("other/"), "ImplicitlyDenied");
  assert.equal(await list(""), "ImplicitlyDenied");
});

Deno.test("ro and list on a resource keep the account-wide listing and stay read-only", async () => {
  assert.equal(await decide("s3:ro@my-bucket", "s3:ListAllMyBuckets", "*"), "Allowed");
  assert.equal(
    await decide("s3:ro@my-bucket", "s3:PutObject", "arn:aws:s3:::my-bucket/k"),
    "ImplicitlyDenied",
  );
  assert.equal(
    await decide("s3:list@my-bucket", "s3:ListBucket", "arn:aws:s3:::my-bucket"),
    "Allowed",
  );
  assert.equal(await decide("s3:list@my-bucket", "s3:ListAllMyBuckets", "*"), "Allowed");
  assert.equal(
    await decide("s3:list@my-bucket", "s3:GetObject", "arn:aws:s3:::my-bucket/k"),
    "ImplicitlyDenied",
  );
  assert.equal(
    await decide("s3:list@my-bucket", "s3:ListBucket", "arn:aws:s3:::other"),
    "ImplicitlyDenied",
  );
});

Deno.test("a full ARN with wildcards allows what it matches", async () => {
  const scope = `dynamodb:full@arn:aws:dynamodb:*:${ACCOUNT}:table/Orders-*`;
  assert.equal(
    await decide(scope, "dynamodb:PutItem", arn("dynamodb", "table/Orders-2030")),
    "Allowed",
  );
  assert.equal(
    await decide(scope, "dynamodb:PutItem", arn("dynamodb", "table/Users")),
    "ImplicitlyDenied",
  );
});

Deno.test("under --allow, ro and list on resources keep only the account-wide actions the list gives", async (t) => {
  const role = `arn:aws:iam::${ACCOUNT}:role/app-`;
  const fn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
  const cases: Array<[string, string, string, string, string]> = [
    ["lambda:full@my-fn", "lambda:ro@my-fn", "lambda:GetFunction", fn("my-fn"), "Allowed"],
    ["lambda:full@my-fn", "lambda:ro@my-fn", "lambda:ListFunctions", "*", "ImplicitlyDenied"],
    ["lambda:full@my-fn", "lambda:ro@my-fn", "lambda:GetAccountSettings", "*", "ImplicitlyDenied"],
    ["lambda:full@my-fn", "lambda:ro@my-fn", "lambda:GetFunction", fn("other"), "ImplicitlyDenied"],
    [`iam:full@${role}*`, `iam:ro@${role}x`, "iam:GetRole", `${role}x`, "Allowed"],
    [
      `iam:full@${role}*`,
      `iam:ro@${role}x`,
      "iam:GetAccountAuthorizationDetails",
      "*",
      "ImplicitlyDenied",
    ],
    [`iam:full@${role}*`, `iam:ro@${role}x`, "iam:GetCredentialReport", "*", "ImplicitlyDenied"],
    [`iam:full@${role}*`, `iam:ro@${role}x`, "iam:ListUsers", "*", "ImplicitlyDenied"],
    [
      "s3:full@my-bucket",
      "s3:list@my-bucket",
      "s3:ListBucket",
      "arn:aws:s3:::my-bucket",
      "Allowed",
    ],
    ["s3:full@my-bucket", "s3:list@my-bucket", "s3:ListAllMyBuckets", "*", "ImplicitlyDenied"],
    [
      "secretsmanager:full@prod/db",
      "secretsmanager:ro@prod/db",
      "secretsmanager:ListSecrets",
      "*",
      "ImplicitlyDenied",
    ],
    // What the list gives on every resource stays: *:list gives the List actions, not the Read ones.
    ["s3:full@my-bucket,*:list", "s3:ro@my-bucket", "s3:ListAllMyBuckets", "*", "Allowed"],
    [
      "s3:full@my-bucket,*:list",
      "s3:ro@my-bucket",
      "s3:GetAccountPublicAccessBlock",
      "*",
      "ImplicitlyDenied",
    ],
    ["lambda:ro,lambda:full@my-fn", "lambda:ro@my-fn", "lambda:ListLayers", "*", "Allowed"],
    // A scope on resources the list names at ro keeps what that scope's own policy has.
    ["lambda:ro@my-fn", "lambda:ro@my-fn", "lambda:ListLayers", "*", "Allowed"],
  ];
  for (const [allowText, scopes, action, resource, expected] of cases) {
    await t.step(
      `${scopes} under ${allowText}: ${action} on ${resource} is ${expected}`,
      async () => {
        const allow = await parseAllowList(allowText, catalog);
        assert.equal(await decide(scopes, action, resource, {}, allow), expected);
      },
    );
  }
  await t.step(
    "without an allow list (policy, exec) ro on a function keeps its listing",
    async () => {
      assert.equal(await decide("lambda:ro@my-fn", "lambda:ListLayers", "*"), "Allowed");
    },
  );
});

Deno.test("s3express:ro reads a directory bucket's objects through a ReadOnly session, never a ReadWrite one", async (t) => {
  const bucket = `arn:aws:s3express:us-west-2:${ACCOUNT}:bucket/data--usw2-az1--x-s3`;
  const other = `arn:aws:s3express:us-west-2:${ACCOUNT}:bucket/logs--usw2-az1--x-s3`;
  // AWS's SDKs call CreateSession for every object read (GetObject, HeadObject, ListObjectsV2);
  // without a mode S3 asks for ReadWrite first, then ReadOnly (AWS's example bucket policies).
  const session = (scopes: string, mode: string, resource = bucket) =>
    decide(scopes, "s3express:CreateSession", resource, { "s3express:SessionMode": mode });
  const cases: Array<[string, string, string, string]> = [
    ["s3express:ro", "ReadOnly", bucket, "Allowed"],
    ["s3express:ro", "ReadWrite", bucket, "ImplicitlyDenied"],
    [`s3express:ro@${bucket}`, "ReadOnly", bucket, "Allowed"],
    [`s3express:ro@${bucket}`, "ReadWrite", bucket, "ImplicitlyDenied"],
    [`s3express:ro@${bucket}`, "ReadOnly", other, "ImplicitlyDenied"],
    // A ReadOnly session lists keys and reads the objects alike: list names buckets only.
    ["s3express:list", "ReadOnly", bucket, "ImplicitlyDenied"],
    ["s3express:full", "ReadWrite", bucket, "Allowed"],
  ];
  for (const [scopes, mode, resource, expected] of cases) {
    await t.step(`${scopes}: a ${mode} session on ${resource} is ${expected}`, async () => {
      assert.equal(await session(scopes, mode, resource), expected);
    });
  }
  await t.step("s3express:ro writes no configuration", async () => {
    assert.equal(
      await decide("s3express:ro", "s3express:PutBucketPolicy", bucket),
      "ImplicitlyDenied",
    );
    assert.equal(await decide("s3express:ro", "s3express:GetBucketPolicy", bucket), "Allowed");
  });
});
