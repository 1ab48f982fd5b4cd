/**
 * Env files: where the MCP server leaves a session's credentials for an agent to use with
 * `env $(cat FILE) <command>`. Each server owns one private directory (mode 0700, created under a
 * fresh random name, so an existing path is never followed or reused) holding one 0600 file per
 * session and a lock file that the server holds while it lives; a later server removes the
 * directories whose lock nobody holds any more, which is how a crashed server's files go.
 *
 * @module
 */

import { RuntimeError } from "../core/errors.ts";

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
 * import { renderEnvFile } from "./env_files.ts";
 * console.assert(renderEnvFile({ AWS_REGION: "eu-west-1" }) === "AWS_REGION=eu-west-1\n");
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
 * `TMPDIR`) (0700, random name, holding a lock
 * file this process keeps locked) after removing the directories of servers that died.
 */
export async function openEnvFileDirectory(parent: string): Promise<EnvFileDirectory> {
  await removeStaleDirectories(parent);
  // makeTempDir creates a new directory with mode 0700 under a random name and fails rather
  // than reuse an existing path, so no symlink planted in a shared /tmp is ever followed.
  const path = await Deno.makeTempDir({ dir: parent, prefix: ENV_DIR_PREFIX });
  if (Deno.build.os !== "windows") await Deno.chmod(path, 0o700);
  const lock = await Deno.open(`${path}/${LOCK_FILE}`, {
    createNew: true,
    write: true,
    mode: 0o600,
  });
  await lock.lock(true);
  await lock.write(new TextEncoder().encode(`${Deno.pid}\n`));
  let closing: Promise<void> | undefined;
  const fileOf = (name: string) => {
    if (!SAFE_NAME.test(name)) throw new RuntimeError(`Invalid env file name "${name}"`);
    return `${path}/${name}.env`;
  };
  return {
    path,
    async write(name, vars) {
      const file = fileOf(name);
      const text = renderEnvFile(vars);
      const handle = await Deno.open(file, { createNew: true, write: true, mode: 0o600 });
      try {
        const bytes = new TextEncoder().encode(text);
        let written = 0;
        while (written < bytes.length) written += await handle.write(bytes.subarray(written));
      } finally {
        handle.close();
      }
      return file;
    },
    async remove(name) {
      try {
        await Deno.remove(fileOf(name));
        return true;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return false;
        throw error;
      }
    },
    close() {
      closing ??= (async () => {
        // Unlock first: Windows cannot delete a file that is open. Should another server's
        // start-up clean the directory meanwhile, it is gone all the same.
        lock.close();
        try {
          await Deno.remove(path, { recursive: true });
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
 * lock file is not locked by anyone (and was written, or is older than a minute). Only
 * directories owned by this user are touched; symlinks are never followed. Returns the removed
 * paths.
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
  const uid = Deno.build.os === "windows" ? null : Deno.uid();
  for (const entry of entries) {
    if (!entry.isDirectory || entry.isSymlink || !entry.name.startsWith(ENV_DIR_PREFIX)) continue;
    const dir = `${parent}/${entry.name}`;
    try {
      const info = await Deno.lstat(dir);
      if (!info.isDirectory || (uid !== null && info.uid !== uid)) continue;
      const lockInfo = await Deno.lstat(`${dir}/${LOCK_FILE}`);
      if (!lockInfo.isFile) continue;
      if (!await isAbandoned(`${dir}/${LOCK_FILE}`, lockInfo)) continue;
      await Deno.remove(dir, { recursive: true });
      removed.push(dir);
    } catch {
      // Gone meanwhile, not ours, or not readable: leave it.
    }
  }
  return removed;
}

async function isAbandoned(lockPath: string, info: Deno.FileInfo): Promise<boolean> {
  const file = await Deno.open(lockPath, { read: true, write: true });
  try {
    if (!await file.tryLock(true)) return false;
    // A server writes its pid right after locking; an empty file may be one that is starting.
    const young = Date.now() - (info.mtime?.getTime() ?? 0) < LOCK_GRACE_MS;
    return info.size > 0 || !young;
  } finally {
    file.close();
  }
}
