/**
 * The cache store (`lib/core/cache_store.ts`'s interface) kept in the vault: cached MFA sessions
 * and `credential-process` entries are secrets too, so when the keys they were made from are in
 * the vault, they go to the same backend, as `cache/<namespace>/<sha256 of the key>` items. The
 * locks (empty files, no secret) stay beside the file cache, whose directory the caller gives.
 *
 * @module
 */

import type { CacheListing, CacheStore } from "../core/cache_store.ts";
import { digest } from "../core/cache_store.ts";
import type { VaultBackend } from "./backend.ts";

/** Options of {@linkcode openVaultCache}. */
export interface VaultCacheOptions<T> {
  /** The file store of the same namespace: only its `lock` is used. */
  locks: Pick<CacheStore<T>, "lock">;
  /** The clock. */
  now?: () => Date;
  /** Checks a value read back; one that fails counts as missing (and is removed). */
  isValue?: (value: unknown) => value is T;
}

/** Opens the cache `namespace` in the vault `backend`. */
export function openVaultCache<T>(
  backend: VaultBackend,
  namespace: string,
  options: VaultCacheOptions<T>,
): CacheStore<T> {
  const prefix = `cache/${namespace}/`;
  const now = options.now ?? (() => new Date());
  const isValue = options.isValue ?? ((_: unknown): _ is T => true);
  const nameOf = async (key: string) => prefix + await digest(key);

  const live = async (name: string) => {
    const text = await backend.get(name);
    if (text === undefined) return undefined;
    const entry = parse(text);
    if (entry === undefined || now() >= entry.expiresAt || !isValue(entry.value)) {
      await backend.delete(name);
      return undefined;
    }
    return entry;
  };

  return {
    async get(key) {
      const entry = await live(await nameOf(key));
      return entry?.key === key
        ? { value: entry.value as T, expiresAt: entry.expiresAt }
        : undefined;
    },
    async put(key, value, expiresAt) {
      const text = JSON.stringify({ key, expiresAt: expiresAt.toISOString(), value });
      await backend.set(await nameOf(key), text);
    },
    async delete(key) {
      return await backend.delete(await nameOf(key));
    },
    lock: (key, waitMs) => options.locks.lock(key, waitMs),
    async list() {
      const listings: CacheListing[] = [];
      for (const name of await backend.list(prefix)) {
        const entry = await live(name);
        if (entry !== undefined) listings.push({ key: entry.key, expiresAt: entry.expiresAt });
      }
      return listings.sort((a, b) => a.key.localeCompare(b.key));
    },
  };
}

function parse(text: string): { key: string; expiresAt: Date; value: unknown } | undefined {
  try {
    const raw = JSON.parse(text);
    const expiresAt = new Date(raw?.expiresAt);
    if (typeof raw?.key !== "string" || Number.isNaN(expiresAt.getTime())) return undefined;
    return { key: raw.key, expiresAt, value: raw.value };
  } catch {
    return undefined;
  }
}
