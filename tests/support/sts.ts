/**
 * The STS actions of the local AWS endpoint (`AssumeRole`, `GetCallerIdentity`, and
 * `GetSessionToken` from `mfa.ts`), with AWS's checks and error wording: validation of the
 * parameters, trust of the role (its conditions on the MFA context and on the request's
 * `sts:ExternalId`, `sts:SourceIdentity`, `aws:RequestTag/…` and `aws:TagKeys` included, and its
 * `sts:SetSourceIdentity` and `sts:TagSession`), the role's MaxSessionDuration, the one-hour cap
 * of role chaining and the packed size of the session policy and tags.
 *
 * @module
 */

import { type ActionContext, type ActionHandler, awsTimestamp, memberList } from "./action.ts";
import { AwsError, checkDurationSeconds, validationError, violation } from "./aws_error.ts";
import { packedPolicySize, parsePolicyDocument, trustAllows } from "./policy_document.ts";
import { checkMfaCode, getSessionToken, mfaContext } from "./mfa.ts";
import type { XmlValue } from "./xml.ts";
import type { RequestContext } from "./conditions.ts";

/** The XML namespace of STS responses. */
export const STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/";

/** The query-protocol version of STS. */
export const STS_VERSION = "2011-06-15";

const ROLE_CHAINING_LIMIT_SECONDS = 3600;
const NAME_PATTERN = /^[\w+=,.@-]*$/;
const EXTERNAL_ID_PATTERN = /^[\w+=,.@:\/-]*$/;
const TAG_KEY_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u;
const TAG_VALUE_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const MAX_SESSION_TAGS = 50;

/**
 * The message of AccessDenied for AssumeRole (or, for its tags and source identity,
 * `sts:TagSession` and `sts:SetSourceIdentity`), exactly as AWS words it.
 */
export function assumeRoleDenied(
  callerArn: string,
  roleArn: string,
  action = "sts:AssumeRole",
): AwsError {
  return new AwsError(
    "AccessDenied",
    `User: ${callerArn} is not authorized to perform: ${action} on resource: ${roleArn}`,
    403,
  );
}

/** AWS's constraints on `SourceIdentity` and `Tags`, with AWS's field names. */
function checkIdentityParams(
  sourceIdentity: string | undefined,
  tags: Record<string, string>[],
  violations: string[],
): void {
  if (sourceIdentity !== undefined) {
    if (sourceIdentity.length < 2) {
      violations.push(
        violation("sourceIdentity", sourceIdentity, "have length greater than or equal to 2"),
      );
    }
    if (sourceIdentity.length > 64) {
      violations.push(
        violation("sourceIdentity", sourceIdentity, "have length less than or equal to 64"),
      );
    }
    if (!NAME_PATTERN.test(sourceIdentity)) {
      violations.push(
        violation(
          "sourceIdentity",
          sourceIdentity,
          "satisfy regular expression pattern: [\\w+=,.@-]*",
        ),
      );
    }
  }
  if (tags.length > MAX_SESSION_TAGS) {
    violations.push(
      violation("tags", `${tags.length} tags`, "have length less than or equal to 50"),
    );
  }
  tags.forEach((tag, i) => {
    const at = `tags.${i + 1}.member`;
    const key = tag.Key;
    if (key === undefined) violations.push(violation(`${at}.key`, undefined, "not be null"));
    else if (key.length > 128) {
      violations.push(violation(`${at}.key`, key, "have length less than or equal to 128"));
    } else if (!TAG_KEY_PATTERN.test(key)) {
      violations.push(
        violation(
          `${at}.key`,
          key,
          "satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
        ),
      );
    }
    const value = tag.Value;
    if (value === undefined) violations.push(violation(`${at}.value`, undefined, "not be null"));
    else if (value.length > 256) {
      violations.push(violation(`${at}.value`, value, "have length less than or equal to 256"));
    } else if (!TAG_VALUE_PATTERN.test(value)) {
      violations.push(
        violation(
          `${at}.value`,
          value,
          "satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*",
        ),
      );
    }
  });
}

function checkAssumeRoleParams(params: Record<string, string>): void {
  const violations: string[] = [];
  const roleArn = params.RoleArn;
  if (roleArn === undefined) violations.push(violation("roleArn", undefined, "not be null"));
  else if (roleArn.length < 20) {
    violations.push(violation("roleArn", roleArn, "have length greater than or equal to 20"));
  }
  const name = params.RoleSessionName;
  if (name === undefined) violations.push(violation("roleSessionName", undefined, "not be null"));
  else {
    if (name.length < 2) {
      violations.push(violation("roleSessionName", name, "have length greater than or equal to 2"));
    }
    if (name.length > 64) {
      violations.push(violation("roleSessionName", name, "have length less than or equal to 64"));
    }
    if (!NAME_PATTERN.test(name)) {
      violations.push(
        violation("roleSessionName", name, "satisfy regular expression pattern: [\\w+=,.@-]*"),
      );
    }
  }
  const externalId = params.ExternalId;
  if (externalId !== undefined) {
    if (externalId.length < 2) {
      violations.push(
        violation("externalId", externalId, "have length greater than or equal to 2"),
      );
    }
    if (externalId.length > 1224) {
      violations.push(
        violation("externalId", externalId, "have length less than or equal to 1224"),
      );
    }
    if (!EXTERNAL_ID_PATTERN.test(externalId)) {
      violations.push(
        violation("externalId", externalId, "satisfy regular expression pattern: [\\w+=,.@:\\/-]*"),
      );
    }
  }
  checkIdentityParams(params.SourceIdentity, memberList(params, "Tags"), violations);
  checkDurationSeconds(params.DurationSeconds, 43200, violations);
  if (violations.length > 0) throw validationError(violations);
}

