/**
 * Private directories: the one place where timebound-iam decides whether a directory is safe to
 * keep files in, and the only way it writes a file. A private directory is owned by the user,
 * mode 0700, and not a symbolic link; each directory above it is owned by the user or by root and
 * is not writable by others unless it has the sticky bit (so no other user can rename it and put
 * their own in its place). Files in it are 0600, created exclusively or opened with `O_NOFOLLOW`
 * (a symlink, a FIFO or a device is refused, never followed or opened), and checked again through
 * the open handle (regular file, owned by the user, the same inode that the directory listed).
 *
 * Limits, stated honestly: Deno has no `openat`, so a file is opened by path; what keeps that path
 * from being redirected is that every directory on it was verified (and the private directory's
 * identity is checked again before each open). Root can still do anything. The checks (stat calls)
 * and reads are synchronous: each is microseconds on a local disk, and a cache read on every
 * grant's path made a dozen trips through Deno's I/O threads (~4 ms of a grant's start). On Windows there are
 * no POSIX owners or modes: only the symlink and file-type checks apply, and a new directory
 * inherits the ACL of its parent (the user's profile, private by default).
 *
 * @module
 */

import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  promises as fsp,
  readFileSync,
  readSync,
} from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { basename, dirname, isAbsolute, join } from "node:path";
import { RuntimeError } from "./errors.ts";

const WINDOWS = Deno.build.os === "windows";
const O_NOFOLLOW = WINDOWS ? 0 : constants.O_NOFOLLOW;
// A FIFO would block open() until someone reads it; non-blocking, it fails at once instead.
const O_NONBLOCK = WINDOWS ? 0 : constants.O_NONBLOCK;
const NAME = /^(?!\.\.?$)[^/\\\0]{1,200}$/;
const encoder = new TextEncoder();

/** A file opened for appending in a private directory (the audit log). */
export interface PrivateAppendFile {
  /** The file's absolute path. */
  readonly path: string;
  /** Appends all of `data` (one `write` for short data, so concurrent lines never interleave). */
  append(data: string | Uint8Array): Promise<void>;
  /** Closes the file. */
  close(): Promise<void>;
}

/** A verified private directory and the only ways to touch the files in it. */
export interface PrivateDir {
  /** The directory's absolute path, with every symlink above it resolved. */
  readonly path: string;
  /** The absolute path of the entry `name` (a plain file name: no separator, not `.`/`..`). */
  pathOf(name: string): string;
  /** Checks that the directory is still the one verified (same inode, ours, 0700). */
  verify(): void;
  /** Creates `name` (mode 0600) holding `data`; fails if anything exists there. Returns its path. */
  create(name: string, data: string | Uint8Array): Promise<string>;
  /**
   * Replaces `name` atomically (a new 0600 file renamed over it). Returns its path. The
   * temporaries that a writer killed before its rename left here are removed once stale.
   */
  replace(name: string, data: string | Uint8Array): Promise<string>;
  /** Reads `name` as text; `undefined` if it does not exist. Refuses anything but our file. */
  read(name: string): Promise<string | undefined>;
  /** Opens `name` for appending, creating it 0600; an existing file must be ours and regular. */
  openAppend(name: string): Promise<PrivateAppendFile>;
  /**
   * Opens `name` as a `Deno.FsFile` (for `lock`), creating it new (0600) when `create` is true,
   * else opening the existing regular file of ours, read and write, without following a symlink.
   */
  openLockFile(name: string, options: { create: boolean }): Promise<Deno.FsFile>;
  /** Removes `name` (a file, or with `recursive` anything); true if it existed. */
  remove(name: string, options?: { recursive?: boolean }): Promise<boolean>;
}

/**
 * Verifies that files may be kept under the directory `path`: it and every directory above it
 * are owned by the user or by root, and none is writable by others without the sticky bit.
 * Returns its real path (symlinks resolved, as macOS's `/tmp` is one). Throws a
 * {@linkcode RuntimeError} with a hint otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { verifyParentDirectory } from "./private_dir.ts";
 * const parent = await Deno.makeTempDir();
 * assert.equal(verifyParentDirectory(parent), Deno.realPathSync(parent));
 * await Deno.remove(parent);
 * ```
 */
