/**
 * Base credentials known without the AWS SDK's provider chain: the environment's keys (when the
 * chain would take them), the vault's, a cached MFA session. Their providers are marked here, so
 * the broker can sign its own STS requests with them (`sts_query.ts`) and a grant leaves the
 * SDK unloaded.
 *
 * @module
 */

import { usesEnvironmentKeys } from "./profile.ts";

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