/**
 * The request's own condition keys, as AWS puts them in the context of every statement of the
 * trust policy: `sts:ExternalId` (a third party's role trusts a caller that names it),
 * `sts:SourceIdentity`, and for session tags `aws:RequestTag/KEY` and `aws:TagKeys` (so a trust
 * policy can allow `sts:TagSession` for some values only).
 */
function requestContext(
  params: Record<string, string>,
  tags: Record<string, string>,
): RequestContext {
  const context: Record<string, string | string[]> = {};
  if (params.ExternalId !== undefined) context["sts:ExternalId"] = params.ExternalId;
  const sourceIdentity = params.SourceIdentity;
  if (sourceIdentity !== undefined) context["sts:SourceIdentity"] = sourceIdentity;
  const keys = Object.keys(tags);
  if (keys.length > 0) context["aws:TagKeys"] = keys;
  for (const [key, value] of Object.entries(tags)) context[`aws:RequestTag/${key}`] = value;
  return context;
}

/**
 * `AssumeRole`: checks the parameters, that the role exists and trusts the caller (AWS answers
 * AccessDenied for both), DurationSeconds against role chaining and the role's
 * MaxSessionDuration, then the session policy; issues `ASIA…` credentials that the endpoint
 * remembers with the session's ARN and policy.
 */
export function assumeRole({ state, caller, params }: ActionContext): XmlValue {
  checkAssumeRoleParams(params);
  const roleArn = params.RoleArn;
  const match = /^arn:aws:iam::(\d{12}):role\/(?:[^/]*\/)*([\w+=,.@-]+)$/.exec(roleArn);
  const role = match === null ? undefined : state.findRole(match[1], match[2]);
  if (role === undefined || role.arn !== roleArn) throw assumeRoleDenied(caller.arn, roleArn);
  const mfaProvenAt = checkMfaCode(state, caller, params);
  const mfa = mfaContext(state, caller, mfaProvenAt);
  const trust = parsePolicyDocument(role.trustPolicy);
  const tags = Object.fromEntries(memberList(params, "Tags").map((t) => [t.Key, t.Value ?? ""]));
  const trustCaller = {
    accountId: caller.accountId,
    arn: caller.arn,
    roleArn: caller.kind === "session" ? caller.roleArn : undefined,
    context: { ...mfa, ...requestContext(params, tags) },
  };
  if (!trustAllows(trust, trustCaller)) throw assumeRoleDenied(caller.arn, roleArn);
  // Setting a source identity and passing session tags are permissions of their own, which
  // the trust policy must grant too.
  if (
    params.SourceIdentity !== undefined &&
    !trustAllows(trust, trustCaller, "sts:SetSourceIdentity")
  ) {
    throw assumeRoleDenied(caller.arn, roleArn, "sts:SetSourceIdentity");
  }
  if (Object.keys(tags).length > 0 && !trustAllows(trust, trustCaller, "sts:TagSession")) {
    throw assumeRoleDenied(caller.arn, roleArn, "sts:TagSession");
  }

  const durationSeconds = Number(params.DurationSeconds ?? 3600);
  const chained = caller.kind === "session";
  if (chained && durationSeconds > ROLE_CHAINING_LIMIT_SECONDS) {
    throw new AwsError(
      "ValidationError",
      "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    );
  }
  if (durationSeconds > role.maxSessionDuration) {
    throw new AwsError(
      "ValidationError",
      "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    );
  }

  const policy = params.Policy;
  if (policy !== undefined) parsePolicyDocument(policy);
  // The session policy and the tags share one packed budget.
  const packed = packedPolicySize(policy ?? "", tags);
  if (packed > 100) {
    throw new AwsError(
      "PackedPolicyTooLarge",
      `Packed policy consumes ${packed}% of allotted space, please use smaller policy.`,
    );
  }
  const session = state.issueSession(role, {
    sessionName: params.RoleSessionName,
    durationSeconds,
    lifetimeSeconds: state.assumeRoleLifetimeSeconds,
    policy,
    chained,
    issuedTo: caller.arn,
    sourceIdentity: params.SourceIdentity,
    tags,
    mfaAuthenticatedAt: mfaProvenAt ??
      (caller.kind === "user" ? undefined : caller.mfaAuthenticatedAt),
  });
  return {
    Credentials: {
      AccessKeyId: session.accessKeyId,
      SecretAccessKey: session.secretAccessKey,
      SessionToken: session.sessionToken,
      Expiration: awsTimestamp(session.expiration),
    },
    AssumedRoleUser: { AssumedRoleId: session.userId, Arn: session.arn },
    PackedPolicySize: policy === undefined && Object.keys(tags).length === 0 ? undefined : packed,
    SourceIdentity: session.sourceIdentity,
  };
}

/** `GetCallerIdentity`: the ARN, unique id and account of whoever signed the request. */
export function getCallerIdentity({ caller }: ActionContext): XmlValue {
  return { Arn: caller.arn, UserId: caller.userId, Account: caller.accountId };
}

/** The STS actions by name. */
export const STS_ACTIONS: Record<string, ActionHandler> = {
  AssumeRole: assumeRole,
  GetCallerIdentity: getCallerIdentity,
  GetSessionToken: getSessionToken,
};
