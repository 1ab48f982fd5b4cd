/**
 * The cache store: small JSON entries that expire (cached MFA sessions, `credential-process`
 * output, caller identities), kept under `$XDG_CACHE_HOME/timebound-iam/<namespace>/` behind an
 * interface of four verbs, so that an OS keychain can replace the files later without any caller
 * changing.
 *
 * The files follow the hostile-directory rules of `private_dir.ts`, like the env files: the cache
 * directory and each namespace directory are private (created 0700, or verified: a real
 * directory owned by this user that others cannot write, every directory above it checked too),
 * every entry is a 0600 file written to a fresh temporary name and renamed into place (so a
 * reader never sees half an entry), and a symlink, FIFO or another user's file in its place is
 * refused with one line, never followed.
 *
 * On Windows the mode and owner checks do not apply (the directory lives under the user's own
 * `%LOCALAPPDATA%`); on macOS the directory is `~/Library/Caches/timebound-iam`. Both are
 * untested here.
 *
 * @module
 */

import { posix, win32 } from "node:path";
import { RuntimeError } from "./errors.ts";
import { openPrivateDir, type PrivateDir } from "./private_dir.ts";

/** One cached value and when it stops being worth anything. */
export interface CacheEntry<T> {
  /** The value, as put. */
  value: T;
  /** When the entry expires; {@linkcode CacheStore.get} returns nothing from then on. */
  expiresAt: Date;
}

/** What {@linkcode CacheStore.list} tells about an entry: never its value. */
export interface CacheListing {
  /** The key the entry was put under. */
  key: string;
  /** When it expires. */
  expiresAt: Date;
}

/**
 * A store of expiring entries under string keys. Values are JSON data and may be secret; keys
 * and expiry are not secret (`list` shows them).
 */
export interface CacheStore<T> {
  /** The entry under `key`, unless it is missing, expired (then removed) or unreadable. */
  get(key: string): Promise<CacheEntry<T> | undefined>;
  /** Stores `value` under `key` until `expiresAt`, replacing what was there. */
  put(key: string, value: T, expiresAt: Date): Promise<void>;
  /** Removes the entry under `key`; true if there was one. */
  delete(key: string): Promise<boolean>;
  /** Every entry that has not expired, without values, by key. Expired ones are removed. */
  list(): Promise<CacheListing[]>;
  /**
   * Takes the lock of `key`: an empty 0600 file beside the entries, locked (flock, LockFileEx)
   * until the returned function is called, so that processes that all miss one entry fill it
   * once: the first makes it, the others wait and then find it. A holder that dies releases the
   * lock at once; one that hangs is waited for at most `waitMs`, then the caller goes on without
   * the lock.
   */
  lock(key: string, waitMs: number): Promise<() => void>;
}

/** Options of {@linkcode openCacheStore}. */
export interface CacheStoreOptions<T> {
  /** The environment, for `XDG_CACHE_HOME`, `HOME`, `LOCALAPPDATA`. */
  env: Readonly<Record<string, string>>;
  /** The cache directory itself, over the one the environment gives (tests). */
  dir?: string;
  /** The clock that decides expiry. */
  now?: () => Date;
  /** Checks a value read back; an entry whose value fails it counts as missing (and is removed). */
  isValue?: (value: unknown) => value is T;
  /** The operating system, for the default directory. */
  os?: string;
}

const NAMESPACE = /^[a-z0-9][a-z0-9-]{0,40}$/;
const MAX_KEY_CHARS = 1024;
/** How often a waiter tries a lock that another process holds. */
const LOCK_POLL_MS = 20;

/**
 * The directory that holds timebound-iam's caches: `$XDG_CACHE_HOME/timebound-iam` (when it is
 * an absolute path, as the XDG spec asks), else `%LOCALAPPDATA%\timebound-iam` on Windows,
 * `~/Library/Caches/timebound-iam` on macOS, `~/.cache/timebound-iam` elsewhere.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cacheDirectory } from "./cache_store.ts";
 * assert.equal(cacheDirectory({ HOME: "/home/me" }, { os: "linux" }), "/home/me/.cache/timebound-iam");
 * assert.equal(cacheDirectory({ XDG_CACHE_HOME: "/c" }, { os: "linux" }), "/c/timebound-iam");
 * ```
 */
export function cacheDirectory(
  env: Readonly<Record<string, string>>,
  options: { os?: string } = {},
): string {
  const os = options.os ?? Deno.build.os;
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && (xdg.startsWith("/") || (os === "windows" && /^[A-Za-z]:[\\/]/.test(xdg)))) {
    return join(os, xdg, "timebound-iam");
  }
  if (os === "windows" && env.LOCALAPPDATA) return join(os, env.LOCALAPPDATA, "timebound-iam");
  const home = env.HOME ?? env.USERPROFILE;
  if (!home) {
    throw new RuntimeError(
      "Cannot find the cache directory: neither HOME nor XDG_CACHE_HOME is set",
      {
        hint: "set XDG_CACHE_HOME to an absolute path",
      },
    );
  }
  if (os === "darwin") return join(os, home, "Library", "Caches", "timebound-iam");
  return join(os, home, ".cache", "timebound-iam");
}

