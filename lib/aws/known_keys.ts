/**
 * Base credentials known without the AWS SDK's provider chain: the environment's keys or a
 * profile's plain keys in the shared files (when the chain would take them), the vault's, a
 * cached MFA session. Their providers are marked here, so the broker can sign its own STS
 * requests with them (`sts_query.ts`) and a grant leaves the SDK unloaded.
 *
 * @module
 */

import {
  OTHER_CREDENTIAL_SOURCES,
  profileLabel,
  resolveProfile,
  usesEnvironmentKeys,
} from "./profile.ts";
import { smithyConfigModule } from "./sdk.ts";

/** Keys that sign a request: an access key id, its secret and, for a session, its token. */
export interface KnownKeys {
  /** The access key id. */
  accessKeyId: string;
  /** The secret access key. Never printed or logged. */
  secretAccessKey: string;
  /** The session token of temporary keys. Never printed or logged. */
  sessionToken?: string;
  /** When temporary keys expire. */
  expiration?: Date;
}

const marked = new WeakMap<object, KnownKeys>();

/**
 * A credential provider (as the SDK's clients take one) that answers `keys`, marked as known:
 * {@linkcode knownKeysOf} finds them again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { knownKeysOf, knownKeysProvider } from "./known_keys.ts";
 * const provider = knownKeysProvider({ accessKeyId: "AKID", secretAccessKey: "s" });
 * assert.equal((await provider()).accessKeyId, "AKID");
 * assert.equal(knownKeysOf(provider)?.accessKeyId, "AKID");
 * assert.equal(knownKeysOf(() => Promise.resolve({ accessKeyId: "x" })), undefined);
 * ```
 */
export function knownKeysProvider<T extends KnownKeys>(keys: T): () => Promise<T> {
  const provider = () => Promise.resolve(keys);
  marked.set(provider, keys);
  return provider;
}

/**
 * The keys that `credentials` (fixed keys, or a provider function) stand for, when they are
 * known without asking a provider of the SDK's chain; `undefined` otherwise.
 */
export function knownKeysOf(credentials: unknown): KnownKeys | undefined {
  if (typeof credentials === "function") return marked.get(credentials);
  const keys = credentials as Partial<KnownKeys> | null | undefined;
  return typeof keys?.accessKeyId === "string" && typeof keys.secretAccessKey === "string"
    ? keys as KnownKeys
    : undefined;
}

/** The mark the SDK's `fromEnv` puts on the credentials it returns (`doctor` names it). */
const ENVIRONMENT_SOURCE = "CREDENTIALS_ENV_VARS";

/**
 * The environment's keys as the SDK's chain would take them (no profile named, both
 * `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` set; `AWS_SESSION_TOKEN` and
 * `AWS_CREDENTIAL_EXPIRATION` with them), as a marked provider carrying the SDK's own source
 * mark; `undefined` when the chain would look elsewhere.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { environmentKeys, knownKeysOf } from "./known_keys.ts";
 * const env = { AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "s" };
 * assert.equal(knownKeysOf(environmentKeys(undefined, env))?.accessKeyId, "AKID");
 * assert.equal(environmentKeys("prod", env), undefined);
 * ```
 */
export function environmentKeys(
  profile: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): (() => Promise<KnownKeys & { $source: Record<string, string> }>) | undefined {
  if (!usesEnvironmentKeys(profile, env)) return undefined;
  const expiration = env.AWS_CREDENTIAL_EXPIRATION
    ? new Date(env.AWS_CREDENTIAL_EXPIRATION)
    : undefined;
  return knownKeysProvider({
    accessKeyId: env.AWS_ACCESS_KEY_ID!,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY!,
    ...env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {},
    ...expiration && !Number.isNaN(expiration.getTime()) ? { expiration } : {},
    $source: { [ENVIRONMENT_SOURCE]: "g" },
  });
}

/** The mark the SDK's `fromIni` puts on a profile's static keys (`doctor` names it). */
const PROFILE_SOURCE = "CREDENTIALS_PROFILE";

/** The settings that hold a profile's static keys. */
const KEY_SETTINGS = ["aws_access_key_id", "aws_secret_access_key", "aws_session_token"];

/**
 * Settings with which the SDK's `fromIni` makes a profile's credentials otherwise, or adds to its
 * keys (a scope, an account): `role_arn` wins over the keys; the others lose to them, but such a
 * profile is left to the SDK all the same.
 */
const NOT_ONLY_KEYS = [
  "role_arn",
  "source_profile",
  "aws_credential_scope",
  "aws_account_id",
  ...OTHER_CREDENTIAL_SOURCES,
];

/**
 * A profile's keys in the shared files as the SDK's chain would take them, as a marked provider
 * carrying the SDK's own source mark; `undefined` whenever the chain might take anything else.
 * They are taken only when: the environment holds neither `AWS_ACCESS_KEY_ID` nor
 * `AWS_SECRET_ACCESS_KEY` (with no profile named the SDK takes them first; with one, it warns
 * that a later version may); the profile is the one {@linkcode resolveProfile} decides (which
 * `baseClientConfig` hands the SDK's chain too, `AWS_DEFAULT_PROFILE`'s included); its settings,
 * read with the SDK's own loader and merged as its `parseKnownFiles` merges them, hold
 * `aws_access_key_id` and `aws_secret_access_key` (and maybe `aws_session_token`) in one of the
 * two files only, and none of {@linkcode NOT_ONLY_KEYS} nor any `sso_` setting.
 */
export async function profileKeys(
  profile: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Promise<(() => Promise<KnownKeys & { $source: Record<string, string> }>) | undefined> {
  if (env.AWS_ACCESS_KEY_ID || env.AWS_SECRET_ACCESS_KEY) return undefined;
  const name = profileLabel(resolveProfile(profile, env));
  const { loadSharedConfigFiles } = await smithyConfigModule();
  const files = await loadSharedConfigFiles();
  const inConfig = sectionOf(files.configFile, name);
  const inCredentials = sectionOf(files.credentialsFile, name);
  const holdsKeys = (section: Record<string, unknown>) =>
    KEY_SETTINGS.some((setting) => Object.hasOwn(section, setting));
  // The SDK takes each setting from the credentials file over the config file's: a profile
  // whose keys are in both is left to it.
  if (holdsKeys(inConfig) && holdsKeys(inCredentials)) return undefined;
  const settings: Record<string, unknown> = { ...inConfig, ...inCredentials };
  // A setting's name before a dot: the loader names a value under an empty one `setting.sub`.
  const other = Object.keys(settings).map((setting) => setting.split(".")[0]).some((setting) =>
    NOT_ONLY_KEYS.includes(setting) || setting.startsWith("sso_")
  );
  const { aws_access_key_id: id, aws_secret_access_key: secret, aws_session_token: token } =
    settings;
  if (other || !nonEmpty(id) || !nonEmpty(secret) || !(token === undefined || nonEmpty(token))) {
    return undefined;
  }
  return knownKeysProvider({
    accessKeyId: id,
    secretAccessKey: secret,
    ...token === undefined ? {} : { sessionToken: token },
    $source: { [PROFILE_SOURCE]: "n" },
  });
}

/** A profile's own section of a parsed file (never one an object inherits), or none. */
function sectionOf(
  file: Record<string, Record<string, string | undefined>> | undefined,
  name: string,
): Record<string, unknown> {
  return file !== undefined && Object.hasOwn(file, name) ? { ...file[name] } : {};
}

function nonEmpty(value: unknown): value is string {
  return typeof value === "string" && value !== "";
}
