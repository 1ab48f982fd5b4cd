/**
 * AWS's refusal of a call that no policy allows, as each protocol sends it: the query services
 * (STS, IAM) `AccessDenied` with 403 in `<ErrorResponse>`, the JSON services (DynamoDB)
 * `AccessDeniedException` with 400, S3 `AccessDenied` with 403 in its `<Error>`. The message is
 * AWS's for a request within one account: `User: ARN is not authorized to perform: ACTION on
 * resource: RESOURCE because no identity-based policy allows the ACTION action` (`session
 * policy` when the session's own policy refused it), where ACTION is the IAM action (not the API
 * operation: S3's `ListObjectsV2` is `s3:ListBucket`) and RESOURCE is written as the service
 * writes it: IAM `role NAME` or `user NAME`, S3 the ARN in double quotes, others the ARN.
 *
 * @module
 */

import { AwsError } from "./aws_error.ts";

/** How a service's answers are shaped. */
export type AwsProtocol = "query" | "json" | "s3";

/** The protocol of each service the local endpoint serves. */
export const PROTOCOL: Readonly<Record<"sts" | "iam" | "dynamodb" | "s3", AwsProtocol>> = {
  sts: "query",
  iam: "query",
  dynamodb: "json",
  s3: "s3",
};

/**
 * The IAM action of each S3 operation the endpoint serves (AWS's S3 user guide's table of
 * required permissions); DynamoDB's actions are named as its operations.
 */
export const S3_IAM_ACTIONS: Readonly<Record<string, string>> = {
  ListBuckets: "s3:ListAllMyBuckets",
  CreateBucket: "s3:CreateBucket",
  DeleteBucket: "s3:DeleteBucket",
  HeadBucket: "s3:ListBucket",
  GetBucketLocation: "s3:GetBucketLocation",
  ListObjects: "s3:ListBucket",
  ListObjectsV2: "s3:ListBucket",
  GetObject: "s3:GetObject",
  HeadObject: "s3:GetObject",
  PutObject: "s3:PutObject",
  // A copy writes its target with s3:PutObject; its source's read is asked about apart.
  CopyObject: "s3:PutObject",
  CreateMultipartUpload: "s3:PutObject",
  UploadPart: "s3:PutObject",
  UploadPartCopy: "s3:PutObject",
  CompleteMultipartUpload: "s3:PutObject",
  AbortMultipartUpload: "s3:AbortMultipartUpload",
  DeleteObject: "s3:DeleteObject",
};

/** The IAM action that an API operation of `service` needs: `s3:ListBucket` for ListObjectsV2. */
export function iamActionOf(service: string, operation: string): string {
  if (service === "s3") return S3_IAM_ACTIONS[operation] ?? `s3:${operation}`;
  return `${service}:${operation}`;
}

/** What {@linkcode accessDenied} says was refused. */
export interface Refusal {
  /** The caller's ARN. */
  callerArn: string;
  /** The IAM action, `iam:GetRole`. */
  action: string;
  /** The resource as the service writes it (`role NAME`, an ARN, `*`). */
  resource: string;
  /** Which policy lacked the Allow: the caller's own (default) or the session's. */
  policy?: "identity-based" | "session";
}

/**
 * AWS's refusal of `refusal` in `protocol`'s code and status, e.g. for IAM
 * `AccessDenied` (403): `User: arn:aws:iam::123456789012:user/dev is not authorized to perform:
 * iam:GetRole on resource: role R because no identity-based policy allows the iam:GetRole action`.
 */
export function accessDenied(protocol: AwsProtocol, refusal: Refusal): AwsError {
  const { callerArn, action, policy = "identity-based" } = refusal;
  const resource = protocol === "s3" ? `"${refusal.resource}"` : refusal.resource;
  const message = `User: ${callerArn} is not authorized to perform: ${action} on resource: ` +
    `${resource} because no ${policy} policy allows the ${action} action`;
  return protocol === "json"
    ? new AwsError("AccessDeniedException", message, 400)
    : new AwsError("AccessDenied", message, 403);
}

/**
 * The resource an IAM action names in IAM's refusals: `role NAME` for an existing role's actions
 * (CreateRole's role, not there yet, by its ARN), `user NAME` for a user's (the caller's own when
 * no `UserName` is given), an MFA device's ARN, else `*`.
 */
export function iamResourceOf(
  action: string,
  params: Record<string, string>,
  caller: { arn: string; accountId: string; kind: string },
): string {
  if (action === "CreateRole") {
    return `arn:aws:iam::${caller.accountId}:role${params.Path ?? "/"}${params.RoleName}`;
  }
  if (params.RoleName !== undefined) return `role ${params.RoleName}`;
  if (params.UserName !== undefined) return `user ${params.UserName}`;
  if (params.VirtualMFADeviceName !== undefined) {
    const path = params.Path ?? "/";
    return `arn:aws:iam::${caller.accountId}:mfa${path}${params.VirtualMFADeviceName}`;
  }
  if (params.SerialNumber !== undefined) return params.SerialNumber;
  if (caller.kind === "user") return `user ${caller.arn.split("/").pop()}`;
  return "*";
}
