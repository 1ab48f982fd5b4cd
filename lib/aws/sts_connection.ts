/**
 * The broker's connection to STS: the base credentials, `GetCallerIdentity` and `AssumeRole`,
 * through one of two ways. When the keys are known without the AWS SDK (the environment's, a
 * profile's plain keys in the shared files, the vault's, a cached MFA session: `known_keys.ts`)
 * and the endpoint is one that needs none of the SDK's rules (a configured endpoint URL, or AWS's
 * own regional endpoint of a commercial region with no FIPS, dual-stack, legacy global endpoint,
 * retry or proxy setting), the calls are signed here (`sts_query.ts`) and the SDK is never
 * loaded. Everything else (SSO, a `credential_process`, a `role_arn` profile, instance roles, any
 * of those settings) goes through the SDK's client, as it always did.
 *
 * @module
 */

import type {
  AssumeRoleCommandInput,
  AssumeRoleCommandOutput,
  STSClient,
} from "@aws-sdk/client-sts";
import type { ClientCredentials } from "./base_credentials.ts";
import { baseClientConfig } from "./credential_source.ts";
import { environmentKeys, type KnownKeys, knownKeysOf } from "./known_keys.ts";
import { smithyConfigModule, stsModule } from "./sdk.ts";
import { element, isHeaderSafe, stsQuery, text } from "./sts_query.ts";
import { addCallDeadline, DEFAULT_TIMEOUT_MS } from "./timeout.ts";
import { profileLabel, resolveProfile } from "./profile.ts";

/** What an AssumeRole of the broker sends. */
export type AssumeRoleInput = Pick<
  AssumeRoleCommandInput,
  "RoleArn" | "RoleSessionName" | "DurationSeconds" | "Policy" | "SourceIdentity" | "Tags"
>;

/** What an AssumeRole of the broker answers (the fields read). */
export type AssumeRoleOutput = Pick<
  AssumeRoleCommandOutput,
  "Credentials" | "AssumedRoleUser" | "PackedPolicySize" | "SourceIdentity"
>;

/** The broker's calls to STS, signed with the base credentials. */
export interface StsConnection {
  /** The base credentials (resolved once; a provider's are memoized). */
  credentials(): Promise<KnownKeys>;
  /** `sts:GetCallerIdentity`. */
  getCallerIdentity(): Promise<{ Arn?: string; Account?: string }>;
  /** `sts:AssumeRole`; `abortSignal` abandons the call. */
  assumeRole(input: AssumeRoleInput, options?: { abortSignal?: AbortSignal }): Promise<
    AssumeRoleOutput
  >;
  /** Releases the connection; calls fail after. */
  destroy(): void;
}

/** How a connection is made. */
export interface StsConnectionConfig {
  /** The region. */
  region: string;
  /** The profile (`undefined`: the SDK's default chain). */
  profile?: string;
  /** The base credentials, when decided already. */
  credentials?: ClientCredentials;
  /** The bound of each call, retries included. */
  timeoutMs?: number;
  /** The environment. */
  env: Readonly<Record<string, string>>;
}

/** Makes the SDK's STS client for a connection (tests hand in their own). */
export type CreateStsClient = (config: {
  region: string;
  profile?: string;
  credentials?: ClientCredentials;
  timeoutMs?: number;
}) => Promise<STSClient>;

/**
 * Connects to STS (see the module's description): signed here when the keys and the endpoint
 * allow it, else through the SDK's client, made by `createClient` when given (tests).
 */
