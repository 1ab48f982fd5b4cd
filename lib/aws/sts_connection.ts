/**
 * The broker's connection to STS: the base credentials, `GetCallerIdentity` and `AssumeRole`,
 * through one of two ways. When the keys are known without the AWS SDK (the environment's, a
 * profile's plain keys in the shared files, the vault's, a cached MFA session: `known_keys.ts`)
 * and the endpoint is one that needs none of the SDK's rules (a configured endpoint URL, or AWS's
 * own regional endpoint of a commercial region with no FIPS, dual-stack, legacy global endpoint,
 * retry or proxy setting), the calls are signed here (`sts_query.ts`) and the SDK is never
 * loaded (`direct_endpoint.ts` decides where). Everything else (SSO, a `credential_process`, a
 * `role_arn` profile, instance roles, any of those settings) goes through the SDK's client, as it
 * always did.
 *
 * @module
 */

import type {
  AssumeRoleCommandInput,
  AssumeRoleCommandOutput,
  STSClient,
} from "@aws-sdk/client-sts";
import type { ClientCredentials } from "./base_credentials.ts";
import { createStsClient } from "./credential_source.ts";
import { environmentKeys, type KnownKeys, knownKeysOf } from "./known_keys.ts";
import { stsModule } from "./sdk.ts";
import { directEndpoint } from "./direct_endpoint.ts";
import { element, isHeaderSafe, stsQuery, text } from "./sts_query.ts";
import { DEFAULT_TIMEOUT_MS } from "./timeout.ts";

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
