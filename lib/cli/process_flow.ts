/**
 * The story of `credential-process`: credentials for a `credential_process` line, from the
 * cache while they have more than five minutes left (half their lifetime, for short ones), else
 * from a new grant that never asks anything, since no terminal is there.
 *
 * @module
 */

import type { SessionCredentials } from "../aws/broker.ts";
import { profileCredentialProcess } from "../aws/credential_source.ts";
import { resolveProfile, usesEnvironmentKeys } from "../aws/profile.ts";
import { credentialSettings } from "../aws/role_chain.ts";
import { smithyConfigModule } from "../aws/sdk.ts";
import { type CacheStore, openCacheStore } from "../core/cache_store.ts";
import { type VaultHolding, vaultHolding } from "../aws/vault_keys.ts";
import { openVaultCache } from "../vault/vault_cache.ts";
import { vaultInUse } from "../vault/vault_place.ts";
import { RuntimeError, UsageError } from "../core/errors.ts";
import { MfaCodeNeeded, readProfileMfa } from "../aws/base_credentials.ts";
import { renewalTime } from "../delivery/credential_server.ts";
import { configProfileName } from "../grant/config_file.ts";
import { type GrantSettings, resolveGrantSettings } from "../grant/settings.ts";
import type { Cli, GrantOptionValues } from "./options.ts";
import { type GrantFlags, obtainGrant } from "./grant_flow.ts";

/** The cache namespace of `credential-process` output. */
export const PROCESS_CACHE = "credential-process";
/**
 * Set in the environment of the SDK's own credential processes while `credential-process`
 * looks for base credentials: if it finds itself there, a profile runs it for its own base
 * credentials, which would fork without end.
 */
export const NESTED_MARKER = "TIMEBOUND_IAM_IN_CREDENTIAL_PROCESS";
/**
 * How long a call waits for another that is making the same grant: longer than a grant takes
 * (a few STS requests, each with its own timeout), so a hung holder delays, never blocks.
 */
export const LOCK_WAIT_MS = 30_000;

/** What the cache holds for one key: the credentials, with the expiry as text. */
interface CachedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: string;
}

function isCachedCredentials(value: unknown): value is CachedCredentials {
  const v = value as Record<string, unknown> | null;
  return typeof v === "object" && v !== null &&
    ["accessKeyId", "secretAccessKey", "sessionToken", "expiration"].every((name) =>
      typeof v[name] === "string" && (v[name] as string).length > 0
    ) && !Number.isNaN(Date.parse(v.expiration as string));
}

/**
 * The cache key of a request: whose base credentials (the profile and the files it is read from,
 * what the profile's chain of roles says in them — each role, its source, the keys' id, the
 * endpoint — and the id of the vault's keys that start it; or the keys, web identity or container
 * endpoint the environment gives), the broker role, the region, the scopes (sorted, as given),
 * the TTL and the MFA device, so that two calls that differ in any of them never share
 * credentials: two CI jobs with different keys in their environment get their own sessions, each
 * naming its own caller in CloudTrail, and an edit of `~/.aws/config` is a new grant at once.
 */
export async function processCacheKey(
  flags: GrantOptionValues & { mfaSerial?: string },
  env: Readonly<Record<string, string>>,
  options: {
    settings?: GrantSettings;
    /** The access key id of the vault's keys the grant starts from, if any. */
    vaultKeyId?: string;
  } = {},
): Promise<string> {
  const settings = options.settings ?? await resolveGrantSettings(flags, env);
  const scopes = flags.scope.flatMap((value) => value.split(","))
    .map((scope) => scope.trim()).filter(Boolean).sort();
  return JSON.stringify({
    profile: configProfileName(flags.profile, env),
    base: baseCredentialsOf(flags.profile, env),
    chain: await profileChainOf(flags.profile, env),
    vaultKeyId: options.vaultKeyId ?? "",
    roleArn: settings.roleArn ?? "",
    region: settings.region ?? "",
    scopes,
    ttl: flags.ttl ?? "",
    // The flag, else the config file's device for the profile: it decides the MFA session.
    mfaSerial: settings.mfaSerial ?? flags.mfaSerial ?? "",
  });
}

/**
 * What, besides a profile's name, tells whose base credentials a grant would use, read from the
 * environment alone (a cache hit loads no SDK): the shared files' paths, and without a profile
 * the environment's access key id (not a secret), web identity role or container endpoint,
 * which the SDK's chain takes before any file.
 */
function baseCredentialsOf(
  profile: string | undefined,
  env: Readonly<Record<string, string>>,
): string[] {
  const files = [env.AWS_CONFIG_FILE ?? "", env.AWS_SHARED_CREDENTIALS_FILE ?? ""];
  if (usesEnvironmentKeys(profile, env)) return [...files, `keys ${env.AWS_ACCESS_KEY_ID}`];
  if (resolveProfile(profile, env).name !== undefined) return files;
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE) {
    return [...files, `web identity ${env.AWS_ROLE_ARN ?? ""} ${env.AWS_WEB_IDENTITY_TOKEN_FILE}`];
  }
  const container = env.AWS_CONTAINER_CREDENTIALS_FULL_URI ??
    env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
  return container ? [...files, `container ${container}`] : files;
}

