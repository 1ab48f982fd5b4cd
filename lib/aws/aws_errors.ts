/**
 * Turns what the AWS SDK throws into the sentence a user can act on: which limit, which
 * credentials, what to run next. Messages never include secrets; the request id goes to the
 * debug detail.
 *
 * @module
 */

import { RuntimeError, UserError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import { formatTtl } from "../request/ttl.ts";
import { type AwsErrorKind, classifyAwsError } from "./sdk_errors.ts";

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

/** The IAM operations on the caller's own access keys (`keys rotate`). */
export type AccessKeyOperation = "CreateAccessKey" | "DeleteAccessKey" | "ListAccessKeys";

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
  operation:
    | "GetCallerIdentity"
    | "AssumeRole"
    | "GetSessionToken"
    | IamOperation
    | MfaOperation
    | AccessKeyOperation;
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
  /** The STS (or IAM) endpoint in use and the setting that named it, for network errors. */
  endpoint?: { url: string; setting?: string };
}

/** The failure as the explanations use it: AWS's code and first line, and the debug detail. */
interface Failure {
  /** AWS's code as people know it (`AccessDenied`, `PackedPolicyTooLarge`), for messages. */
  code: string;
  /** The first line of the error's message. */
  message: string;
  /** The options of the {@linkcode RuntimeError}: the cause and the AWS request id. */
  options: { cause: unknown; detail?: string };
}

/** The sentence for one kind of failure. */
type Explanation = (failure: Failure, context: ErrorContext) => UserError;

/**
 * Explains an error from the SDK as a {@linkcode UserError} with a hint. Errors it does not
 * recognise are wrapped with their AWS code and first line. The SDK's classes tell the errors
 * apart (see `sdk_errors.ts`), so this is called only after an SDK call failed.
 */
export async function explainAwsError(error: unknown, context: ErrorContext): Promise<UserError> {
  // Our own errors (an MFA code that cannot be asked for, say) pass through the SDK unchanged.
  if (error instanceof UserError) return error;
  const iam = isIamOperation(context.operation);
  const { kind, service } = await classifyAwsError(error, iam ? "iam" : "sts");
  const failure = failureOf(error);
  if (kind === "credentials") {
    const unreachable = await explainSourceUnreachable(failure, context);
    if (unreachable !== undefined) return unreachable;
  }
  const roleOperation = service === "iam" && SETUP_IAM_ACTIONS.includes(`iam:${context.operation}`);
  const explained = (roleOperation ? ROLE_EXPLANATIONS[kind] : undefined)?.(failure, context) ??
    EXPLANATIONS[kind]?.(failure, context);
  return explained ?? unexplained(failure, context);
}

function failureOf(error: unknown): Failure {
  const e = (error ?? {}) as { name?: string; Code?: string; message?: string };
  const requestId = (error as { $metadata?: { requestId?: string } })?.$metadata?.requestId;
  return {
    // Modelled errors are named "<Code>Exception" (PackedPolicyTooLargeException); people know
    // the bare code.
    code: (e.name ?? e.Code ?? "").replace(/Exception$/, ""),
    message: firstLine(e.message ?? String(error)),
    options: { cause: error, detail: requestId ? `AWS request id ${requestId}` : undefined },
  };
}

function unexplained(failure: Failure, context: ErrorContext): UserError {
  const code = failure.code ? ` (${failure.code})` : "";
  return new RuntimeError(`${context.operation} failed${code}: ${failure.message}`, {
    ...failure.options,
    hint: "run again with --debug for details",
  });
}

/** The explanations of failures that any call can meet. */
const EXPLANATIONS: Partial<Record<AwsErrorKind, Explanation>> = {
  credentials: explainMissingCredentials,
  network: explainUnreachable,
  "unknown-key": ({ options }, context) =>
    new RuntimeError(`AWS does not recognise the access key of ${profileOf(context)}`, {
      ...options,
      hint: "the key was deleted or mistyped: check it with: aws sts get-caller-identity",
    }),
  "wrong-secret": ({ options }, context) =>
    new RuntimeError(
      `AWS rejected the secret key of ${profileOf(context)} (SignatureDoesNotMatch)`,
      { ...options, hint: "the secret access key does not belong to that access key id; check it" },
    ),
  expired: ({ options }, context) =>
    new RuntimeError(`The base credentials of ${profileOf(context)} have expired`, {
      ...options,
      hint: "refresh them (aws sso login, or new session credentials) and try again",
    }),
  throttled: ({ code, options }, context) =>
    new RuntimeError(`AWS throttled ${context.operation} (${code}) after retries`, {
      ...options,
      hint: "wait a moment and try again",
    }),
  "policy-too-large": ({ message, options }) =>
    new RuntimeError(`AWS refused the session policy as too large: ${message}`, {
      ...options,
      hint: 'ask for fewer scopes; "timebound-iam policy -s …" shows the policy',
    }),
  "access-denied": explainAccessDenied,
  validation: explainValidation,
  "region-disabled": ({ message, options }) =>
    new RuntimeError(`STS is not activated in this region: ${message}`, {
      ...options,
      hint: "activate it in IAM account settings, or pass --region us-east-1",
    }),
};