export async function openStsConnection(
  config: StsConnectionConfig,
  createClient?: CreateStsClient,
): Promise<StsConnection> {
  const known = createClient
    ? undefined
    : knownKeysOf(config.credentials ?? environmentKeys(config.profile, config.env));
  // Keys a header cannot carry go to the SDK, whose error names the header, not the value.
  const keys = known && [known.accessKeyId, known.sessionToken ?? "x", config.region]
      .every(isHeaderSafe)
    ? known
    : undefined;
  const endpoint = keys && await directEndpoint(config);
  if (keys && endpoint) {
    return queryConnection(keys, {
      endpoint,
      region: config.region,
      timeoutMs: config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
  }
  return sdkConnection(await (createClient ?? createStsClient)(config));
}

/** Variables with which the SDK's endpoint rules, retries or HTTP agent differ from the plain. */
const SDK_VARIABLES = [
  "AWS_USE_FIPS_ENDPOINT",
  "AWS_USE_DUALSTACK_ENDPOINT",
  "AWS_STS_REGIONAL_ENDPOINTS",
  "AWS_MAX_ATTEMPTS",
  "AWS_RETRY_MODE",
  "AWS_SDK_UA_APP_ID",
  // The SDK reads it as exactly "true" or "false", and with it a profile's setting too.
  "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
  // The runtime's fetch follows them; the SDK's HTTP client, as run here, does not.
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "http_proxy",
  "https_proxy",
  "all_proxy",
];

/** The same settings in a profile of the shared config file. */
const SDK_SETTINGS = [
  "ignore_configured_endpoint_urls",
  "use_fips_endpoint",
  "use_dualstack_endpoint",
  "sts_regional_endpoints",
  "max_attempts",
  "retry_mode",
  "sdk_ua_app_id",
];

/** A region of AWS's commercial partition, whose STS endpoint is `sts.<region>.amazonaws.com`. */
const COMMERCIAL_REGION = /^(?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]{4,10}-\d{1,2}$/;

/**
 * The STS endpoint the SDK would send to, when it is one to sign for here: a configured endpoint
 * URL (a variable or the profile's), or AWS's own for a commercial region; `undefined` when any
 * setting makes the SDK's rules matter.
 */
async function directEndpoint(config: StsConnectionConfig): Promise<string | undefined> {
  const { env } = config;
  if (SDK_VARIABLES.some((name) => env[name] !== undefined)) return undefined;
  // The profile's settings, and those of the profiles where the SDK also looks for endpoint
  // settings (`AWS_PROFILE`'s, `[default]`).
  const { loadSharedConfigFiles } = await smithyConfigModule();
  const files = await loadSharedConfigFiles();
  const names = [profileLabel(resolveProfile(config.profile, env)), env.AWS_PROFILE, "default"];
  const settings = names.filter((name) => name !== undefined && name !== "").map((name) => ({
    ...files.credentialsFile?.[name!],
    ...files.configFile?.[name!],
  }));
  if (settings.some((s) => SDK_SETTINGS.some((setting) => s[setting] !== undefined))) {
    return undefined;
  }
  // A bad endpoint setting is refused here, before the first request: a grant from a cached MFA
  // session makes no SDK client, where it would be refused.
  const { stsEndpoint } = await import("./profile_endpoint.ts");
  const inUse = await stsEndpoint(config.region, { profile: config.profile, env });
  if (inUse.setting) return fetchable(inUse.url);
  if (!COMMERCIAL_REGION.test(config.region) || config.region.startsWith("us-gov-")) {
    return undefined;
  }
  return `https://sts.${config.region}.amazonaws.com`;
}

/**
 * Ports the runtime's `fetch` refuses to send to (the Fetch standard's "bad ports", as Deno
 * 2.9 blocks them); the SDK's HTTP client sends to any.
 */
const BAD_PORTS = new Set([
  0,
  1,
  7,
  9,
  11,
  13,
  15,
  17,
  19,
  20,
  21,
  22,
  23,
  25,
  37,
  42,
  43,
  53,
  69,
  77,
  79,
  87,
  95,
  101,
  102,
  103,
  104,
  109,
  110,
  111,
  113,
  115,
  117,
  119,
  123,
  135,
  137,
  139,
  143,
  161,
  179,
  389,
  427,
  465,
  512,
  513,
  514,
  515,
  526,
  530,
  531,
  532,
  540,
  548,
  554,
  556,
  563,
  587,
  601,
  636,
  989,
  990,
  993,
  995,
  1719,
  1720,
  1723,
  2049,
  3659,
  4045,
  4190,
  5060,
  5061,
  6000,
  6566,
  6665,
  6666,
  6667,
  6668,
  6669,
  6679,
  6697,
  10080,
]);

/**
 * A configured endpoint URL as `fetch` can send to it, or `undefined` for the SDK to take: one
 * with a user name or password (`fetch` refuses those; the SDK sends them as Basic
 * authentication), on a port `fetch` blocks, or that does not parse.
 */
function fetchable(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return undefined;
  }
  if (parsed.username || parsed.password || parsed.search || parsed.hash) return undefined;
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return undefined;
  if (parsed.port !== "" && BAD_PORTS.has(Number(parsed.port))) return undefined;
  return parsed.href;
}

/** A connection that signs its own requests with `keys`. */
function queryConnection(
  keys: KnownKeys,
  options: { endpoint: string; region: string; timeoutMs: number },
): StsConnection {
  const sts = stsQuery({ ...options, keys });
  let destroyed = false;
  const call = (action: string, params: [string, string][], signal?: AbortSignal) => {
    if (destroyed) return Promise.reject(new Error("The STS connection is closed"));
    return sts.call(action, params, signal);
  };
  return {
    credentials: () => Promise.resolve(keys),
    async getCallerIdentity() {
      const result = await call("GetCallerIdentity", []);
      return { Arn: text(result, "Arn"), Account: text(result, "Account") };
    },
    async assumeRole(input, options) {
      const result = await call("AssumeRole", assumeRoleParams(input), options?.abortSignal);
      return assumeRoleOutput(result);
    },
    destroy() {
      destroyed = true;
    },
  };
}

/** AssumeRole's parameters as the query protocol names them. */
function assumeRoleParams(input: AssumeRoleInput): [string, string][] {
  const params: [string, string][] = [
    ["RoleArn", input.RoleArn ?? ""],
    ["RoleSessionName", input.RoleSessionName ?? ""],
  ];
  if (input.DurationSeconds !== undefined) {
    params.push(["DurationSeconds", String(input.DurationSeconds)]);
  }
  if (input.Policy !== undefined) params.push(["Policy", input.Policy]);
  if (input.SourceIdentity !== undefined) params.push(["SourceIdentity", input.SourceIdentity]);
  (input.Tags ?? []).forEach((tag, i) => {
    params.push([`Tags.member.${i + 1}.Key`, tag.Key ?? ""]);
    params.push([`Tags.member.${i + 1}.Value`, tag.Value ?? ""]);
  });
  return params;
}

/** The fields of an `<AssumeRoleResult>` a grant reads. */
function assumeRoleOutput(result: string): AssumeRoleOutput {
  const credentials = element(result, "Credentials") ?? "";
  const expiration = text(credentials, "Expiration");
  const packed = text(result, "PackedPolicySize");
  // An Expiration that is not a time is none: the grant then has no credentials.
  const expires = expiration === undefined ? undefined : new Date(expiration);
  return {
    Credentials: {
      AccessKeyId: text(credentials, "AccessKeyId"),
      SecretAccessKey: text(credentials, "SecretAccessKey"),
      SessionToken: text(credentials, "SessionToken"),
      Expiration: expires && !Number.isNaN(expires.getTime()) ? expires : undefined,
    } as AssumeRoleOutput["Credentials"],
    AssumedRoleUser: {
      Arn: text(result, "Arn"),
      AssumedRoleId: text(result, "AssumedRoleId"),
    } as AssumeRoleOutput["AssumedRoleUser"],
    PackedPolicySize: packed === undefined ? undefined : Number(packed),
    SourceIdentity: text(result, "SourceIdentity"),
  };
}

/** A connection through the SDK's client. */
export function sdkConnection(client: STSClient): StsConnection {
  return {
    credentials: () => client.config.credentials(),
    async getCallerIdentity() {
      const { GetCallerIdentityCommand } = await stsModule();
      return await client.send(new GetCallerIdentityCommand({}));
    },
    async assumeRole(input, options) {
      const { AssumeRoleCommand } = await stsModule();
      return await client.send(new AssumeRoleCommand(input), options);
    },
    destroy: () => client.destroy(),
  };
}

/** The SDK's STS client over the base credentials, its calls bounded by the timeout. */
async function createStsClient(
  config: {
    region: string;
    profile?: string;
    credentials?: ClientCredentials;
    timeoutMs?: number;
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
