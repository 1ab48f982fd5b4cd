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