/**
 * The settings of the profile's chain that its credentials depend on (see
 * `credentialSettings`), read with the SDK's loader; none for keys in the environment with no
 * profile named, which use no profile.
 */
async function profileChainOf(
  profile: string | undefined,
  env: Readonly<Record<string, string>>,
): Promise<string[][]> {
  if (usesEnvironmentKeys(profile, env)) return [];
  const { loadSharedConfigFiles } = await smithyConfigModule();
  return credentialSettings(await loadSharedConfigFiles(), configProfileName(profile, env));
}

/**
 * Returns the credentials for `flags`: the cached ones while they are fresh, else a new grant
 * (without summary or question), which replaces the cache entry. A corrupt or foreign cache
 * entry counts as missing.
 */
export async function obtainProcessCredentials(
  cli: Cli,
  flags: Omit<GrantFlags, "confirm" | "dryRun">,
  options: {
    store?: CacheStore<CachedCredentials>;
    markNested?: () => void;
    lockWaitMs?: number;
  } = {},
): Promise<SessionCredentials> {
  const profile = configProfileName(flags.profile, cli.io.env);
  const line = await profileCredentialProcess(profile);
  if (line !== undefined && /\bcredential-process\b/.test(line) && /timebound-iam/.test(line)) {
    throw new UsageError(
      `Profile "${profile}" cannot hold the base credentials of credential-process: its ` +
        "credential_process runs timebound-iam credential-process itself",
      {
        hint: "name the profile with the base credentials in the credential_process line " +
          "(--profile NAME), and do not export AWS_PROFILE naming the timebound-iam profile",
      },
    );
  }
  if (cli.io.env[NESTED_MARKER]) {
    throw new UsageError(
      "credential-process was started to find its own base credentials: the profile it " +
        "uses runs timebound-iam credential-process itself",
      {
        hint: "name the profile with the base credentials in the credential_process line " +
          "(--profile NAME), and do not export AWS_PROFILE naming the timebound-iam profile",
      },
    );
  }
  const files = openCacheStore<CachedCredentials>(PROCESS_CACHE, {
    env: cli.io.env,
    now: cli.now,
    isValue: isCachedCredentials,
  });
  // A profile whose keys, or whose source profile's keys, are in the vault keeps its cached
  // credentials there too.
  const holding = await vaultHolding(flags.profile, { env: cli.io.env }) ??
    await chainHolding(flags.profile, cli.io.env);
  const store = options.store ?? (holding
    ? openVaultCache(holding.vault.backend, PROCESS_CACHE, {
      locks: files,
      now: cli.now,
      isValue: isCachedCredentials,
    })
    : files);
  const settings = await resolveGrantSettings(flags, cli.io.env);
  const key = await processCacheKey(flags, cli.io.env, {
    settings,
    vaultKeyId: holding?.keys.accessKeyId,
  });
  const cached = async () => {
    const entry = await store.get(key);
    return entry && { ...entry.value, expiration: new Date(entry.value.expiration) };
  };
  const found = await cached();
  if (found) return found;
  // An AWS tool run in parallel starts many of us at once: one grant between them. The first
  // makes it; the others wait for the lock and find it in the cache.
  const release = await store.lock(key, options.lockWaitMs ?? LOCK_WAIT_MS);
  try {
    const filled = await cached();
    if (filled) return filled;
    options.markNested?.();
    let grant;
    try {
      grant = await obtainGrant(cli, { ...flags, confirm: false, dryRun: false }, {
        prompt: false,
        settings,
      });
    } catch (error) {
      if (!(error instanceof MfaCodeNeeded)) throw error;
      throw new RuntimeError(
        `An MFA code for ${error.serial} is needed, and credential-process never asks for one`,
        { hint: "run timebound-iam mfa login first: its cached MFA session is used until it ends" },
      );
    }
    const credentials = grant!.credentials;
    await store.put(key, {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
      expiration: credentials.expiration.toISOString(),
    }, renewalTime(cli.now(), credentials.expiration));
    return credentials;
  } finally {
    release();
  }
}

/** The vault holding the keys of a role profile's source (`vault_chain.ts`), if it has one. */
async function chainHolding(
  profile: string | undefined,
  env: Readonly<Record<string, string>>,
): Promise<VaultHolding | undefined> {
  if (!vaultInUse(env) || !(await readProfileMfa(profile, env)).assumesRole) return undefined;
  const { findVaultChain } = await import("../aws/vault_chain.ts");
  return (await findVaultChain(profile, env))?.holding;
}
