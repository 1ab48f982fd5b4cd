/**
 * The caller identity of base credentials, cached per access key id, so that a grant whose
 * broker role is known needs no `sts:GetCallerIdentity`: an access key never changes owner.
 * Kept in the cache store (`caller-identity` namespace: 0600 files in a verified 0700
 * directory). Nothing in it is secret: the key id, the caller's ARN and account.
 *
 * @module
 */

import { type CacheStore, openCacheStore } from "../core/cache_store.ts";

/** Who an access key belongs to, as `sts:GetCallerIdentity` said. */
export interface CallerIdentity {
  /** The caller's ARN (an IAM user, an assumed-role session, …). */
  arn: string;
  /** The account. */
  account: string;
}

/** How long the identity of a long-term key (`AKIA…`) is kept. */
const LONG_TERM_MS = 30 * 24 * 3600_000;
/** How long the identity of temporary keys without a known expiry is kept. */
const TEMPORARY_MS = 3600_000;

/** The identities of the access keys seen before. */
export interface CallerIdentityCache {
  /** The identity of `accessKeyId`, if it was seen before. */
  get(accessKeyId: string): Promise<CallerIdentity | undefined>;
  /**
   * Remembers the identity of `accessKeyId`: for 30 days for a long-term key, until the
   * credentials expire (1h if unknown) for temporary ones.
   */
  put(accessKeyId: string, identity: CallerIdentity, expiration?: Date): Promise<void>;
}

/** Opens the cache under the user's cache directory (`XDG_CACHE_HOME`, `~/.cache`, …). */
export function openCallerIdentityCache(
  env: Readonly<Record<string, string>>,
  options: { now?: () => Date } = {},
): CallerIdentityCache {
  const now = options.now ?? (() => new Date());
  const store: CacheStore<CallerIdentity> = openCacheStore("caller-identity", {
    env,
    now,
    isValue: (value): value is CallerIdentity =>
      typeof value === "object" && value !== null &&
      typeof (value as CallerIdentity).arn === "string" &&
      typeof (value as CallerIdentity).account === "string",
  });
  return {
    async get(accessKeyId) {
      return (await store.get(accessKeyId))?.value;
    },
    async put(accessKeyId, identity, expiration) {
      const longTerm = accessKeyId.startsWith("AKIA");
      const expiresAt = longTerm
        ? new Date(now().getTime() + LONG_TERM_MS)
        : expiration ?? new Date(now().getTime() + TEMPORARY_MS);
      await store.put(accessKeyId, identity, expiresAt);
    },
  };
}