export function verifyParentDirectory(path: string): string {
  let real: string;
  try {
    real = Deno.realPathSync(path);
  } catch (error) {
    throw fsError(error, path, "directory");
  }
  const uid = WINDOWS ? null : Deno.uid();
  const gid = WINDOWS ? null : Deno.gid();
  for (let dir = real;; dir = dirname(dir)) {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(dir);
    } catch (error) {
      throw fsError(error, dir, "directory");
    }
    if (!info.isDirectory) {
      throw new RuntimeError(`"${dir}" is not a directory`, { hint: hintFor(path) });
    }
    if (uid !== null && info.mode !== null) {
      if (info.uid !== uid && info.uid !== 0) {
        throw new RuntimeError(
          `Directory "${dir}" belongs to another user (uid ${info.uid}): they could replace what timebound-iam writes under it`,
          { hint: hintFor(path) },
        );
      }
      if (othersMayWrite(info, uid, gid!) && !(info.mode & 0o1000)) {
        throw new RuntimeError(
          `Directory "${dir}" is writable by other users and not sticky: they could replace what timebound-iam writes under it`,
          { hint: `${hintFor(path)}, or make it sticky: chmod +t "${dir}"` },
        );
      }
    }
    if (dirname(dir) === dir) return real;
  }
}

/**
 * Opens the private directory `path`, creating it (mode 0700, and any missing directory above it
 * 0700) unless `create` is false. An existing directory must be ours, not a symlink and not
 * writable by others (unless sticky); it is used as it is, never chmod-ed. Every directory above it is
 * checked with {@linkcode verifyParentDirectory}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openPrivateDir } from "./private_dir.ts";
 * const parent = await Deno.makeTempDir();
 * const dir = await openPrivateDir(`${parent}/cache`);
 * await dir.replace("entry.json", "{}");
 * assert.equal(await dir.read("entry.json"), "{}");
 * await Deno.remove(parent, { recursive: true });
 * ```
 */
export async function openPrivateDir(
  path: string,
  options: { create?: boolean } = {},
): Promise<PrivateDir> {
  // The name is checked before join() normalizes the path: "dir/.." must stay refused.
  const name = basename(path);
  if (!NAME.test(name)) throw new RuntimeError(`"${path}" is not a directory name`);
  const parent = dirname(isAbsolute(path) ? path : join(Deno.cwd(), path));
  if (options.create !== false) {
    // Check what exists before creating anything under it.
    verifyParentDirectory(nearestExisting(parent));
    await makeParents(parent);
  }
  const realParent = verifyParentDirectory(parent);
  const dir = join(realParent, name);
  if (options.create !== false) {
    try {
      await Deno.mkdir(dir, { mode: 0o700 });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw fsError(error, dir, "directory");
    }
  }
  return adopt(dir);
}

/**
 * Creates a new private directory with a random name starting with `prefix` under `parent`
 * (which {@linkcode verifyParentDirectory} checks first). The name is new, so no existing path is
 * ever followed or reused.
 */
export async function createPrivateTempDir(parent: string, prefix: string): Promise<PrivateDir> {
  const realParent = verifyParentDirectory(parent);
  let dir: string;
  try {
    dir = await Deno.makeTempDir({ dir: realParent, prefix });
  } catch (error) {
    throw fsError(error, realParent, "directory");
  }
  return adopt(dir);
}

/**
 * Opens `file` for appending: created `0600` when missing, else checked to be the same regular
 * file that was looked at (and made `0600` again).
 */
