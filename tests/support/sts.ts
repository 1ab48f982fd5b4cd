/**
 * The STS actions of the local AWS endpoint (`AssumeRole`, `GetCallerIdentity`, and
 * `GetSessionToken` from `mfa.ts`), with AWS's checks and error wording: validation of the
 * parameters, trust of the role (its conditions on the MFA context included), the role's
 * MaxSessionDuration, the one-hour cap of role chaining and the size of the session policy.
 *
 * @module
 */

import { type ActionContext, type ActionHandler, awsTimestamp, memberList } from "./action.ts";
import { AwsError, validationError, violation } from "./aws_error.ts";
import {
  MAX_SESSION_POLICY_CHARS,
  packedPolicySize,
  parsePolicyDocument,
  policyChars,
  trustAllows,
} from "./policy_document.ts";
import { checkMfaCode, getSessionToken, mfaContext } from "./mfa.ts";
import type { XmlValue } from "./xml.ts";

/** The XML namespace of STS responses. */
export const STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/";

/** The query-protocol version of STS. */
export const STS_VERSION = "2011-06-15";

const ROLE_CHAINING_LIMIT_SECONDS = 3600;
const NAME_PATTERN = /^[\w+=,.@-]*$/;

/** The message of AccessDenied for AssumeRole, exactly as AWS words it. */
export function assumeRoleDenied(callerArn: string, roleArn: string): AwsError {
  return new AwsError(
    "AccessDenied",
    `User: ${callerArn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    403,
  );
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
  const duration = params.DurationSeconds;
  if (duration !== undefined) {
    const seconds = Number(duration);
    if (!Number.isInteger(seconds)) {
      throw new AwsError("MalformedInput", `Invalid value for DurationSeconds: ${duration}`);
    }
    if (seconds < 900) {
      violations.push(
        violation("durationSeconds", duration, "have value greater than or equal to 900"),
      );
    }
    if (seconds > 43200) {
      violations.push(
        violation("durationSeconds", duration, "have value less than or equal to 43200"),
      );
    }
  }
  if (violations.length > 0) throw validationError(violations);
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
  const trusted = trustAllows(parsePolicyDocument(role.trustPolicy), {
    accountId: caller.accountId,
    arn: caller.arn,
    roleArn: caller.kind === "session" ? caller.roleArn : undefined,
    context: mfa,
  });
  if (!trusted) throw assumeRoleDenied(caller.arn, roleArn);

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
  if (policy !== undefined) {
    parsePolicyDocument(policy);
    if (policyChars(policy) > MAX_SESSION_POLICY_CHARS) {
      throw new AwsError(
        "PackedPolicyTooLarge",
        `Packed policy consumes ${
          packedPolicySize(policy)
        }% of allotted space, please use smaller policy.`,
      );
    }
  }

  const tags = Object.fromEntries(memberList(params, "Tags").map((t) => [t.Key, t.Value ?? ""]));
  const session = state.issueSession(role, {
    sessionName: params.RoleSessionName,
    durationSeconds,
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
    PackedPolicySize: policy === undefined && Object.keys(tags).length === 0
      ? undefined
      : packedPolicySize(policy ?? ""),
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
