/**
 * The cache store: small JSON entries that expire (cached MFA sessions, `credential-process`
 * output, caller identities), kept under `$XDG_CACHE_HOME/timebound-iam/<namespace>/` behind an
 * interface of four verbs, so that an OS keychain can replace the files later without any caller
 * changing.
 *
 * The files follow the hostile-directory rules of the env files: the cache directory and each
 * namespace directory are created 0700 (or verified: a real directory owned by this user, its
 * mode tightened to 0700), every entry is a 0600 file written to a fresh temporary name and
 * renamed into place (so a reader never sees half an entry and no planted symlink is followed),
 * and an entry is read only if it is a regular file owned by this user that nobody else can
 * read. Anything else is refused with one line, never followed.
 *
 * On Windows the mode and owner checks do not apply (the directory lives under the user's own
 * `%LOCALAPPDATA%`); on macOS the directory is `~/Library/Caches/timebound-iam`. Both are
 * untested here.
 *
 * @module
 */

import { RuntimeError } from "./errors.ts";

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
const MAX_ENTRY_BYTES = 64 * 1024;

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
 * ```ts ignore
 * import { openCacheStore } from "./cache_store.ts";
 * const store = openCacheStore<{ token: string }>("example", { env: Deno.env.toObject() });
 * await store.put("key", { token: "t" }, new Date(Date.now() + 60_000));
 * console.log((await store.get("key"))?.value.token);
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

  const fileOf = async (key: string) => {
    if (key.length === 0 || key.length > MAX_KEY_CHARS) {
      throw new RuntimeError(`Invalid cache key: ${key.length} characters`);
    }
    return join(os, dir, `${await digest(key)}.json`);
  };

  const readEntry = async (file: string): Promise<StoredEntry | undefined> => {
    const text = await readPrivateFile(file);
    if (text === undefined) return undefined;
    const entry = parseEntry(text);
    if (entry === undefined) await removeFile(file);
    return entry;
  };

  const live = async (file: string, key?: string) => {
    const entry = await readEntry(file);
    if (entry === undefined || (key !== undefined && entry.key !== key)) return undefined;
    if (now() >= entry.expiresAt || !isValue(entry.value)) {
      await removeFile(file);
      return undefined;
    }
    return entry;
  };

  return {
    async get(key) {
      const entry = await live(await fileOf(key), key);
      return entry && { value: entry.value as T, expiresAt: entry.expiresAt };
    },
    async put(key, value, expiresAt) {
      const file = await fileOf(key);
      await ensurePrivateDirectory(root, os);
      await ensurePrivateDirectory(dir, os);
      const text = JSON.stringify({ key, expiresAt: expiresAt.toISOString(), value });
      await writePrivateFile(file, `${text}\n`);
    },
    async delete(key) {
      return await removeFile(await fileOf(key));
    },
    async list() {
      let names: string[];
      try {
        await checkPrivateDirectory(dir, os);
        names = [];
        for await (const entry of Deno.readDir(dir)) {
          if (entry.isFile && /^[0-9a-f]{64}\.json$/.test(entry.name)) names.push(entry.name);
        }
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return [];
        throw error;
      }
      const listings: CacheListing[] = [];
      for (const name of names.sort()) {
        const entry = await live(join(os, dir, name));
        if (entry !== undefined) listings.push({ key: entry.key, expiresAt: entry.expiresAt });
      }
      return listings.sort((a, b) => a.key.localeCompare(b.key));
    },
  };
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

async function digest(key: string): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}

function join(os: string, ...parts: string[]): string {
  const sep = os === "windows" ? "\\" : "/";
  return parts.map((part, i) => (i === 0 ? part.replace(/[\\/]+$/, "") : part)).join(sep);
}

function ownedByOthers(info: Deno.FileInfo, os: string): boolean {
  return os !== "windows" && info.uid !== null && info.uid !== Deno.uid();
}

/**
 * Creates `path` 0700 if missing; otherwise insists on a real directory (no symlink) owned by
 * this user and tightens its mode to 0700.
 */
async function ensurePrivateDirectory(path: string, os: string): Promise<void> {
  try {
    await Deno.mkdir(path, { mode: 0o700 });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      // The parent (~/.cache, say) is missing: create it the usual way, then ours privately.
      await Deno.mkdir(path.slice(0, Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"))), {
        recursive: true,
      });
      return await ensurePrivateDirectory(path, os);
    }
    if (!(error instanceof Deno.errors.AlreadyExists)) throw cacheError(path, error);
  }
  await checkPrivateDirectory(path, os);
}

async function checkPrivateDirectory(path: string, os: string): Promise<void> {
  const info = await Deno.lstat(path);
  if (info.isSymlink || !info.isDirectory || ownedByOthers(info, os)) {
    throw new RuntimeError(
      `Refusing the cache directory "${path}": ${
        info.isSymlink
          ? "it is a symbolic link"
          : !info.isDirectory
          ? "it is not a directory"
          : "another user owns it"
      }`,
      { hint: "remove it (or set XDG_CACHE_HOME to a directory of your own) and try again" },
    );
  }
  if (os !== "windows" && info.mode !== null && (info.mode & 0o077) !== 0) {
    await Deno.chmod(path, 0o700);
  }
}

/**
 * Reads a cache file only if it is a regular file (not a symlink) owned by this user that no one
 * else may read; the checks are made on the opened file too, so a swap between them is caught.
 */
async function readPrivateFile(path: string): Promise<string | undefined> {
  let before: Deno.FileInfo;
  try {
    before = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw cacheError(path, error);
  }
  if (!isPrivateFile(before)) {
    await removeFile(path);
    return undefined;
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw cacheError(path, error);
  }
  try {
    const after = await file.stat();
    if (!isPrivateFile(after) || after.ino !== before.ino || after.dev !== before.dev) {
      return undefined;
    }
    if (after.size > MAX_ENTRY_BYTES) return undefined;
    const bytes = new Uint8Array(after.size);
    let read = 0;
    while (read < bytes.length) {
      const n = await file.read(bytes.subarray(read));
      if (n === null) break;
      read += n;
    }
    return new TextDecoder().decode(bytes.subarray(0, read));
  } finally {
    file.close();
  }
}

function isPrivateFile(info: Deno.FileInfo): boolean {
  if (info.isSymlink || !info.isFile) return false;
  if (Deno.build.os === "windows") return true;
  return info.uid === Deno.uid() && info.mode !== null && (info.mode & 0o077) === 0;
}

/** Writes `text` to a fresh 0600 file beside `path`, then renames it over `path`. */
async function writePrivateFile(path: string, text: string): Promise<void> {
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    const file = await Deno.open(temp, { createNew: true, write: true, mode: 0o600 });
    try {
      const bytes = new TextEncoder().encode(text);
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw cacheError(path, error);
  }
}

async function removeFile(path: string): Promise<boolean> {
  try {
    await Deno.remove(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw cacheError(path, error);
  }
}

function cacheError(path: string, error: unknown): RuntimeError {
  if (error instanceof RuntimeError) return error;
  const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
  return new RuntimeError(`Cannot use the cache file "${path}": ${reason}`, { cause: error });
}
