/**
 * The shared credentials file (`~/.aws/credentials`) as `keys import` needs it: which lines of
 * which profile hold long-lived keys, and the same text without exactly those lines, every other
 * byte kept (comments, other profiles, other settings, line endings). What is found is checked
 * against the AWS SDK's own reading of the file, so the two never disagree about a key.
 *
 * The file is rewritten atomically: the new content goes to a new file beside it, created
 * exclusively with the old file's mode, synced, then renamed over it. A crash leaves the old
 * file or the new one, and no copy of the old content is left anywhere.
 *
 * @module
 */

import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  openSync,
  renameSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { RuntimeError, UsageError } from "../core/errors.ts";

/** The long-lived keys of one profile in the file, and where they are. */
export interface FileKeys {
  /** The profile (the section's name). */
  profile: string;
  /** The access key id (the last one set, as the AWS SDK reads it). */
  accessKeyId: string;
  /** The secret access key (the last one set). */
  secretAccessKey: string;
  /** Whether the profile also holds a session token (then these are temporary keys). */
  hasSessionToken: boolean;
  /**
   * Whether the profile sets more than one different access key id or secret (a pair pasted
   * under an older one, or in two sections of the same name): which pair is meant, and where
   * the older one should go, is the human's call.
   */
  ambiguous: boolean;
  /**
   * The 0-based indexes of the lines that go when the keys move: every line that sets the key id
   * or the secret, in every section of the profile, and the header of each such section that
   * holds nothing else.
   */
  lines: number[];
}