async function openPrivateAppend(file: string): Promise<PrivateAppendFile> {
  const before = lstatFile(file);
  let handle: FileHandle;
  if (before === undefined) {
    handle = await openNew(file, constants.O_WRONLY | constants.O_APPEND);
  } else {
    handle = await openNode(file, constants.O_WRONLY | constants.O_APPEND);
    try {
      const stat = await checkSameFile(handle, before, file);
      if (!WINDOWS && (stat.mode & 0o077) !== 0) await handle.chmod(0o600);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }
  return {
    path: file,
    async append(data: string | Uint8Array) {
      const bytes = typeof data === "string" ? encoder.encode(data) : data;
      let written = 0;
      while (written < bytes.length) {
        written += (await handle.write(bytes, written)).bytesWritten;
      }
    },
    close: () => handle.close(),
  };
}

/** Opens a lock file: a new one (never over anything that exists), or the same existing one. */
async function openPrivateLock(file: string, options: { create: boolean }): Promise<Deno.FsFile> {
  if (options.create) {
    // createNew is O_CREAT|O_EXCL: it fails on any existing entry, a symlink included.
    try {
      return await Deno.open(file, { createNew: true, read: true, write: true, mode: 0o600 });
    } catch (error) {
      throw fsError(error, file, "file");
    }
  }
  const before = lstatFile(file);
  if (before === undefined) throw fsError(new Deno.errors.NotFound(), file, "file");
  const lock = await Deno.open(file, { read: true, write: true });
  try {
    const info = await lock.stat();
    checkSame({ dev: info.dev, ino: info.ino, isFile: info.isFile }, before, file);
  } catch (error) {
    lock.close();
    throw error;
  }
  return lock;
}

/** Verifies `dir` (already under a verified parent) and returns its handle. */
function adopt(dir: string): PrivateDir {
  const identity = checkDirectory(dir);
  const verify = () => {
    const now = checkDirectory(dir);
    if (now.dev !== identity.dev || now.ino !== identity.ino) {
      throw new RuntimeError(`Directory "${dir}" was replaced while in use`, {
        hint: hintFor(dir),
      });
    }
  };
  const pathOf = (name: string) => {
    if (!NAME.test(name)) throw new RuntimeError(`Invalid file name "${name}"`);
    return join(dir, name);
  };
  // `shown` is the file a failed write is reported for (the target, for replace's temporary).
  const create = async (name: string, data: string | Uint8Array, shown = name) => {
    const file = pathOf(name);
    verify();
    const handle = await openNew(file, constants.O_WRONLY);
    try {
      await handle.writeFile(typeof data === "string" ? encoder.encode(data) : data);
    } catch (error) {
      // A part written (disk full, a file size limit) is not left behind: the file is new, ours.
      await handle.close().catch(() => {});
      await Deno.remove(file).catch(() => {});
      throw new RuntimeError(`Cannot write file "${join(dir, shown)}": ${shortReason(error)}`, {
        hint: "check the free space on that disk and the file size limit (ulimit -f)",
        cause: error,
      });
    }
    await handle.close();
    return file;
  };
  return {
    path: dir,
    pathOf,
    verify,
    create,
    async replace(name, data) {
      const file = pathOf(name);
      const temporary = `.${name.slice(0, 100)}.${crypto.randomUUID()}.tmp`;
      await create(temporary, data, name);
      try {
        // rename() replaces a symlink at the target itself; it never follows it.
        await Deno.rename(join(dir, temporary), file);
      } catch (error) {
        await Deno.remove(join(dir, temporary)).catch(() => {});
        throw fsError(error, file, "file");
      }
      removeStaleTemporaries(dir);
      return file;
    },
    // Synchronous inside (a few stat calls and one small file), async outside like every other
    // entry point, so a refusal is a rejection.
    // deno-lint-ignore require-await
    async read(name) {
      const file = pathOf(name);
      verify();
      const before = lstatFile(file);
      if (before === undefined) return undefined;
      return readSameFile(file, before);
    },
    async openAppend(name) {
      const file = pathOf(name);
      verify();
      return await openPrivateAppend(file);
    },
    async openLockFile(name, options) {
      const file = pathOf(name);
      verify();
      return await openPrivateLock(file, options);
    },
    async remove(name, options = {}) {
      const file = pathOf(name);
      verify();
      try {
        await Deno.remove(file, { recursive: options.recursive ?? false });
        return true;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return false;
        throw fsError(error, file, "file");
      }
    },
  };
}

/**
 * Whether others than the user can write what `info` describes: anyone (`o+w`), or its group
 * (`g+w`) unless it is the user's and the group is the user's own private group (see
 * {@linkcode isPrivateGroup}): a group shared by several users (`users`, macOS's `staff`) holds
 * others.
 */
function othersMayWrite(info: Deno.FileInfo, uid: number, gid: number): boolean {
  const mode = info.mode ?? 0;
  if ((mode & 0o002) !== 0) return true;
  if ((mode & 0o020) === 0) return false;
  return !(info.uid === uid && info.gid === gid && isPrivateGroup(gid, uid));
}

/**
 * Whether `gid` is the user-private group of `uid`, as Debian and Fedora make one for each user:
 * by `/etc/passwd` and `/etc/group`, the group bears the user's name, lists no other member, and
 * is no other account's primary group. When the files do not know the user or the group (a
 * directory service, as on macOS), only a group whose id is the user's own id counts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPrivateGroup } from "./private_dir.ts";
 * const dir = await Deno.makeTempDir();
 * const files = { passwd: `${dir}/passwd`, group: `${dir}/group` };
 * await Deno.writeTextFile(files.passwd, "ann:x:1000:1000::/home/ann:/bin/sh\n");
 * await Deno.writeTextFile(files.group, "ann:x:1000:\nusers:x:100:ann,bob\n");
 * assert.equal(isPrivateGroup(1000, 1000, files), true);
 * assert.equal(isPrivateGroup(100, 1000, files), false);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function isPrivateGroup(
  gid: number,
  uid: number,
  files: { passwd: string; group: string } = { passwd: "/etc/passwd", group: "/etc/group" },
): boolean {
  let passwd: string[][];
  let groups: string[][];
  try {
    const fields = (path: string) =>
      Deno.readTextFileSync(path).split("\n").map((line) => line.split(":"))
        .filter((f) => f.length >= 4);
    passwd = fields(files.passwd);
    groups = fields(files.group);
  } catch {
    return gid === uid;
  }
  const user = passwd.find((f) => Number(f[2]) === uid);
  const group = groups.find((f) => Number(f[2]) === gid);
  if (user === undefined || group === undefined) return gid === uid;
  const name = user[0];
  const members = group[3].split(",").map((m) => m.trim()).filter(Boolean);
  return group[0] === name && members.every((m) => m === name) &&
    !passwd.some((f) => Number(f[3]) === gid && Number(f[2]) !== uid);
}

/** How old a `replace()` temporary must be before it is taken for a crashed writer's. */
const STALE_TEMPORARY_MS = 10 * 60_000;
const TEMPORARY = /^\..+\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;

/**
 * Removes the temporaries of `replace()` that a process killed between writing and renaming left
 * in `dir` (they may hold credentials), once they are older than {@linkcode STALE_TEMPORARY_MS}:
 * a younger one may be another process's write in progress. Best effort: a failure changes
 * nothing else.
 */
function removeStaleTemporaries(dir: string): void {
  try {
    const now = Date.now();
    for (const entry of Deno.readDirSync(dir)) {
      if (!entry.isFile || !TEMPORARY.test(entry.name)) continue;
      const path = join(dir, entry.name);
      const modified = Deno.lstatSync(path).mtime?.getTime();
      if (modified !== undefined && now - modified > STALE_TEMPORARY_MS) Deno.removeSync(path);
    }
  } catch {
    // Sweeping is housekeeping: the write it follows has succeeded.
  }
}

/**
 * Reads a file that settings come from (the config file, which names the role every grant
 * assumes and the limits `serve` keeps): only you or root may be able to change it. A symlink
 * is followed, as dotfile managers make them; what it points to is checked: a regular file owned
 * by you or root that others cannot write (its group neither, unless it is your own primary
 * group), under directories that {@linkcode verifyParentDirectory} accepts; it is opened without
 * waiting on a FIFO and checked again through the handle, and no more than 1 MiB of it is read (a
 * larger file is refused). `undefined` when it does not exist.
 * A refusal is a {@linkcode RuntimeError} whose message says why, for the caller to prefix.
 */
export function readTrustedFile(path: string): string | undefined {
  let real: string;
  try {
    real = Deno.realPathSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw fsError(error, path, "file");
  }
  try {
    verifyParentDirectory(dirname(real));
  } catch (error) {
    // The hint for a directory we write in names TMPDIR and --audit-log: not this file's.
    throw new RuntimeError((error as Error).message, {
      hint: `keep it in a directory that only you (or root) can write`,
      cause: error,
    });
  }
  const shown = real === path ? "it" : `"${real}" (where it points)`;
  const hint = `make it yours and not writable by others: chmod go-w "${real}"`;
  const before = Deno.lstatSync(real);
  if (!before.isFile) {
    throw new RuntimeError(`${shown} is not a regular file`, { hint: `use a regular file` });
  }
  if (!WINDOWS && before.mode !== null) {
    const uid = Deno.uid();
    if (before.uid !== uid && before.uid !== 0) {
      throw new RuntimeError(`${shown} belongs to another user (uid ${before.uid})`, { hint });
    }
    if (othersMayWrite(before, uid!, Deno.gid()!)) {
      throw new RuntimeError(
        `${shown} is writable by other users (mode ${(before.mode & 0o777).toString(8)})`,
        { hint },
      );
    }
  }
  return readSameFile(real, before, { maxBytes: MAX_TRUSTED_FILE_BYTES, shown });
}

/** The largest settings file read (a config file is a few kilobytes; `serve` reads it per grant). */
const MAX_TRUSTED_FILE_BYTES = 1024 * 1024;

/**
 * Reads `file` as text through a handle opened without following a symlink or waiting on a
 * FIFO, once the handle shows the regular file that `before` (its lstat) described; with
 * `bound`, a file over `bound.maxBytes` (then, or as it is read) is refused, naming it `shown`.
 */
function readSameFile(
  file: string,
  before: Deno.FileInfo,
  bound?: { maxBytes: number; shown: string },
): string {
  const fd = openNodeSync(file, constants.O_RDONLY);
  try {
    const stat = fstatSync(fd);
    checkSame({ dev: stat.dev, ino: stat.ino, isFile: stat.isFile() }, before, file);
    if (!bound) return readFileSync(fd, "utf8");
    // No more than the bound is read, whatever the file grows to meanwhile.
    const { maxBytes, shown } = bound;
    const buffer = new Uint8Array(maxBytes + 1);
    let length = 0;
    while (stat.size <= maxBytes && length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    if (stat.size > maxBytes || length > maxBytes) {
      throw new RuntimeError(`${shown} is over ${maxBytes / 1024 / 1024} MiB`, {
        hint: "a settings file is a few kilobytes: check what wrote it",
      });
    }
    return new TextDecoder("utf-8", { ignoreBOM: true }).decode(buffer.subarray(0, length));
  } finally {
    closeSync(fd);
  }
}

/** lstat-checks a private directory: a real directory of ours that others cannot write. */
function checkDirectory(dir: string): { dev: number; ino: number } {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(dir);
  } catch (error) {
    throw fsError(error, dir, "directory");
  }
  if (info.isSymlink) {
    throw new RuntimeError(`"${dir}" is a symbolic link, not a directory: refusing to follow it`, {
      hint: `remove it (rm "${dir}") or choose another path`,
    });
  }
  if (!info.isDirectory) {
    throw new RuntimeError(`"${dir}" is not a directory`, { hint: hintFor(dir) });
  }
  if (!WINDOWS && info.mode !== null) {
    const uid = Deno.uid();
    if (info.uid !== uid) {
      throw new RuntimeError(
        `Directory "${dir}" belongs to another user (uid ${info.uid}), not to you (uid ${uid})`,
        { hint: hintFor(dir) },
      );
    }
    if ((info.mode & 0o022) !== 0) {
      throw new RuntimeError(
        `Directory "${dir}" is writable by other users (mode ${formatMode(info.mode)})`,
        { hint: `make it private: chmod 700 "${dir}"` },
      );
    }
  }
  return { dev: info.dev ?? 0, ino: info.ino ?? 0 };
}

/**
 * The entry at `file` before it is opened: `undefined` if there is none; a symlink, FIFO, device
 * or another user's file is refused here, before any open().
 */
function lstatFile(file: string): Deno.FileInfo | undefined {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw fsError(error, file, "file");
  }
  if (info.isSymlink) {
    throw new RuntimeError(`"${file}" is a symbolic link: refusing to follow it`, {
      hint: `remove it (rm "${file}") or choose another path`,
    });
  }
  if (!info.isFile) {
    throw new RuntimeError(`"${file}" is not a regular file: refusing to use it`, {
      hint: `remove it (rm "${file}") or choose another path`,
    });
  }
  if (!WINDOWS && info.uid !== null && info.uid !== Deno.uid()) {
    throw new RuntimeError(`File "${file}" belongs to another user (uid ${info.uid})`, {
      hint: `remove it (rm "${file}") or choose another path`,
    });
  }
  return info;
}