/**
 * Opens the store of one namespace (`mfa-sessions`, `credential-process`, …): a private
 * directory under the cache directory. Nothing is created until the first `put`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openCacheStore } from "./cache_store.ts";
 * const parent = await Deno.makeTempDir();
 * const store = openCacheStore<{ token: string }>("example", { env: {}, dir: parent });
 * await store.put("key", { token: "t" }, new Date(Date.now() + 60_000));
 * assert.equal((await store.get("key"))?.value.token, "t");
 * await Deno.remove(parent, { recursive: true });
 * ```
 */
export function openCacheStore<T>(
  namespace: string,
  options: CacheStoreOptions<T>,
): CacheStore<T> {
  if (!NAMESPACE.test(namespace)) throw new RuntimeError(`Invalid cache namespace "${namespace}"`);
  const root = options.dir ?? cacheDirectory(options.env, { os: options.os });
  const os = options.os ?? Deno.build.os;
  const dir = join(os, root, namespace);
  const now = options.now ?? (() => new Date());
  const isValue = options.isValue ?? ((_: unknown): _ is T => true);

  const nameOf = async (key: string) => `${await digest(checkedKey(key))}.json`;

  // The namespace's private directory; undefined when it does not exist and need not.
  const openDir = async (create: boolean): Promise<PrivateDir | undefined> => {
    if (create) await openPrivateDir(root);
    else {
      try {
        Deno.lstatSync(dir);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined;
        throw error;
      }
    }
    return await openPrivateDir(dir, { create });
  };

  const live = async (files: PrivateDir, name: string, key?: string) => {
    const text = await files.read(name);
    if (text === undefined) return undefined;
    const entry = parseEntry(text);
    if (entry === undefined || now() >= entry.expiresAt || !isValue(entry.value)) {
      await files.remove(name);
      return undefined;
    }
    return key === undefined || entry.key === key ? entry : undefined;
  };

  return {
    async get(key) {
      const files = await openDir(false);
      const entry = files && await live(files, await nameOf(key), key);
      return entry && { value: entry.value as T, expiresAt: entry.expiresAt };
    },
    async put(key, value, expiresAt) {
      const name = await nameOf(key);
      const files = (await openDir(true))!;
      const text = JSON.stringify({ key, expiresAt: expiresAt.toISOString(), value });
      await files.replace(name, `${text}\n`);
    },
    async delete(key) {
      const files = await openDir(false);
      return files ? await files.remove(await nameOf(key)) : false;
    },
    async lock(key, waitMs) {
      const name = `.${await digest(checkedKey(key))}.lock`;
      const files = (await openDir(true))!;
      let file: Deno.FsFile;
      try {
        file = await files.openLockFile(name, { create: true });
      } catch (error) {
        if (!((error as Error).cause instanceof Deno.errors.AlreadyExists)) throw error;
        file = await files.openLockFile(name, { create: false });
      }
      const deadline = Date.now() + waitMs;
      while (!await file.tryLock(true)) {
        if (Date.now() >= deadline) {
          file.close();
          return () => {};
        }
        await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
      }
      return () => file.close();
    },
    async list() {
      const files = await openDir(false);
      if (files === undefined) return [];
      const names: string[] = [];
      for await (const entry of Deno.readDir(files.path)) {
        if (/^[0-9a-f]{64}\.json$/.test(entry.name)) names.push(entry.name);
      }
      const listings: CacheListing[] = [];
      for (const name of names.sort()) {
        const entry = await live(files, name);
        if (entry !== undefined) listings.push({ key: entry.key, expiresAt: entry.expiresAt });
      }
      return listings.sort((a, b) => a.key.localeCompare(b.key));
    },
  };
}

function checkedKey(key: string): string {
  if (key.length === 0 || key.length > MAX_KEY_CHARS) {
    throw new RuntimeError(`Invalid cache key: ${key.length} characters`);
  }
  return key;
}

interface StoredEntry {
  key: string;
  expiresAt: Date;
  value: unknown;
}

function parseEntry(text: string): StoredEntry | undefined {
  try {
    const raw = JSON.parse(text);
    if (typeof raw !== "object" || raw === null) return undefined;
    const expiresAt = new Date(raw.expiresAt);
    if (typeof raw.key !== "string" || Number.isNaN(expiresAt.getTime())) return undefined;
    return { key: raw.key, expiresAt, value: raw.value };
  } catch {
    return undefined;
  }
}

/**
 * The SHA-256 of `text` (UTF-8) in lower-case hex: what names a cache entry's file.
 *
 * Through `node:crypto`, which the AWS SDK has loaded by the time a grant reads its caches: one
 * synchronous call. Web Crypto's first digest in a process loaded its own module and went
 * through the I/O threads, ~3–7 ms of every grant.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { digest } from "./cache_store.ts";
 * assert.equal((await digest("abc")).slice(0, 12), "ba7816bf8f01");
 * ```
 */
export async function digest(text: string): Promise<string> {
  const { createHash } = await import("node:crypto");
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** Joins with the separator of `os` (the one asked for, so a test can ask for Windows). */
function join(os: string, ...parts: string[]): string {
  return (os === "windows" ? win32 : posix).join(...parts);
}
