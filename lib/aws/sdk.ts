/**
 * The AWS SDK packages, loaded when first needed, with `require` where it works (see
 * `common_js.ts`: no ES module wrapper to build on every start), else with `import`.
 *
 * @module
 */

import { requireCommonJs } from "../core/common_js.ts";

/** `@aws-sdk/client-sts`. */
export type StsModule = typeof import("@aws-sdk/client-sts");
/** `@aws-sdk/client-iam`. */
export type IamModule = typeof import("@aws-sdk/client-iam");
/** `@aws-sdk/credential-providers`. */
export type CredentialProvidersModule = typeof import("@aws-sdk/credential-providers");
/** `@smithy/core/config`: the shared config files, `CredentialsProviderError`. */
export type SmithyConfigModule = typeof import("@smithy/core/config");

/** Loads `@aws-sdk/client-sts`. */
export async function stsModule(): Promise<StsModule> {
  return requireCommonJs<StsModule>("@aws-sdk/client-sts") ?? await import("@aws-sdk/client-sts");
}

/** Loads `@aws-sdk/client-iam`. */
export async function iamModule(): Promise<IamModule> {
  return requireCommonJs<IamModule>("@aws-sdk/client-iam") ?? await import("@aws-sdk/client-iam");
}

/** Loads `@aws-sdk/credential-providers`. */
export async function credentialProvidersModule(): Promise<CredentialProvidersModule> {
  return requireCommonJs<CredentialProvidersModule>("@aws-sdk/credential-providers") ??
    await import("@aws-sdk/credential-providers");
}

/** Loads `@smithy/core/config`. */
export async function smithyConfigModule(): Promise<SmithyConfigModule> {
  return requireCommonJs<SmithyConfigModule>("@smithy/core/config") ??
    await import("@smithy/core/config");
}