/**
 * Checks, through the open handle, that the file opened is the one `lstatFile` saw: under
 * granular permissions Deno resolves a symlink itself before it opens, so `O_NOFOLLOW` alone
 * cannot be trusted.
 */
async function checkSameFile(
  handle: FileHandle,
  before: Deno.FileInfo,
  file: string,
): Promise<{ mode: number }> {
  const stat = await handle.stat();
  checkSame({ dev: stat.dev, ino: stat.ino, isFile: stat.isFile() }, before, file);
  return { mode: stat.mode };
}

function checkSame(
  now: { dev: number | null; ino: number | null; isFile: boolean },
  before: Deno.FileInfo,
  file: string,
): void {
  if (!now.isFile || (!WINDOWS && (now.dev !== before.dev || now.ino !== before.ino))) {
    throw new RuntimeError(`File "${file}" was replaced while being opened: refusing to use it`, {
      hint: `check who else can write "${dirname(file)}"`,
    });
  }
}

/**
 * Creates `file` new, 0600. `O_CREAT|O_EXCL` fails on any existing entry, a symlink (even one
 * pointing nowhere) included, so nothing is ever followed.
 */
async function openNew(file: string, access: number): Promise<FileHandle> {
  return await openNode(file, access | constants.O_CREAT | constants.O_EXCL, 0o600);
}

