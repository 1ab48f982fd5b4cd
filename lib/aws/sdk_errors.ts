/**
 * Tells apart what the AWS SDK throws by the SDK's own classes: a modelled exception
 * (`PackedPolicyTooLargeException`, `NoSuchEntityException`, …) by its class; an error that AWS
 * returns without a model (`AccessDenied`, `ValidationError`, `Throttling`, …) as the service's
 * base exception (`STSServiceException`, `IAMServiceException`) carrying the code AWS documents
 * as its `name`; missing credentials by smithy's `CredentialsProviderError`. Only a failure to
 * reach AWS has no class (Node's system errors, and the SDK's `TimeoutError` is a plain `Error`).
 *
 * The classes are imported here, when an error is told apart: only after an SDK call failed, so
 * the SDK is loaded already and `--help` never loads it.
 *
 * @module
 */

import { type IamModule, iamModule, smithyConfigModule, type StsModule, stsModule } from "./sdk.ts";

/** What went wrong, as far as what to tell the user goes. */
export type AwsErrorKind =
  | "credentials"
  | "network"
  | "unknown-key"
  | "wrong-secret"
  | "expired"
  | "throttled"
  | "access-denied"
  | "validation"
  | "policy-too-large"
  | "region-disabled"
  | "no-such-entity"
  | "entity-exists"
  | "malformed-policy"
  | "limit-exceeded"
  | "invalid-input"
  | "other";

/** The AWS services timebound-iam calls. */
export type AwsService = "sts" | "iam";

/** An error told apart: its kind and, for an answer from AWS, the service that answered. */
export interface ClassifiedAwsError {
  /** What went wrong. */
  kind: AwsErrorKind;
  /** The service whose answer it was (not set for credential and network errors). */
  service?: AwsService;
}

// deno-lint-ignore no-explicit-any
type ErrorClass = abstract new (...args: any[]) => Error;

/** Each service's base exception, and the modelled exceptions we tell apart, by export name. */
const CLASSES = {
  sts: {
    base: "STSServiceException",
    modelled: {
      PackedPolicyTooLargeException: "policy-too-large",
      RegionDisabledException: "region-disabled",
      ExpiredTokenException: "expired",
    },
  },
  iam: {
    base: "IAMServiceException",
    modelled: {
      NoSuchEntityException: "no-such-entity",
      EntityAlreadyExistsException: "entity-exists",
      MalformedPolicyDocumentException: "malformed-policy",
      LimitExceededException: "limit-exceeded",
      InvalidInputException: "invalid-input",
    },
  },
} as const satisfies {
  sts: { base: keyof StsModule; modelled: Partial<Record<keyof StsModule, AwsErrorKind>> };
  iam: { base: keyof IamModule; modelled: Partial<Record<keyof IamModule, AwsErrorKind>> };
};

/**
 * Errors that AWS documents but the SDK has no class for: they arrive as the service's base
 * exception with AWS's code as their name (the common errors of every query API, and STS's
 * `AccessDenied`).
 */
const UNMODELLED: Readonly<Record<string, AwsErrorKind>> = {
  InvalidClientTokenId: "unknown-key",
  UnrecognizedClient: "unknown-key",
  SignatureDoesNotMatch: "wrong-secret",
  ExpiredToken: "expired",
  RequestExpired: "expired",
  Throttling: "throttled",
  ThrottlingException: "throttled",
  RequestLimitExceeded: "throttled",
  AccessDenied: "access-denied",
  AccessDeniedException: "access-denied",
  ValidationError: "validation",
};

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
 * Tells apart an error that a call to `service` threw. An IAM call may also fail in STS (the
 * credentials of a `role_arn` profile are an STS AssumeRole), so for IAM both are asked.
 */
export async function classifyAwsError(
  error: unknown,
  service: AwsService,
): Promise<ClassifiedAwsError> {
  const { CredentialsProviderError } = await smithyConfigModule();
  // By name too: the lockfile may hold two copies of @smithy/core (the SDK clients' and the
  // pinned one this imports), each with its own class, and every form of "no base credentials"
  // (instance metadata disabled and nothing else, say) must read as one.
  if (
    error instanceof CredentialsProviderError ||
    (error as { name?: unknown } | null)?.name === "CredentialsProviderError"
  ) {
    return { kind: "credentials" };
  }
  for (const answered of service === "iam" ? ["iam", "sts"] as const : ["sts"] as const) {
    const sdk: Record<string, unknown> = answered === "iam" ? await iamModule() : await stsModule();
    const { base, modelled } = CLASSES[answered];
    if (!(error instanceof (sdk[base] as ErrorClass))) continue;
    const known = Object.entries(modelled).find(([name]) =>
      error instanceof (sdk[name] as ErrorClass)
    );
    return { kind: known?.[1] ?? UNMODELLED[error.name] ?? "other", service: answered };
  }
  return { kind: isNetworkError(error) ? "network" : "other" };
}

/**
 * Whether `error` (or its cause) is a failure to reach AWS: a system error code of Node's, or the
 * SDK's `TimeoutError` (a plain `Error` by that name: the SDK has no class for it).
 */
function isNetworkError(error: unknown): boolean {
  const e = error as { name?: string; code?: string; message?: string; cause?: unknown } | null;
  if (e?.code && NETWORK_CODES.has(e.code)) return true;
  if (e?.name === "TimeoutError") return true;
  const cause = e?.cause as { code?: string } | undefined;
  if (cause?.code && NETWORK_CODES.has(cause.code)) return true;
  return /connection refused|ECONNREFUSED|getaddrinfo|dns error|tcp connect error/i.test(
    e?.message ?? "",
  );
}
