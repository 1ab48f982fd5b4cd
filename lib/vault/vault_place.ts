/**
 * Where the vault lives and whether it holds anything, known without opening it: the vault
 * directory, and an `lstat` each for the encrypted file and the keychain's index. No
 * cryptography, no keychain and no passphrase here: a grant that finds no vault in use loads
 * nothing more of the vault.
 *
 * @module
 */

import { posix, win32 } from "node:path";
import { RuntimeError } from "../core/errors.ts";

/** The keychain's index of profiles, in the vault directory. */
export const KEYCHAIN_INDEX = "keychain-profiles";

/** The file's name in its directory. */
export const VAULT_FILE = "vault";

/**
 * The directory of the vault file: `$XDG_DATA_HOME/timebound-iam` (when absolute), else
 * `%APPDATA%\timebound-iam` on Windows, `~/Library/Application Support/timebound-iam` on macOS,
 * `~/.local/share/timebound-iam` elsewhere.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { vaultDirectory } from "./vault_place.ts";
 * assert.equal(vaultDirectory({ HOME: "/home/me" }, { os: "linux" }), "/home/me/.local/share/timebound-iam");
 * ```
 */
export function vaultDirectory(
  env: Readonly<Record<string, string>>,
  options: { os?: string } = {},
): string {
  const os = options.os ?? Deno.build.os;
  const { join } = os === "windows" ? win32 : posix;
  const xdg = env.XDG_DATA_HOME;
  if (xdg && (xdg.startsWith("/") || (os === "windows" && /^[A-Za-z]:[\\/]/.test(xdg)))) {
    return join(xdg, "timebound-iam");
  }
  if (os === "windows" && env.APPDATA) return join(env.APPDATA, "timebound-iam");
  const home = env.HOME ?? env.USERPROFILE;
  if (!home) {
    throw new RuntimeError("Cannot find the vault file: neither HOME nor XDG_DATA_HOME is set", {
      hint: "set XDG_DATA_HOME to an absolute path",
    });
  }
  if (os === "darwin") return join(home, "Library", "Application Support", "timebound-iam");
  return join(home, ".local", "share", "timebound-iam");
}

/**
 * Whether any vault holds something here: the encrypted file or the keychain's index exists.
 * Asks no keychain and no passphrase.
 */
export function vaultInUse(
  env: Readonly<Record<string, string>>,
  options: { os?: string } = {},
): boolean {
  const dir = vaultDirectory(env, options);
  const { join } = (options.os ?? Deno.build.os) === "windows" ? win32 : posix;
  return [VAULT_FILE, KEYCHAIN_INDEX].some((name) => {
    try {
      Deno.lstatSync(join(dir, name));
      return true;
    } catch {
      return false;
    }
  });
}
