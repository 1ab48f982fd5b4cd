/**
 * An IAM simulator (@cloud-copilot/iam-simulate, AGPL: tests only) as the local endpoint's
 * session-policy check: a session's S3 and DynamoDB calls are refused when its own policy does
 * not allow them, as AWS would refuse them. The IAM action of each API operation the tests make
 * is written out by hand here (AWS's S3 user guide's table), apart from lib's.
 *
 * @module
 */

import { runSimulation } from "@cloud-copilot/iam-simulate";
import type { SessionPolicyQuestion } from "./local_aws.ts";

/** The IAM action each API operation these tests make needs (AWS's S3 user guide's table). */
export const IAM_ACTION: Record<string, string> = {
  "s3:GetObject": "s3:GetObject",
  "s3:HeadObject": "s3:GetObject",
  "s3:PutObject": "s3:PutObject",
  // A copy writes its target with s3:PutObject; the endpoint asks about its source's read apart.
  "s3:CopyObject": "s3:PutObject",
  "s3:UploadPartCopy": "s3:PutObject",
  "s3:CreateMultipartUpload": "s3:PutObject",
  "s3:CompleteMultipartUpload": "s3:PutObject",
  "s3:CreateBucket": "s3:CreateBucket",
  "s3:ListObjectsV2": "s3:ListBucket",
  "s3:ListBuckets": "s3:ListAllMyBuckets",
  "dynamodb:GetItem": "dynamodb:GetItem",
  "dynamodb:PutItem": "dynamodb:PutItem",
  "dynamodb:CreateTable": "dynamodb:CreateTable",
  "dynamodb:ListTables": "dynamodb:ListTables",
};

const ALLOW_ALL = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
};

/** Whether `policy` (a session policy) allows `action` on `resource`, by the simulator. */
export async function allows(
  policy: unknown,
  action: string,
  resource: string,
  accountId = "123456789012",
): Promise<boolean> {
  const result = await runSimulation({
    request: {
      principal: `arn:aws:iam::${accountId}:role/timebound-iam-broker`,
      action,
      resource: { resource, accountId },
      contextVariables: { "aws:CurrentTime": new Date().toISOString() },
    },
    identityPolicies: [{ name: "broker", policy: ALLOW_ALL }],
    permissionBoundaryPolicies: [{ name: "session", policy }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }, {});
  if (result.resultType === "error") throw new Error(JSON.stringify(result.errors));
  return result.overallResult === "Allowed";
}

/** The local endpoint's session-policy check: the simulator on the session's own policy. */
export function simulated(question: SessionPolicyQuestion): Promise<boolean> {
  const action = IAM_ACTION[`${question.service}:${question.operation}`];
  if (action === undefined) throw new Error(`No IAM action for ${question.operation}`);
  return allows(JSON.parse(question.policy), action, question.resource, question.accountId);
}
