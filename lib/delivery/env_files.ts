/**
 * Env files: where the MCP server leaves a session's credentials for an agent to use with
 * `env $(cat FILE) <command>`. Each server owns one private directory (a
 * {@linkcode createPrivateTempDir}: mode 0700, a fresh random name under a verified parent, so an
 * existing path is never followed or reused) holding one 0600 file per
 * session and a lock file that the server holds while it lives; a later server removes the
 * directories whose lock nobody holds any more, which is how a crashed server's files go.
 *
 * @module
 */

import { join } from "node:path";
import { RuntimeError } from "../core/errors.ts";
import {
  createPrivateTempDir,
  openPrivateDir,
  type PrivateDir,
  verifyParentDirectory,
} from "../core/private_dir.ts";

/** The prefix of every server directory's name, under the parent directory. */
export const ENV_DIR_PREFIX = "timebound-iam-mcp-";
const LOCK_FILE = ".lock";
/** How long a directory may have an empty lock file before it counts as abandoned. */
const LOCK_GRACE_MS = 60_000;
/** What a value may hold so that `env $(cat FILE)` and dotenv read it back unchanged. */
const SAFE_VALUE = /^[A-Za-z0-9+/=:._@-]*$/;
const SAFE_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** One server's private directory of env files. */
export interface EnvFileDirectory {
  /** The directory's absolute path. */
  readonly path: string;
  /**
   * Writes `name.env` holding `vars` as `KEY=VALUE` lines, mode 0600, and returns its path.
   * Fails if the file exists.
   */
  write(name: string, vars: Readonly<Record<string, string>>): Promise<string>;
  /** Removes `name.env`; true if it existed. */
  remove(name: string): Promise<boolean>;
  /** Removes the directory with everything in it and releases the lock. Safe to repeat. */
  close(): Promise<void>;
}

/**
 * Renders variables as `KEY=VALUE` lines: no quotes and no spaces, which is what both
 * `env $(cat FILE)` (word splitting) and a dotenv parser read back unchanged. A value that
 * could not survive that (a space, a quote, a `#`, a newline) is refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderEnvFile } from "./env_files.ts";
 * assert.equal(renderEnvFile({ AWS_REGION: "eu-west-1" }), "AWS_REGION=eu-west-1\n");
 * ```
 */
export function renderEnvFile(vars: Readonly<Record<string, string>>): string {
  return Object.entries(vars).map(([name, value]) => {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name) || !SAFE_VALUE.test(value)) {
      throw new RuntimeError(`Cannot write variable "${name}" to an env file: unsafe characters`);
    }
    return `${name}=${value}\n`;
  }).join("");
}

/**
 * Creates this server's private directory under `parent` (the temporary directory, say:
 * `TMPDIR`): 0700, a new random name, holding a lock file this process keeps locked, after
 * removing the directories of servers that died. `parent` must pass
 * {@linkcode verifyParentDirectory} (no other user can write it, unless it is sticky).
 */
export async function openEnvFileDirectory(parent: string): Promise<EnvFileDirectory> {
  const realParent = verifyParentDirectory(parent);
  await removeStaleDirectories(realParent);
  const dir = await createPrivateTempDir(realParent, ENV_DIR_PREFIX);
  const lock = await dir.openLockFile(LOCK_FILE, { create: true });
  await lock.lock(true);
  await lock.write(new TextEncoder().encode(`${Deno.pid}\n`));
  let closing: Promise<void> | undefined;
  const fileOf = (name: string) => {
    if (!SAFE_NAME.test(name)) throw new RuntimeError(`Invalid env file name "${name}"`);
    return `${name}.env`;
  };
  return {
    path: dir.path,
    async write(name, vars) {
      const file = fileOf(name);
      return await dir.create(file, renderEnvFile(vars));
    },
    async remove(name) {
      return await dir.remove(fileOf(name));
    },
    close() {
      closing ??= (async () => {
        // Unlock first: Windows cannot delete a file that is open. Should another server's
        // start-up clean the directory meanwhile, it is gone all the same.
        lock.close();
        try {
          await Deno.remove(dir.path, { recursive: true });
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
      })();
      return closing;
    },
  };
}

/**
 * Removes the directories under `parent` that a server created and no live server holds: the
 * lock file is not locked by anyone (and was written, or is older than a minute). Only private
 * directories of this user are touched (see {@linkcode openPrivateDir}); symlinks are never
 * followed. Returns the removed paths.
 */
export async function removeStaleDirectories(parent: string): Promise<string[]> {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(parent));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return removed;
    throw error;
  }
  for (const entry of entries) {
    if (!entry.isDirectory || entry.isSymlink || !entry.name.startsWith(ENV_DIR_PREFIX)) continue;
    try {
      const dir = await openPrivateDir(join(parent, entry.name), { create: false });
      const lockInfo = await Deno.lstat(dir.pathOf(LOCK_FILE));
      if (!lockInfo.isFile) continue;
      if (!await isAbandoned(dir, lockInfo)) continue;
      await Deno.remove(dir.path, { recursive: true });
      removed.push(dir.path);
    } catch {
      // Gone meanwhile, not ours, or not readable: leave it.
    }
  }
  return removed;
}

async function isAbandoned(dir: PrivateDir, info: Deno.FileInfo): Promise<boolean> {
  const file = await dir.openLockFile(LOCK_FILE, { create: false });
  try {
    if (!await file.tryLock(true)) return false;
    // A server writes its pid right after locking; an empty file may be one that is starting.
    const young = Date.now() - (info.mtime?.getTime() ?? 0) < LOCK_GRACE_MS;
    return info.size > 0 || !young;
  } finally {
    file.close();
  }
}