/** How IAM's answers to the calls on the broker role (`setup aws`, `doctor`) read. */
const ROLE_EXPLANATIONS: Partial<Record<AwsErrorKind, Explanation>> = {
  "access-denied": ({ options }, context) =>
    new RuntimeError(
      `Access denied: ${context.callerArn ?? "the caller"} may not call iam:${context.operation} ` +
        `on ${roleNameOf(context)}`,
      {
        ...options,
        hint: `setup aws --apply needs ${SETUP_IAM_ACTIONS.join(", ")}: use an administrator's ` +
          "profile (--profile), or have one run the printed aws iam commands",
      },
    ),
  "no-such-entity": ({ message, options }, context) =>
    new RuntimeError(`IAM has no ${roleNameOf(context)}: ${message}`, {
      ...options,
      hint: "create it with: timebound-iam setup aws --apply",
    }),
  "entity-exists": ({ options }, context) =>
    new RuntimeError(`The ${roleNameOf(context)} was created by someone else meanwhile`, {
      ...options,
      hint: "run the command again: it updates an existing role",
    }),
  "malformed-policy": ({ message, options }, context) =>
    new RuntimeError(
      `IAM refused a policy of ${roleNameOf(context)} (iam:${context.operation}): ${message}`,
      options,
    ),
  "limit-exceeded": ({ message, options }, context) =>
    new RuntimeError(
      `IAM refused iam:${context.operation} on ${roleNameOf(context)} as over a limit: ${message}`,
      { ...options, hint: "choose fewer services" },
    ),
  validation: refusedByIam,
  "invalid-input": refusedByIam,
};

function refusedByIam({ message, options }: Failure, context: ErrorContext): UserError {
  return new RuntimeError(
    `IAM refused iam:${context.operation} on ${roleNameOf(context)}: ${message}`,
    options,
  );
}

function explainMissingCredentials({ message, options }: Failure, context: ErrorContext) {
  // The SDK has one class for every credential failure; only its message tells an expired SSO
  // session apart.
  if (/SSO session .* expired|token .* expired|refresh.*token/i.test(message)) {
    return new RuntimeError(`The SSO session of ${profileOf(context)} has expired`, {
      ...options,
      hint: `run: aws sso login${context.profile ? ` --profile ${context.profile}` : ""}`,
    });
  }
  if (context.profile) {
    return new RuntimeError(`No AWS credentials for profile "${context.profile}": ${message}`, {
      ...options,
      hint: `set up its credentials with: aws configure --profile ${context.profile}`,
    });
  }
  return new RuntimeError(
    "No AWS credentials found: tried environment variables, the default profile, SSO, " +
      "credential_process, web identity and container/instance roles",
    { ...options, hint: "pass --profile NAME, or set up credentials with: aws configure" },
  );
}

/**
 * A provider of the SDK's credential chain that could not reach its service (IAM Identity Center
 * for an SSO profile): the SDK keeps only the network error's text (`Error: getaddrinfo ENOTFOUND
 * portal.sso.…`) in a credentials error. Told as that service, naming only its host (and port):
 * never the text, which may hold the URL with its path.
 */
async function explainSourceUnreachable(
  { message, options }: Failure,
  context: ErrorContext,
): Promise<UserError | undefined> {
  const reason = networkReasonIn(message);
  if (reason === undefined) return undefined;
  const { usesIdentityCenter } = await import("./profile_endpoint.ts");
  const sso = await usesIdentityCenter(context.profile ?? "default").catch(() => false);
  const service = sso ? "AWS IAM Identity Center (SSO)" : "the source of the credentials";
  const host = hostIn(message);
  const at = host === undefined ? "" : ` at ${host}`;
  const profileFlag = context.profile ? ` --profile ${logText(context.profile, 80)}` : "";
  return new RuntimeError(`Could not reach ${service}${at} for ${profileOf(context)}: ${reason}`, {
    ...options,
    hint: sso
      ? `check the network; if it works, sign in again with: aws sso login${profileFlag}`
      : "check the network",
    forAgents: {
      message: `Could not reach ${sso ? service : "AWS"}`,
      hint: "the server's log says why; try again later, or ask the human who started the server",
    },
  });
}

