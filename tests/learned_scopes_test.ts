// learnScopes(): the line it suggests, and that the line's own session policy allows every call
// it was learned from, by an IAM simulator (@cloud-copilot/iam-simulate, AGPL: tests only).
import assert from "node:assert/strict";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { loadCatalog } from "../lib/request/catalog.ts";
import { prepareGrant } from "../lib/request/grant_request.ts";
import { nameCall } from "../lib/delivery/call_record.ts";
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
  "dynamodb:PutItem": (r) => [[
    "dynamodb:PutItem",
    `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${r}`,
  ]],
  "kinesis:PutRecord": (r) => [[
    "kinesis:PutRecord",
    `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${r}`,
  ]],
  // Signing names and spellings that are not the IAM action's.
  "monitoring:GetDashboard": () => [[
    "cloudwatch:GetDashboard",
    `arn:aws:cloudwatch::${ACCOUNT}:dashboard/d1`,
  ]],
  "email:SendEmail":
    () => [["ses:SendEmail", `arn:aws:ses:${REGION}:${ACCOUNT}:identity/a.example`]],
  "s3:getobject": (r) => [["s3:GetObject", `arn:aws:s3:::${r}`]],
  "glacier:ListParts": (r) => [[
    "glacier:ListParts",
    `arn:aws:glacier:${REGION}:${ACCOUNT}:vaults/${r}`,
  ]],
  "sqs:SendMessage": (r) => [["sqs:SendMessage", `arn:aws:sqs:${REGION}:${ACCOUNT}:${r}`]],
  // S3's REST operations whose IAM actions have other names, from AWS's S3 user guide.
  "s3:ListObjects": (r) => [["s3:ListBucket", `arn:aws:s3:::${r}`]],
  "s3:HeadBucket": (r) => [["s3:ListBucket", `arn:aws:s3:::${r}`]],
  "s3:ListObjectVersions": (r) => [["s3:ListBucketVersions", `arn:aws:s3:::${r}`]],
  "s3:ListMultipartUploads": (r) => [["s3:ListBucketMultipartUploads", `arn:aws:s3:::${r}`]],
  "s3:ListParts": (r) => [["s3:ListMultipartUploadParts", `arn:aws:s3:::${r}`]],
  "s3:CreateMultipartUpload": (r) => [["s3:PutObject", `arn:aws:s3:::${r}`]],
  "s3:UploadPart": (r) => [["s3:PutObject", `arn:aws:s3:::${r}`]],
  // The copies read their source too, which the call's resource (the target) does not name.
  "s3:UploadPartCopy": (r) => [["s3:PutObject", `arn:aws:s3:::${r}`]],
  "s3:CopyObject": (r) => [["s3:PutObject", `arn:aws:s3:::${r}`]],
  "s3:GetObject from bk2/src": () => [["s3:GetObject", "arn:aws:s3:::bk2/src"]],
  "s3:DeleteObjects": (r) => [["s3:DeleteObject", `arn:aws:s3:::${r}/any-key`]],
  "s3:GetBucketCors": (r) => [["s3:GetBucketCORS", `arn:aws:s3:::${r}`]],
  "s3:PutBucketCors": (r) => [["s3:PutBucketCORS", `arn:aws:s3:::${r}`]],
  "s3:DeleteBucketCors": (r) => [["s3:PutBucketCORS", `arn:aws:s3:::${r}`]],
  "s3:GetBucketLifecycleConfiguration": (r) => [[
    "s3:GetLifecycleConfiguration",
    `arn:aws:s3:::${r}`,
  ]],
  "s3:PutBucketLifecycleConfiguration": (r) => [[
    "s3:PutLifecycleConfiguration",
    `arn:aws:s3:::${r}`,
  ]],
  "s3:DeleteBucketLifecycle": (r) => [["s3:PutLifecycleConfiguration", `arn:aws:s3:::${r}`]],
  "s3:GetBucketEncryption": (r) => [["s3:GetEncryptionConfiguration", `arn:aws:s3:::${r}`]],
  "s3:PutBucketEncryption": (r) => [["s3:PutEncryptionConfiguration", `arn:aws:s3:::${r}`]],
  "s3:DeleteBucketEncryption": (r) => [["s3:PutEncryptionConfiguration", `arn:aws:s3:::${r}`]],
  "s3:DeleteBucketTagging": (r) => [["s3:PutBucketTagging", `arn:aws:s3:::${r}`]],
  "s3:GetBucketNotificationConfiguration": (r) => [[
    "s3:GetBucketNotification",
    `arn:aws:s3:::${r}`,
  ]],
  "s3:PutBucketNotificationConfiguration": (r) => [[
    "s3:PutBucketNotification",
    `arn:aws:s3:::${r}`,
  ]],
  "s3:DeleteBucketWebsite": (r) => [["s3:DeleteBucketWebsite", `arn:aws:s3:::${r}`]],
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
      { service: "s3", action: "GetObject", resource: "bk1/data/q3.csv" },
      { service: "s3", action: "HeadObject", resource: "bk1/data/q3.csv" },
      { service: "dynamodb", action: "GetItem", resource: "Orders" },
    ],
    "s3:ro@bk1/data/q3.csv,dynamodb:ro@Orders",
  ],
  [
    "a listed bucket covers its objects",
    [
      { service: "s3", action: "ListObjectsV2", resource: "bk1" },
      { service: "s3", action: "GetObject", resource: "bk1/a.txt" },
    ],
    "s3:ro@bk1",
  ],
  [
    "only List actions: list",
    [{ service: "s3", action: "ListObjectsV2", resource: "bk1" }],
    "s3:list@bk1",
  ],
  [
    "a write on one object, a read on another: each its level",
    [
      { service: "s3", action: "PutObject", resource: "bk1/out/r.csv" },
      { service: "s3", action: "GetObject", resource: "bk1/in/r.csv" },
    ],
    "s3:ro@bk1/in/r.csv,s3:full@bk1/out/r.csv",
  ],
  [
    "a call that names no resource makes the service resource-wide",
    [
      { service: "s3", action: "ListBuckets" },
      { service: "s3", action: "GetObject", resource: "bk1/a.txt" },
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
    [{ service: "s3", action: "CompleteMultipartUpload", resource: "bk1/with space,comma" }],
    "s3:full@bk1",
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

/** Each S3 operation AWS's table names otherwise, on its resource, and the line it needs. */
const S3_OPERATIONS: Array<[string, string | undefined, string]> = [
  ["HeadObject", "bk1/k", "s3:ro@bk1/k"],
  ["ListObjects", "bk1", "s3:list@bk1"],
  ["HeadBucket", "bk1", "s3:list@bk1"],
  ["ListObjectVersions", "bk1", "s3:list@bk1"],
  ["ListMultipartUploads", "bk1", "s3:list@bk1"],
  ["ListParts", "bk1/k", "s3:list@bk1/k"],
  ["CreateMultipartUpload", "bk1/k", "s3:full@bk1/k"],
  ["UploadPart", "bk1/k", "s3:full@bk1/k"],
  ["DeleteObjects", "bk1", "s3:full@bk1"],
  ["GetBucketCors", "bk1", "s3:ro@bk1"],
  ["PutBucketCors", "bk1", "s3:full@bk1"],
  ["DeleteBucketCors", "bk1", "s3:full@bk1"],
  ["GetBucketLifecycleConfiguration", "bk1", "s3:ro@bk1"],
  ["PutBucketLifecycleConfiguration", "bk1", "s3:full@bk1"],
  ["DeleteBucketLifecycle", "bk1", "s3:full@bk1"],
  ["GetBucketEncryption", "bk1", "s3:ro@bk1"],
  ["PutBucketEncryption", "bk1", "s3:full@bk1"],
  ["DeleteBucketEncryption", "bk1", "s3:full@bk1"],
  ["DeleteBucketTagging", "bk1", "s3:full@bk1"],
  ["GetBucketNotificationConfiguration", "bk1", "s3:ro@bk1"],
  ["PutBucketNotificationConfiguration", "bk1", "s3:full@bk1"],
  ["DeleteBucketWebsite", "bk1", "s3:full@bk1"],
];

Deno.test("learnScopes() knows each S3 operation by its IAM action: the lowest level, no note", async (t) => {
  for (const [action, resource, expected] of S3_OPERATIONS) {
    await t.step(action, async () => {
      const calls = [{ service: "s3", action, resource }];
      const learned = await learnScopes(calls, catalog);
      assert.deepEqual([learned.text, learned.notes], [expected, []]);
      await allowedAll(learned.text, calls);
    });
  }
});

const table = (name: string, action = "GetItem") => ({
  service: "dynamodb",
  action,
  resource: name,
});
const object = (resource: string) => ({ service: "s3", action: "GetObject", resource });

const BOUNDS: Array<[string, LearnedCall[], string]> = [
  [
    "ten tables are named, sorted",
    "jihgfedcba".split("").map((c) => table(`T${c}`)),
    "abcdefghij".split("").map((c) => `dynamodb:ro@T${c}`).join(","),
  ],
  [
    "eleven tables: resource-wide",
    "kjihgfedcba".split("").map((c) => table(`T${c}`)),
    "dynamodb:ro",
  ],
  [
    "three objects of a bucket are named",
    ["k3", "k1", "k2"].map((k) => object(`bk1/${k}`)),
    "s3:ro@bk1/k1,s3:ro@bk1/k2,s3:ro@bk1/k3",
  ],
  ["four: the bucket", ["k1", "k2", "k3", "k4"].map((k) => object(`bk1/${k}`)), "s3:ro@bk1"],
  [
    "an object key of 400 characters in all is named",
    [object(`bk1/${"k".repeat(396)}`)],
    `s3:ro@bk1/${"k".repeat(396)}`,
  ],
  ["401: the bucket", [object(`bk1/${"k".repeat(397)}`)], "s3:ro@bk1"],
  ["an empty path segment: the bucket", [object("bk1//k")], "s3:ro@bk1"],
  ["a bucket no scope can name: resource-wide", [object("b 1/k")], "s3:ro"],
  ["a bucket name too short to be one: resource-wide", [object("ab/k")], "s3:ro"],
  ["a bucket name no bucket begins with: resource-wide", [object("-ab/k")], "s3:ro"],
  ["a legacy bucket name is named", [object("Old_Logs/k")], "s3:ro@Old_Logs/k"],
  [
    "an access point's alias, which no policy can name: resource-wide",
    [object("my-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias/k")],
    "s3:ro",
  ],
  ["a directory bucket: resource-wide", [object("data--usw2-az1--x-s3/k")], "s3:ro"],
  [
    "a table of 255 characters is named",
    [table("t".repeat(255))],
    `dynamodb:ro@${"t".repeat(255)}`,
  ],
  ["256: resource-wide", [table("t".repeat(256))], "dynamodb:ro"],
  [
    "a list action that names no resource stays resource-wide",
    [table("Orders", "ListTables")],
    "dynamodb:list",
  ],
  ["a service whose scopes name no resource: service-wide", [{
    service: "kinesis",
    action: "PutRecord",
    resource: "stream1",
  }], "kinesis:full"],
  ["sqs: the queue", [{ service: "sqs", action: "SendMessage", resource: "q1" }], "sqs:full@q1"],
  [
    "levels in order, each with its resources",
    [table("B", "PutItem"), table("C", "DescribeTable"), table("A")],
    "dynamodb:ro@A,dynamodb:ro@C,dynamodb:full@B",
  ],
  ["an operation spelled in another case: the catalog's action", [{
    service: "s3",
    action: "getobject",
    resource: "bk1/k",
  }], "s3:ro@bk1/k"],
  [
    "CloudWatch signs as monitoring",
    [{ service: "monitoring", action: "GetDashboard" }],
    "cloudwatch:ro",
  ],
  ["SES signs as email", [{ service: "email", action: "SendEmail" }], "ses:full"],
  [
    "an operation S3 renames is its own action in another service",
    [{ service: "glacier", action: "ListParts", resource: "v1" }],
    "glacier:list",
  ],
];

Deno.test("learnScopes() names resources within bounds, else the bucket or the service, and the line allows every call", async (t) => {
  for (const [name, calls, expected] of BOUNDS) {
    await t.step(name, async () => {
      const learned = await learnScopes(calls, catalog);
      assert.deepEqual([learned.text, learned.notes], [expected, []]);
      await allowedAll(learned.text, calls);
    });
  }
});

Deno.test("learnScopes() never carries a name that would read as more of the line", async () => {
  // The child names the table: a comma, an @ or a space in it must not add a scope.
  for (const name of ["Orders,s3:full", "Orders@x", "a b", "Orders*", "Orders/x"]) {
    const learned = await learnScopes([table(name)], catalog);
    assert.equal(learned.text, "dynamodb:ro", name);
  }
  for (const key of ["bk1/k,s3:full", "bk1/k*", "bk1/k@x"]) {
    const learned = await learnScopes([object(key)], catalog);
    assert.equal(learned.text, "s3:ro@bk1", key);
  }
});

Deno.test("learnScopes(): a service whose operation it cannot tell is full, with one note each", async () => {
  const learned = await learnScopes([
    { service: "lambda", action: "GET /functions" },
    { service: "lambda", action: "GET /functions" },
    { service: "nope", action: "X" },
    { service: "nope", action: "Y" },
    { service: "sts", action: "GetCallerIdentity" },
    { service: "sts", action: "GetCallerIdentity" },
    { service: "execute-api", action: "Invoke" },
    { service: "aws-marketplace", action: "MeterUsage" },
  ], catalog);
  assert.equal(learned.text, "execute-api:full,aws-marketplace:full,lambda:full");
  assert.deepEqual(learned.notes, [
    'lambda: cannot tell which IAM action "GET /functions" is: full',
    '"nope" is not a service IAM knows: its calls are not covered',
    "sts:GetCallerIdentity needs no permission",
  ]);
});

Deno.test("learnScopes() names three credential-minting actions without an ellipsis", async () => {
  const learned = await learnScopes(
    [{ service: "cognito-identity", action: "DeleteIdentityPool" }],
    catalog,
  );
  assert.equal(learned.text, "cognito-identity:full");
  assert.deepEqual(learned.notes, [
    "cognito-identity:full also allows credential-minting actions (" +
    "cognito-identity:GetCredentialsForIdentity, cognito-identity:GetOpenIdToken, " +
    "cognito-identity:GetOpenIdTokenForDeveloperIdentity): the masked proxy refuses them; " +
    "without --masked they would hand out real credentials",
  ]);
});

Deno.test("learnScopes(): a copy whose source is not known gets a note to add it", async (t) => {
  for (const action of ["CopyObject", "UploadPartCopy"]) {
    await t.step(action, async () => {
      const calls = [{ service: "s3", action, resource: "bk1/k" }];
      const learned = await learnScopes(calls, catalog);
      assert.equal(learned.text, "s3:full@bk1/k");
      assert.deepEqual(learned.notes, [
        `s3:${action} also reads its source object, which the call does not name: add it to ` +
        "the line (s3:ro@BUCKET/KEY)",
      ]);
      // The line allows the write; reading the source (bk2/src) takes what the note says.
      await allowedAll(learned.text, calls);
      const source = [{ service: "s3", action: "GetObject from bk2/src" }];
      await assert.rejects(allowedAll(learned.text, source), /does not allow s3:GetObject/);
      await allowedAll(`${learned.text},s3:ro@bk2/src`, [...calls, ...source]);
    });
  }
});

/** A copy from `header` (a signed x-amz-copy-source) to bk2/k2, named as the proxy names it. */
function copyFrom(header: string, action = "CopyObject"): LearnedCall {
  const path = action === "CopyObject" ? "/bk2/k2" : "/bk2/k2?partNumber=1&uploadId=u";
  const url = new URL(path, "http://127.0.0.1:1");
  const name = nameCall({
    service: "s3",
    method: "PUT",
    path: url.pathname,
    query: url.searchParams,
    headers: new Headers({ "x-amz-copy-source": header }),
    signedHeaders: ["host", "x-amz-copy-source", "x-amz-date"],
  });
  assert.equal(name.action, action);
  return { service: "s3", ...name };
}

/** Whether the line's session policy allows `action` on `arn`, by the simulator. */
async function lineAllows(line: string, action: string, arn: string): Promise<boolean> {
  const { policy } = await prepareGrant({ scopes: [line], ttl: "15m" }, {
    catalog,
    target: { account: ACCOUNT, region: REGION, partition: "aws" },
  });
  const result = await runSimulation({
    request: {
      principal: `arn:aws:iam::${ACCOUNT}:role/timebound-iam-broker`,
      action,
      resource: { resource: arn, accountId: ACCOUNT },
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
  return result.resultType === "single" && result.overallResult === "Allowed";
}

Deno.test("learnScopes(): a copy whose source is known reads exactly that object", async (t) => {
  for (const action of ["CopyObject", "UploadPartCopy"]) {
    await t.step(action, async () => {
      const learned = await learnScopes([copyFrom("/bk1/k?versionId=v1", action)], catalog);
      assert.equal(learned.text, "s3:ro@bk1/k,s3:full@bk2/k2");
      assert.deepEqual(learned.notes, []);
      const line = learned.text;
      assert.ok(await lineAllows(line, "s3:GetObject", "arn:aws:s3:::bk1/k"));
      assert.ok(await lineAllows(line, "s3:GetObjectVersion", "arn:aws:s3:::bk1/k"));
      assert.ok(await lineAllows(line, "s3:PutObject", "arn:aws:s3:::bk2/k2"));
      assert.ok(!await lineAllows(line, "s3:PutObject", "arn:aws:s3:::bk1/k"));
      assert.ok(!await lineAllows(line, "s3:GetObject", "arn:aws:s3:::bk1/other"));
      assert.ok(!await lineAllows(line, "s3:PutObject", "arn:aws:s3:::bk2/other"));
    });
  }
  await t.step("merged with the run's other calls by the usual rules", async () => {
    const learned = await learnScopes([
      copyFrom("/bk1/k"),
      { service: "s3", action: "HeadObject", resource: "bk1/k" },
      { service: "s3", action: "ListObjectsV2", resource: "bk1" },
    ], catalog);
    // A bucket the run names itself covers its objects: the source's read is the bucket's.
    assert.equal(learned.text, "s3:ro@bk1,s3:full@bk2/k2");
  });
  await t.step("a source on a call that is no copy is not read", async () => {
    const learned = await learnScopes([
      { service: "s3", action: "GetObject", resource: "bk2/k2", source: "bk1/k" },
      { service: "dynamodb", action: "GetItem", resource: "Orders", source: "bk1/k" },
    ], catalog);
    assert.equal(learned.text, "s3:ro@bk2/k2,dynamodb:ro@Orders");
    assert.deepEqual(learned.notes, []);
  });
  await t.step("a source with no bucket is not known", async () => {
    const learned = await learnScopes(
      [{ service: "s3", action: "CopyObject", resource: "bk2/k2", source: "/k" }],
      catalog,
    );
    assert.equal(learned.text, "s3:full@bk2/k2");
    assert.equal(learned.notes.length, 1);
  });
  await t.step("an unknown source keeps its note, a known one drops it", async () => {
    const learned = await learnScopes([
      copyFrom("/bk1/k"),
      { service: "s3", action: "CopyObject", resource: "bk3/k3" },
    ], catalog);
    assert.equal(learned.text, "s3:ro@bk1/k,s3:full@bk2/k2,s3:full@bk3/k3");
    assert.equal(learned.notes.length, 1);
    assert.match(learned.notes[0], /^s3:CopyObject also reads its source object/);
  });
});

Deno.test("learnScopes(): a hostile copy source cannot widen the line", async (t) => {
  const cases: Array<[string, string, string, string[]]> = [
    // What it is, the header, the line, and objects the line must not let it read.
    ["dot segments are a literal key", "/bk1/../bk2/secret", "s3:ro@bk1/../bk2/secret", [
      "bk2/secret",
      "bk1/secret",
    ]],
    ["an encoded slash is the bucket's end", "/bk1%2F..%2Fbk9%2Fk", "s3:ro@bk1/../bk9/k", [
      "bk9/k",
    ]],
    ["a comma cannot add a scope: the key is the bucket's", "/bk1/k,s3:full", "s3:ro@bk1", [
      "bk9/k",
    ]],
    ["a wildcard is not one", "/bk1/*", "s3:ro@bk1", ["bk9/k"]],
    [
      "a huge key is cut, and a cut key is the bucket's",
      `/bk1/${"k".repeat(100_000)}`,
      "s3:ro@bk1",
      [
        "bk9/k",
      ],
    ],
    ["a bucket no scope can name: no source, a note", "/bk1,s3:full/k", "", ["bk1,s3:full/k"]],
    ["an encoded comma in the bucket: likewise", "/bk1%2Cs3%3Afull/k", "", ["bk1/k"]],
    ["a bucket name too short to be one: likewise", "/ab/k", "", ["ab/k"]],
  ];
  for (const [what, header, sourceScope, unread] of cases) {
    await t.step(what, async () => {
      const learned = await learnScopes([copyFrom(header)], catalog);
      assert.equal(
        learned.text,
        sourceScope ? `${sourceScope},s3:full@bk2/k2` : "s3:full@bk2/k2",
      );
      assert.equal(learned.notes.length, sourceScope ? 0 : 1, learned.notes.join("\n"));
      assert.ok(learned.text.length < 400);
      for (const object of unread) {
        assert.ok(!await lineAllows(learned.text, "s3:GetObject", `arn:aws:s3:::${object}`));
      }
      assert.ok(!await lineAllows(learned.text, "s3:PutObject", "arn:aws:s3:::bk1/k"));
      assert.ok(!await lineAllows(learned.text, "s3:DeleteBucket", "arn:aws:s3:::bk1"));
    });
  }
});