/** {@linkcode openNode}, synchronously, for a read: a file descriptor. */
function openNodeSync(file: string, flags: number): number {
  try {
    return openSync(file, flags | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    throw fsError(error, file, "file");
  }
}

async function openNode(file: string, flags: number, mode?: number): Promise<FileHandle> {
  try {
    // O_NOFOLLOW and O_NONBLOCK also go to the kernel (a FIFO planted after the check is not
    // waited on), though Deno may resolve a symlink before it opens: see checkSameFile.
    return await fsp.open(file, flags | O_NOFOLLOW | O_NONBLOCK, mode);
  } catch (error) {
    throw fsError(error, file, "file");
  }
}

function nearestExisting(dir: string): string {
  for (;; dir = dirname(dir)) {
    try {
      Deno.lstatSync(dir);
      return dir;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound) || dirname(dir) === dir) return dir;
    }
  }
}

/** Missing directories above a private one are created 0700, one by one, never through a link. */
async function makeParents(dir: string): Promise<void> {
  try {
    Deno.lstatSync(dir);
    return;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw fsError(error, dir, "directory");
  }
  if (dirname(dir) !== dir) await makeParents(dirname(dir));
  try {
    await Deno.mkdir(dir, { mode: 0o700 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw fsError(error, dir, "directory");
  }
}

/** An OS error on `path` as one sentence with a hint (never "os error N"). */
function fsError(error: unknown, path: string, what: "file" | "directory"): unknown {
  if (error instanceof RuntimeError) return error;
  const code = (error as { code?: string })?.code;
  const hint = what === "directory"
    ? hintFor(path)
    : `remove it (rm "${path}") or choose another path`;
  if (error instanceof Deno.errors.NotFound || code === "ENOENT") {
    return new RuntimeError(`${capital(what)} "${path}" does not exist`, { hint, cause: error });
  }
  if (error instanceof Deno.errors.AlreadyExists || code === "EEXIST") {
    return new RuntimeError(`"${path}" already exists`, { hint, cause: error });
  }
  if (code === "ELOOP" || (code === "ENOTDIR" && what === "directory")) {
    return new RuntimeError(`"${path}" is a symbolic link: refusing to follow it`, {
      hint,
      cause: error,
    });
  }
  if (code === "ENXIO" || code === "EAGAIN") {
    return new RuntimeError(`"${path}" is not a regular file: refusing to use it`, {
      hint,
      cause: error,
    });
  }
  if (
    error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable ||
    code === "EACCES" || code === "EPERM"
  ) {
    return new RuntimeError(`Permission denied on ${what} "${path}"`, { hint, cause: error });
  }
  if (code === "EROFS" || (error as Error)?.message?.includes("Read-only file system")) {
    return new RuntimeError(`Cannot write to ${what} "${path}": read-only file system`, {
      hint,
      cause: error,
    });
  }
  return new RuntimeError(`Cannot use ${what} "${path}": ${shortReason(error)}`, {
    hint,
    cause: error,
  });
}

function shortReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Deno's "… (os error 27)" and Node's "EFBIG: file too large, write" alike: the reason alone.
  return message.replace(/\s*\(os error \d+\)/g, "").replace(/,? (open|mkdir|lstat) '.*$/, "")
    .replace(/^E[A-Z]+: (.*?)(, (write|open|close))?$/, "$1").slice(0, 120);
}

function hintFor(path: string): string {
  return `use a directory that only you can write instead of "${path}" (TMPDIR for temporary ` +
    "files, --audit-log for the audit log)";
}

function capital(text: string): string {
  return text[0].toUpperCase() + text.slice(1);
}

/**
 * A file mode's permission bits as four octal digits, as `chmod` takes them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatMode } from "./private_dir.ts";
 * assert.equal(formatMode(0o40755), "0755");
 * ```
 */
export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}
