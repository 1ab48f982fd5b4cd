// Checks what the session policy means, with an IAM simulator. @cloud-copilot/iam-simulate is
// AGPL: it is used here, in tests, and never imported by lib/ or main.ts.
import assert from "node:assert/strict";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { prepareGrant } from "../lib/request/grant_request.ts";

const ALLOW_ALL = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
};

async function decide(scopes: string, action: string, resource: string): Promise<string> {
  const { policy } = await prepareGrant({ scopes: [scopes], ttl: "15m" });
  const result = await runSimulation({
    request: {
      principal: "arn:aws:iam::123456789012:role/timebound-iam-broker",
      action,
      resource: { resource, accountId: "123456789012" },
      contextVariables: {},
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
