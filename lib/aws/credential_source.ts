/**
 * Where the base credentials come from, in words: the AWS SDK marks the credentials each
 * provider of its chain returns (`$source`), and `doctor` says which one answered.
 *
 * @module
 */

import type { IAMClient } from "@aws-sdk/client-iam";
import type { STSClient } from "@aws-sdk/client-sts";
import type { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { explainAwsError } from "./on_failure.ts";
import { addCallDeadline, awsTimeoutMs, DEFAULT_TIMEOUT_MS } from "./timeout.ts";
import {
  credentialSettingsOf,
  OTHER_CREDENTIAL_SOURCES,
  profileLabel,
  resolveProfile,
  usesEnvironmentKeys,
} from "./profile.ts";
import {
  credentialProvidersModule,
  iamModule,
  smithyConfigModule,
  type StsModule,
  stsModule,
} from "./sdk.ts";
import {
  VAULT_CHAIN_MARK,
  VAULT_SOURCE_MARK,
  vaultCredentials,
  vaultHolding,
} from "./vault_keys.ts";
import type { VaultChain } from "./vault_chain.ts";
import { vaultInUse } from "../vault/vault_place.ts";
import type { ProfileEndpointConfig } from "./profile_endpoint.ts";
import { environmentKeys, profileKeys } from "./known_keys.ts";

/** The SDK client settings for the base credentials. */
export interface BaseClientConfig extends Partial<ProfileEndpointConfig> {
  /** The region. */
  region: string;
  /** A logger that drops the SDK's console warnings, so stderr carries only our own words. */
  logger: Record<"debug" | "info" | "warn" | "error", () => void>;
  /** The SDK's provider chain for the profile (or the default chain). */
  credentials: ReturnType<typeof fromNodeProviderChain>;
  /** The HTTP handler's timeouts: every AWS call gives up rather than hang. */
  requestHandler: {
    connectionTimeout: number;
    requestTimeout: number;
    throwOnRequestTimeout: boolean;
  };
}

/**
 * Settings for an AWS SDK client (STS, IAM) that signs with the base credentials: the
 * environment's keys when the SDK's chain would take them (read as its `fromEnv` reads them,
 * without loading the chain: `known_keys.ts`); else the profile's keys in the vault; else, for a
 * `role_arn` profile whose source profile's keys are in the vault, its roles assumed with them
 * (`vault_chain.ts`, loaded only for such a profile); else a profile whose credentials are only
 * keys in the shared files, when the chain would surely take them (read with the SDK's own
 * loader, as its `fromIni` reads them: `known_keys.ts`); else the SDK's own provider chain for
 * `profile`, never a file parsed by hand. `mfaCodeProvider` answers when the profile assumes a
 * role that needs an MFA code.
 */
export async function baseClientConfig(
  config: {
    region: string;
    profile?: string;
    mfaCodeProvider?: (serial: string) => Promise<string>;
    timeoutMs?: number;
    /** The environment (default: the process's), for the vault. */
    env?: Readonly<Record<string, string>>;
    /**
     * For a role chain from keys in the vault: what signs its first AssumeRole instead of the
     * keys (the source's cached MFA session, see `base_credentials.ts`).
     */
    chainMaster?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
    /** The profile's role chain from the vault's keys, when the caller found it already. */
    chain?: VaultChain;
    /** The service of the client, whose endpoint a named profile may set (default: `sts`). */
    service?: "sts" | "iam";
  },
): Promise<BaseClientConfig> {
  // The SDK warns on console about mixed credential sources; keep stderr for our own words.
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  const env = config.env ?? Deno.env.toObject();
  const timeout = config.timeoutMs ?? awsTimeoutMs(env);
  // Connecting gets half the time; the whole request the full time. Without
  // throwOnRequestTimeout the SDK only logs a warning and keeps waiting.
  const requestHandler = {
    connectionTimeout: Math.ceil(timeout / 2),
    requestTimeout: timeout,
    throwOnRequestTimeout: true,
  };
  const settings = {
    region: config.region,
    logger,
    requestHandler,
    ...await endpointOf(config, env),
  };
  // The profile as resolveProfile decides it, AWS_DEFAULT_PROFILE's too (while the environment
  // holds no keys), which the SDK's chain never reads: every way below, the SDK's chain included,
  // signs with the keys of the profile whose settings (MFA device, config file entry, vault keys)
  // the grant uses.
  const profile = resolveProfile(config.profile, env).name;
  // The environment's keys, when the SDK's chain would take them: known without loading it.
  const fromEnvironment = config.chain ? undefined : environmentKeys(profile, env);
  if (fromEnvironment !== undefined) {
    return { ...settings, credentials: fromEnvironment as BaseClientConfig["credentials"] };
  }
  // The profile's keys in the vault, when it has some, sign instead of the SDK's chain.
  const holding = config.chain ? undefined : await vaultHolding(profile, { env });
  if (holding !== undefined) {
    return {
      ...settings,
      credentials: vaultCredentials(holding) as BaseClientConfig["credentials"],
    };
  }
  // A role profile whose source's keys are in the vault: its roles are assumed with them.
  if (config.chain || (await hasSourceProfile(profile, env) && vaultInUse(env))) {
    const { chainCredentials, findVaultChain } = await import("./vault_chain.ts");
    const chain = config.chain ?? await findVaultChain(profile, env);
    if (chain !== undefined) {
      const credentials = chainCredentials(chain, {
        region: config.region,
        env,
        timeoutMs: timeout,
        requestHandler,
        logger,
        mfaCodeProvider: config.mfaCodeProvider,
        master: config.chainMaster,
      });
      return { ...settings, credentials: credentials as BaseClientConfig["credentials"] };
    }
  }
  // A profile whose credentials are only keys in the shared files: known without the chain.
  const fromProfile = config.chain ? undefined : await profileKeys(profile, env);
  if (fromProfile !== undefined) {
    return { ...settings, credentials: fromProfile as BaseClientConfig["credentials"] };
  }
  const { fromNodeProviderChain } = await credentialProvidersModule();
  return {
    ...settings,
    credentials: fromNodeProviderChain({
      profile,
      logger,
      // The chain's own clients (role_arn profiles, SSO) time out the same way, and send to the
      // named profile's endpoint, not [default]'s (profile_endpoint.ts).
      ...await chainClientSettings(profile, {
        env,
        region: config.region,
        requestHandler,
        logger,
      }),
      // A role_arn profile with mfa_serial: the SDK asks this for the code (flag, env, prompt).
      mfaCodeProvider: config.mfaCodeProvider,
    }),
  };
}

/**
 * The endpoint settings of a named profile's client (`profile_endpoint.ts`): its own
 * `endpoint_url`, never `[default]`'s. With no profile named the SDK decides, as before, once
 * `[default]`'s URL is checked as a named profile's is.
 */
async function endpointOf(
  config: { profile?: string; service?: "sts" | "iam" },
  env: Readonly<Record<string, string>>,
): Promise<ProfileEndpointConfig | undefined> {
  const profile = resolveProfile(config.profile, env).name;
  const { profileEndpointConfig } = await import("./profile_endpoint.ts");
  const settings = await profileEndpointConfig(config.service ?? "sts", {
    profile: profile ?? "default",
    env,
  });
  return profile === undefined ? undefined : settings;
}

/**
 * The settings of the SDK's credential chain for its inner clients: `clientConfig` (the timeouts)
 * with the named profile's endpoint (`chainEndpointConfig`), and role assumers for its
 * AssumeRole calls, in the grant's region, at the profile's STS endpoint when it differs from the
 * other clients' (an SSO source). The region goes to the role assumers only: the SDK's SSO client
 * takes a `clientConfig` region over the profile's `sso_region`, and asked another region's portal
 * for the role credentials.
 */
async function chainClientSettings(
  flag: string | undefined,
  options: {
    env: Readonly<Record<string, string>>;
    region: string;
    requestHandler: BaseClientConfig["requestHandler"];
    logger: BaseClientConfig["logger"];
  },
): Promise<ChainClientSettings> {
  const { env, region, requestHandler, logger } = options;
  const profile = resolveProfile(flag, env).name;
  const { chainEndpointConfig } = await import("./profile_endpoint.ts");
  const { shared, sts, usesSts } = await chainEndpointConfig(profile, env);
  const clientConfig = { requestHandler, ...shared };
  if (!usesSts) return { clientConfig };
  const { getDefaultRoleAssumer, getDefaultRoleAssumerWithWebIdentity } = await stsModule();
  // The SDK's own role assumers (their options go into the STS client's configuration as they
  // are, as clientConfig's do).
  const stsOptions = {
    region,
    requestHandler,
    logger,
    ...(profile === undefined ? {} : { profile }),
    ...(sts ?? shared),
  } as Parameters<typeof getDefaultRoleAssumer>[0];
  return {
    clientConfig,
    roleAssumer: getDefaultRoleAssumer(stsOptions),
    roleAssumerWithWebIdentity: getDefaultRoleAssumerWithWebIdentity(stsOptions),
  };
}

/** What {@linkcode chainClientSettings} gives the SDK's credential chain. */
interface ChainClientSettings {
  clientConfig: Record<string, unknown>;
  roleAssumer?: ReturnType<StsModule["getDefaultRoleAssumer"]>;
  roleAssumerWithWebIdentity?: ReturnType<StsModule["getDefaultRoleAssumerWithWebIdentity"]>;
}

/**
 * Whether the profile (as {@linkcode resolveProfile} decides it) assumes its `role_arn` with a
 * `source_profile`'s credentials, read with the SDK's own loader and merged as its credential
 * providers merge the two files ({@linkcode credentialSettingsOf}). Keys in the environment with
 * no profile named make no profile's settings apply.
 */
async function hasSourceProfile(
  profile: string | undefined,
  env: Readonly<Record<string, string>>,
): Promise<boolean> {
  if (usesEnvironmentKeys(profile, env)) return false;
  const { loadSharedConfigFiles } = await smithyConfigModule();
  const files = await loadSharedConfigFiles();
  const name = profileLabel(resolveProfile(profile, env));
  const entry = credentialSettingsOf(files, name);
  return Boolean(entry.role_arn && entry.source_profile);
}

/**
 * Creates an STS client over the base credentials (see {@linkcode baseClientConfig}), or over
 * `credentials` when given (a cached MFA session), its calls bounded by the timeout.
 */
export async function createStsClient(
  config: {
    region: string;
    profile?: string;
    credentials?: NonNullable<import("@aws-sdk/client-sts").STSClientConfig["credentials"]>;
    /** The whole call's timeout (`TIMEBOUND_IAM_TIMEOUT`, see {@linkcode awsTimeoutMs}). */
    timeoutMs?: number;
    /** The environment (default: the process's). */
    env?: Readonly<Record<string, string>>;
  },
): Promise<STSClient> {
  const [{ STSClient }, settings] = await Promise.all([
    stsModule(),
    baseClientConfig(config),
  ]);
  const client = new STSClient({
    ...settings,
    credentials: config.credentials ?? settings.credentials,
  });
  addCallDeadline(client, config.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  return client;
}

/**
 * Creates an IAM client over the AWS SDK's default provider chain (or `profile`), or over
 * `credentials` when given (a cached MFA session), as the broker does for STS. It follows
 * `AWS_ENDPOINT_URL_IAM`.
 */
export async function createIamClient(
  config: {
    region: string;
    profile?: string;
    credentials?: NonNullable<import("@aws-sdk/client-iam").IAMClientConfig["credentials"]>;
    /** Each request's timeout (`TIMEBOUND_IAM_TIMEOUT`, see {@linkcode awsTimeoutMs}). */
    timeoutMs?: number;
  },
): Promise<IAMClient> {
  const [{ IAMClient }, settings] = await Promise.all([
    iamModule(),
    baseClientConfig({ ...config, service: "iam" }),
  ]);
  const client = new IAMClient({
    ...settings,
    credentials: config.credentials ?? settings.credentials,
  });
  addCallDeadline(client, config.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  return client;
}

/** The base credentials as found, without their secrets. */
export interface FoundCredentials {
  /** The access key id (not a secret; `ASIA…` for temporary keys). */
  accessKeyId: string;
  /** Where they came from, for a person. */
  source: string;
  /** When they expire, for temporary ones. */
  expiration?: Date;
}

const SOURCES: ReadonlyArray<[RegExp, (profile: string) => string]> = [
  [
    new RegExp(`^${VAULT_SOURCE_MARK}$`),
    (p) => `profile "${p}" (keys in the timebound-iam vault)`,
  ],
  [
    /^CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN$/,
    () => "a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)",
  ],
  [/^CREDENTIALS_ENV_VARS$/, () => "environment variables (AWS_ACCESS_KEY_ID)"],
  [/SSO/, (p) => `profile "${p}" through IAM Identity Center (SSO)`],
  [/PROCESS/, (p) => `profile "${p}" through credential_process`],
  [/LOGIN/, (p) => `profile "${p}" through aws login`],
  [/WEB_ID/, (p) => `profile "${p}" through a web identity token`],
  [/SOURCE_PROFILE|STS_ASSUME_ROLE/, (p) => `profile "${p}" assuming its role_arn`],
  [/^CREDENTIALS_PROFILE$/, (p) => `profile "${p}" (keys in the shared credentials file)`],
  [/^CREDENTIALS_HTTP$/, () => "the container credentials endpoint (ECS, EKS)"],
  [/^CREDENTIALS_IMDS$/, () => "the EC2 instance role (instance metadata)"],
];

/**
 * Names the credential source from the SDK's `$source` marks; the most specific mark wins
 * (a role_arn profile carries both the profile and the assume-role marks).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeCredentialSource } from "./credential_source.ts";
 * const text = describeCredentialSource({ CREDENTIALS_ENV_VARS: "g" }, "default");
 * assert.equal(text, "environment variables (AWS_ACCESS_KEY_ID)");
 * ```
 */
export function describeCredentialSource(
  marks: Readonly<Record<string, unknown>> | undefined,
  profile: string,
): string {
  const source = marks?.[VAULT_CHAIN_MARK];
  if (typeof source === "string") {
    return `profile "${profile}" assuming its role_arn with the keys of profile "${source}" ` +
      "in the timebound-iam vault";
  }
  const keys = Object.keys(marks ?? {});
  for (const [pattern, describe] of SOURCES) {
    if (keys.some((key) => pattern.test(key))) return describe(profile);
  }
  return "the AWS SDK's default credential chain";
}

/**
 * Resolves the base credentials through the SDK's provider chain (for `profile`, or the default
 * chain) and says where they came from. Failures come back explained.
 */
export async function findBaseCredentials(
  options: { profile?: string; region: string; env: Readonly<Record<string, string>> },
): Promise<FoundCredentials> {
  const choice = resolveProfile(options.profile, options.env);
  const { credentials: provider } = await baseClientConfig({
    ...options,
    profile: choice.name,
    timeoutMs: awsTimeoutMs(options.env),
  });
  let credentials;
  try {
    credentials = await provider();
  } catch (error) {
    throw await explainAwsError(error, { operation: "GetCallerIdentity", profile: choice.name });
  }
  const profile = profileLabel(choice);
  const marks = (credentials as { $source?: Record<string, unknown> }).$source;
  return {
    accessKeyId: credentials.accessKeyId,
    source: describeCredentialSource(marks, profile),
    expiration: credentials.expiration,
  };
}

/** The settings through which a profile of the shared config file supplies credentials. */
const CREDENTIAL_SETTINGS = ["aws_access_key_id", "role_arn", ...OTHER_CREDENTIAL_SOURCES];

/**
 * Whether the shared config file's `default` profile supplies credentials (keys, a role, a
 * process, SSO): the SDKs would then use it before a container endpoint. Read through the SDK's
 * own loader.
 */
export async function defaultProfileHoldsCredentials(): Promise<boolean> {
  const { loadSharedConfigFiles } = await smithyConfigModule();
  const files = await loadSharedConfigFiles({ ignoreCache: true });
  const profile = files.configFile?.default ?? {};
  return CREDENTIAL_SETTINGS.some((name) => profile[name] !== undefined);
}

/**
 * The `credential_process` line of a profile in the shared config or credentials file, read
 * through the SDK's own loader (`~/.aws/credentials`' over `~/.aws/config`'s, as the SDK takes
 * it); `undefined` when it has none.
 */
export async function profileCredentialProcess(profile: string): Promise<string | undefined> {
  const { loadSharedConfigFiles } = await smithyConfigModule();
  const files = await loadSharedConfigFiles({ ignoreCache: true });
  return credentialSettingsOf(files, profile).credential_process;
}
