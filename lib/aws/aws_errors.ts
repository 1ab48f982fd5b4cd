/**
 * Turns what the AWS SDK throws into the sentence a user can act on: which limit, which
 * credentials, what to run next. Messages never include secrets; the request id goes to the
 * debug detail.
 *
 * @module
 */

import { RuntimeError, UserError } from "../core/errors.ts";
import { formatTtl } from "../request/ttl.ts";

/** The IAM operations that `setup aws --apply` and `doctor` call on the broker role. */
export type IamOperation =
  | "GetRole"
  | "CreateRole"
  | "UpdateRole"
  | "UpdateAssumeRolePolicy"
  | "GetRolePolicy"
  | "PutRolePolicy";

/** The IAM operations on MFA devices (`mfa provision`, `doctor`, the missing-MFA hint). */
export type MfaOperation =
  | "ListMFADevices"
  | "CreateVirtualMFADevice"
  | "EnableMFADevice"
  | "DeactivateMFADevice"
  | "DeleteVirtualMFADevice";

/** The IAM permissions that `setup aws --apply` needs, for hints. */
export const SETUP_IAM_ACTIONS: readonly string[] = [
  "iam:GetRole",
  "iam:CreateRole",
  "iam:UpdateRole",
  "iam:UpdateAssumeRolePolicy",
  "iam:GetRolePolicy",
  "iam:PutRolePolicy",
];

/** What was being done when the error happened, for the message. */
export interface ErrorContext {
  /** `GetCallerIdentity`, `AssumeRole`, `GetSessionToken`, or an IAM operation. */
  operation: "GetCallerIdentity" | "AssumeRole" | "GetSessionToken" | IamOperation | MfaOperation;
  /** The broker role's name (IAM operations only). */
  roleName?: string;
  /** The profile in use, if any. */
  profile?: string;
  /** The broker role's ARN (AssumeRole only). */
  roleArn?: string;
  /** The caller's ARN (AssumeRole only). */
  callerArn?: string;
  /** The requested session length (AssumeRole only). */
  ttlSeconds?: number;
  /** The STS (or IAM) endpoint in use, for network errors. */
  endpoint?: string;
}