/** Why a connection failed, from a network error's text; `undefined` if it tells of none. */
function networkReasonIn(message: string): string | undefined {
  if (/\bECONNREFUSED\b|connection refused/i.test(message)) return "connection refused";
  if (/\b(?:ENOTFOUND|EAI_AGAIN)\b|getaddrinfo|dns error/i.test(message)) return "host not found";
  if (/^(?:Error: )?TimeoutError\b|\bETIMEDOUT\b/.test(message)) return "timed out";
  if (/\b(?:ECONNRESET|EHOSTUNREACH|ENETUNREACH)\b|tcp connect error/i.test(message)) {
    return "network error";
  }
  return undefined;
}

/** The host (and port) a network error's text names, as Node's errors name it. */
function hostIn(message: string): string | undefined {
  const host = /\b(?:ENOTFOUND|EAI_AGAIN) ([A-Za-z0-9.-]{1,253})(?![^\s])/.exec(message)?.[1] ??
    /\b(?:ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNRESET) ([0-9A-Fa-f.:]{2,45}:\d{1,5})(?![^\s])/
      .exec(message)?.[1];
  return host === undefined ? undefined : logText(host, 260);
}

function explainUnreachable({ options }: Failure, context: ErrorContext) {
  const iam = isIamOperation(context.operation);
  const service = iam ? "AWS IAM" : "AWS STS";
  const { endpoint } = context;
  const where = endpoint === undefined ? service : endpointOrigin(endpoint.url) ?? service;
  return new RuntimeError(`Could not reach ${where}: ${networkReason(options.cause)}`, {
    ...options,
    hint: unreachableHint(endpoint, iam),
    // The endpoint is the human's setting (a host on their network, say), and the reason may
    // name it: an agent learns only that AWS could not be reached.
    forAgents: {
      message: `Could not reach ${service}`,
      hint: "the server's log says why; try again later, or ask the human who started the server",
    },
  });
}

/** What to check: the setting that named the endpoint, or the region when it is AWS's own. */
function unreachableHint(endpoint: ErrorContext["endpoint"], iam: boolean): string {
  if (endpoint?.setting) return `check the network, and ${endpoint.setting}`;
  if (endpoint) return "check the network and --region";
  return iam
    ? "check the network, and AWS_ENDPOINT_URL_IAM if you set it"
    : "check the network, --region, and AWS_ENDPOINT_URL_STS if you set it";
}

/**
 * An endpoint's scheme, host and port, as the SDK parses its URL: never the user name and password
 * it may hold (in any of the spellings a URL parser takes: `http:\\user:pw@host`, `http:/…`, a
 * tab inside) nor a path or query, which may hold a token. `undefined` if it is no URL.
 */
function endpointOrigin(endpoint: string): string | undefined {
  const url = URL.parse(endpoint);
  return url === null || url.origin === "null" ? undefined : logText(url.origin, 200);
}

function explainAccessDenied({ message, options }: Failure, context: ErrorContext) {
  // AWS answers a wrong MFA code with AccessDenied too; only the message says so.
  if (/MultiFactorAuthentication failed/i.test(message)) {
    return new RuntimeError(`AWS refused the MFA code of ${profileOf(context)}: ${message}`, {
      ...options,
      hint: "wait for the next code and try again; check the device with: " +
        "aws iam list-mfa-devices",
    });
  }
  if (context.operation === "AssumeRole") {
    return new RuntimeError(
      `Access denied assuming ${context.roleArn ?? "the broker role"}: the role does not exist ` +
        `or its trust policy does not allow ${context.callerArn ?? "the caller"}`,
      { ...options, hint: "create or fix it with: timebound-iam setup aws (or pass --role-arn)" },
    );
  }
  return new RuntimeError(`Access denied calling ${context.operation}: ${message}`, options);
}

/** AWS's ValidationError covers every limit; its message names the one that was hit. */
function explainValidation({ message, options }: Failure, context: ErrorContext) {
  const ttl = context.ttlSeconds ? formatTtl(context.ttlSeconds) : "the TTL";
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

function isIamOperation(operation: ErrorContext["operation"]): boolean {
  return !["GetCallerIdentity", "AssumeRole", "GetSessionToken"].includes(operation);
}

function profileOf(context: ErrorContext): string {
  return context.profile ? `profile "${context.profile}"` : "the default credentials";
}

function roleNameOf(context: ErrorContext): string {
  return context.roleName ? `role "${context.roleName}"` : "the broker role";
}

function networkReason(error: unknown): string {
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  const code = e?.code ?? e?.cause?.code;
  if (code === "ECONNREFUSED" || /refused/i.test(e?.message ?? "")) return "connection refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
  if (e?.name === "TimeoutError" || code === "ETIMEDOUT") return "timed out";
  return firstLine(e?.message ?? code ?? "network error");
}

function firstLine(text: string): string {
  return text.split("\n")[0].trim();
}