const MAX_FILE_CHARS = 1024 * 1024;
const TOKEN_SETTINGS = ["aws_session_token", "aws_security_token"];
const SECTION = /^\s*\[\s*([^\]]*?)\s*\]\s*([#;].*)?$/;
const SETTING = /^\s*([^=#;\s][^=]*?)\s*=\s*(.*?)\s*$/;
const COMMENT_OR_BLANK = /^\s*([#;].*)?$/;

/** The file's path: `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`. */
export function credentialsFilePath(env: Readonly<Record<string, string>>): string {
  if (env.AWS_SHARED_CREDENTIALS_FILE) return env.AWS_SHARED_CREDENTIALS_FILE;
  const home = env.HOME ?? env.USERPROFILE;
  if (!home) {
    throw new RuntimeError("Cannot find ~/.aws/credentials: HOME is not set", {
      hint: "set AWS_SHARED_CREDENTIALS_FILE to the file's path",
    });
  }
  return join(home, ".aws", "credentials");
}

/** The text split into lines, each with its own line ending. */
export function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * Every profile of the file that holds an access key id and a secret, with the lines they use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findFileKeys } from "./credentials_file.ts";
 * const text = "# mine\n[dev]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n" +
 *   "aws_secret_access_key = s\nregion = eu-west-1\n";
 * const [dev] = findFileKeys(text);
 * assert.deepEqual([dev.profile, dev.lines], ["dev", [2, 3]]);
 * ```
 */
export function findFileKeys(text: string): FileKeys[] {
  const profiles = new Map<string, ProfileLines>();
  let section: { profile: ProfileLines; header: number; others: number; keys: number } | undefined;
  const closeSection = () => {
    if (section !== undefined && section.others === 0 && section.keys > 0) {
      section.profile.headers.push(section.header);
    }
  };
  for (const [index, raw] of splitLines(text).entries()) {
    const line = raw.replace(/\r?\n$/, "");
    const header = SECTION.exec(line);
    if (header) {
      closeSection();
      const name = header[1];
      const profile = profiles.get(name) ??
        { ids: [], secrets: [], keyLines: new Set<number>(), headers: [] };
      profiles.set(name, profile);
      // A section's header goes only if the section holds nothing but this profile's keys.
      section = { profile, header: index, others: 0, keys: 0 };
      continue;
    }
    if (section === undefined || COMMENT_OR_BLANK.test(line)) continue;
    const setting = SETTING.exec(line);
    if (setting === null || /^\s/.test(line)) {
      section.others++;
      continue;
    }
    const name = setting[1].toLowerCase();
    if (name === "aws_access_key_id") section.profile.ids.push(setting[2]);
    else if (name === "aws_secret_access_key") section.profile.secrets.push(setting[2]);
    else {
      if (TOKEN_SETTINGS.includes(name)) section.profile.token = true;
      section.others++;
      continue;
    }
    section.profile.keyLines.add(index);
    section.keys++;
  }
  closeSection();
  const found: FileKeys[] = [];
  for (const [name, profile] of profiles) {
    const id = profile.ids.at(-1);
    const secret = profile.secrets.at(-1);
    if (id === undefined || secret === undefined) continue;
    found.push({
      profile: name,
      accessKeyId: id,
      secretAccessKey: secret,
      hasSessionToken: profile.token === true,
      ambiguous: new Set(profile.ids).size > 1 || new Set(profile.secrets).size > 1,
      lines: [...profile.headers, ...profile.keyLines].sort((a, b) => a - b),
    });
  }
  return found;
}

/** What one profile's sections hold, gathered over every section of its name. */
interface ProfileLines {
  ids: string[];
  secrets: string[];
  keyLines: Set<number>;
  headers: number[];
  token?: boolean;
}

/**
 * The text without the lines at `indexes` (0-based); every other byte as it was.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withoutLines } from "./credentials_file.ts";
 * assert.equal(withoutLines("a\r\nb\nc", [1]), "a\r\nc");
 * ```
 */
export function withoutLines(text: string, indexes: readonly number[]): string {
  const drop = new Set(indexes);
  return splitLines(text).filter((_, index) => !drop.has(index)).join("");
}

/**
 * Reads the file (bounded); `undefined` when there is none. What is not a regular file (a link
 * to `/dev/zero`, a FIFO) is refused before it is opened, and at most the bound is read whatever
 * the file grows to meanwhile.
 */
export async function readCredentialsFile(path: string): Promise<string | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  if (!info.isFile) {
    throw new RuntimeError(`The credentials file "${path}" is not a regular file`);
  }
  const tooLarge = (size: string) =>
    new UsageError(`The credentials file "${path}" is too large (${size} bytes)`);
  if (info.size > MAX_FILE_CHARS) throw tooLarge(String(info.size));
  using file = await Deno.open(path, { read: true });
  const bytes = new Uint8Array(MAX_FILE_CHARS + 1);
  let size = 0;
  for (;;) {
    const read = await file.read(bytes.subarray(size));
    if (read === null) break;
    size += read;
    if (size > MAX_FILE_CHARS) throw tooLarge(`over ${MAX_FILE_CHARS}`);
  }
  return new TextDecoder().decode(bytes.subarray(0, size));
}

/**
 * Replaces the file at `path` with `text`, atomically, keeping its mode (see the module's
 * description). A symbolic link is written through: its target is replaced.
 */
export function replaceCredentialsFile(path: string, text: string): void {
  const real = Deno.realPathSync(path);
  const before = Deno.lstatSync(real);
  if (!before.isFile) {
    throw new RuntimeError(`"${real}" is not a regular file: refusing to rewrite it`);
  }
  const mode = (before.mode ?? 0o600) & 0o777;
  const temporary = join(dirname(real), `.credentials.${crypto.randomUUID()}.tmp`);
  const nofollow = Deno.build.os === "windows" ? 0 : constants.O_NOFOLLOW;
  const fd = openSync(
    temporary,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | nofollow,
    mode,
  );
  try {
    // The mode given to open() is masked by the umask: set it exactly.
    if (Deno.build.os !== "windows") Deno.chmodSync(temporary, mode);
    const bytes = new TextEncoder().encode(text);
    for (let written = 0; written < bytes.length;) {
      written += writeSync(fd, bytes, written, bytes.length - written);
    }
    fsyncSync(fd);
    if (fstatSync(fd).size !== bytes.length) {
      throw new RuntimeError(`Short write to "${temporary}"`);
    }
  } catch (error) {
    closeSync(fd);
    Deno.removeSync(temporary);
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temporary, real);
  } catch (error) {
    Deno.removeSync(temporary);
    throw error;
  }
}