interface AwsLikeError {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  $metadata?: { requestId?: string; httpStatusCode?: number };
  cause?: unknown;
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/**
 * Explains an error from the SDK as a {@linkcode UserError} with a hint. Errors it does not
 * recognise are wrapped with their AWS code and first line.
 */
export function explainAwsError(error: unknown, context: ErrorContext): UserError {
  // Our own errors (an MFA code that cannot be asked for, say) pass through the SDK unchanged.
  if (error instanceof UserError) return error;
  const e = (error ?? {}) as AwsLikeError;
  // The SDK names modelled errors "<Code>Exception" (PackedPolicyTooLargeException) and others
  // by their bare AWS code (ValidationError): compare bare codes.
  const code = (e.name ?? e.Code ?? "").replace(/Exception$/, "");
  const message = firstLine(e.message ?? String(error));
  const requestId = e.$metadata?.requestId;
  const options = { cause: error, detail: requestId ? `AWS request id ${requestId}` : undefined };
  const profile = context.profile ? `profile "${context.profile}"` : "the default credentials";
  const role = context.roleArn ?? "the broker role";
  const ttl = context.ttlSeconds ? formatTtl(context.ttlSeconds) : "the TTL";

  if (code === "CredentialsProviderError" || /Could not load credentials/i.test(message)) {
    if (/SSO session .* expired|token .* expired|refresh.*token/i.test(message)) {
      return new RuntimeError(`The SSO session of ${profile} has expired`, {
        ...options,
        hint: `run: aws sso login${context.profile ? ` --profile ${context.profile}` : ""}`,
      });
    }
    return new RuntimeError(
      context.profile
        ? `No AWS credentials for profile "${context.profile}": ${message}`
        : "No AWS credentials found: tried environment variables, the default profile, SSO, " +
          "credential_process, web identity and container/instance roles",
      {
        ...options,
        hint: context.profile
          ? `set up its credentials with: aws configure --profile ${context.profile}`
          : "pass --profile NAME, or set up credentials with: aws configure",
      },
    );
  }
  const iam = isIamOperation(context.operation);
  if (isNetworkError(e)) {
    const where = context.endpoint ?? (iam ? "AWS IAM" : "AWS STS");
    return new RuntimeError(`Could not reach ${where}: ${networkReason(e)}`, {
      ...options,
      hint: iam
        ? "check the network, and AWS_ENDPOINT_URL_IAM if you set it"
        : "check the network, --region, and AWS_ENDPOINT_URL_STS if you set it",
    });
  }
  const roleOperation = SETUP_IAM_ACTIONS.includes(`iam:${context.operation}`);
  const explained = roleOperation ? explainIamError(code, message, context, options) : undefined;
  if (explained) return explained;
  switch (code) {
    case "InvalidClientTokenId":
    case "UnrecognizedClient":
      return new RuntimeError(`AWS does not recognise the access key of ${profile}`, {
        ...options,
        hint: "the key was deleted or mistyped: check it with: aws sts get-caller-identity",
      });
    case "SignatureDoesNotMatch":
      return new RuntimeError(`AWS rejected the secret key of ${profile} (SignatureDoesNotMatch)`, {
        ...options,
        hint: "the secret access key does not belong to that access key id; check it",
      });
    case "ExpiredToken":
    case "RequestExpired":
      return new RuntimeError(`The base credentials of ${profile} have expired`, {
        ...options,
        hint: "refresh them (aws sso login, or new session credentials) and try again",
      });
    case "Throttling":
    case "RequestLimitExceeded":
      return new RuntimeError(`AWS throttled ${context.operation} (${code}) after retries`, {
        ...options,
        hint: "wait a moment and try again",
      });
    case "PackedPolicyTooLarge":
      return new RuntimeError(`AWS refused the session policy as too large: ${message}`, {
        ...options,
        hint: 'ask for fewer scopes; "timebound-iam policy -s …" shows the policy',
      });
    case "AccessDenied":
      if (/MultiFactorAuthentication failed/i.test(message)) {
        return new RuntimeError(`AWS refused the MFA code of ${profile}: ${message.trim()}`, {
          ...options,
          hint: "wait for the next code and try again; check the device with: " +
            "aws iam list-mfa-devices",
        });
      }
      if (context.operation === "AssumeRole") {
        return new RuntimeError(
          `Access denied assuming ${role}: the role does not exist or its trust policy ` +
            `does not allow ${context.callerArn ?? "the caller"}`,
          {
            ...options,
            hint: "create or fix it with: timebound-iam setup aws (or pass --role-arn)",
          },
        );
      }
      return new RuntimeError(`Access denied calling ${context.operation}: ${message}`, options);
    case "ValidationError":
      return explainValidation(message, context, options, ttl);
    case "RegionDisabled":
      return new RuntimeError(`STS is not activated in this region: ${message}`, {
        ...options,
        hint: "activate it in IAM account settings, or pass --region us-east-1",
      });
  }
  return new RuntimeError(`${context.operation} failed${code ? ` (${code})` : ""}: ${message}`, {
    ...options,
    hint: "run again with --debug for details",
  });
}

function isIamOperation(operation: ErrorContext["operation"]): boolean {
  return !["GetCallerIdentity", "AssumeRole", "GetSessionToken"].includes(operation);
}

function explainIamError(
  code: string,
  message: string,
  context: ErrorContext,
  options: { cause: unknown; detail?: string },
): UserError | undefined {
  const role = context.roleName ? `role "${context.roleName}"` : "the broker role";
  const action = `iam:${context.operation}`;
  switch (code) {
    case "AccessDenied":
      return new RuntimeError(
        `Access denied: ${context.callerArn ?? "the caller"} may not call ${action} on ${role}`,
        {
          ...options,
          hint: `setup aws --apply needs ${SETUP_IAM_ACTIONS.join(", ")}: use an administrator's ` +
            "profile (--profile), or have one run the printed aws iam commands",
        },
      );
    case "NoSuchEntity":
      return new RuntimeError(`IAM has no ${role}: ${message}`, {
        ...options,
        hint: "create it with: timebound-iam setup aws --apply",
      });
    case "EntityAlreadyExists":
      return new RuntimeError(`The ${role} was created by someone else meanwhile`, {
        ...options,
        hint: "run the command again: it updates an existing role",
      });
    case "MalformedPolicyDocument":
      return new RuntimeError(`IAM refused a policy of ${role} (${action}): ${message}`, options);
    case "LimitExceeded":
      return new RuntimeError(`IAM refused ${action} on ${role} as over a limit: ${message}`, {
        ...options,
        hint: "choose fewer services",
      });
    case "ValidationError":
    case "InvalidInput":
      return new RuntimeError(`IAM refused ${action} on ${role}: ${message}`, options);
  }
  return undefined;
}

function explainValidation(
  message: string,
  context: ErrorContext,
  options: { cause: unknown; detail?: string },
  ttl: string,
): UserError {
  if (/role chaining/i.test(message)) {
    return new RuntimeError(
      `TTL ${ttl} is over AWS's 1h limit for role chaining: the base credentials are ` +
        "themselves an assumed role (SSO or a role_arn profile)",
      { ...options, hint: "use -t 1h or less, or base credentials of an IAM user" },
    );
  }
  if (/MaxSessionDuration/i.test(message)) {
    const name = context.roleArn?.split("/").pop() ?? "timebound-iam-broker";
    const seconds = Math.max(3600, Math.min(43200, context.ttlSeconds ?? 3600));
    return new RuntimeError(
      `TTL ${ttl} is over the MaxSessionDuration of ${context.roleArn ?? "the broker role"}`,
      {
        ...options,
        hint: `use a shorter -t, or raise it: aws iam update-role --role-name ${name} ` +
          `--max-session-duration ${seconds}`,
      },
    );
  }
  return new RuntimeError(`AWS refused ${context.operation}: ${message}`, options);
}

function isNetworkError(e: AwsLikeError): boolean {
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  if (e.name === "TimeoutError") return true;
  const cause = e.cause as AwsLikeError | undefined;
  if (cause?.code && NETWORK_CODES.has(cause.code)) return true;
  return /connection refused|ECONNREFUSED|getaddrinfo|dns error|tcp connect error/i.test(
    e.message ?? "",
  );
}

function networkReason(e: AwsLikeError): string {
  const code = e.code ?? (e.cause as AwsLikeError | undefined)?.code;
  if (code === "ECONNREFUSED" || /refused/i.test(e.message ?? "")) return "connection refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
  if (e.name === "TimeoutError" || code === "ETIMEDOUT") return "timed out";
  return firstLine(e.message ?? code ?? "network error");
}

function firstLine(text: string): string {
  return text.split("\n")[0].trim();
}
