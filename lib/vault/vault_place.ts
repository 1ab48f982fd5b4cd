/**
 * Where the vault lives and which backend holds it, known without opening it: the vault
 * directory, whether anything is stored there (an `lstat` each for the encrypted file and the
 * keychain's index), and the backend that the flag, the variable or the config file names. No
 * cryptography, no keychain and no passphrase here: a grant that finds no vault in use loads
 * nothing more of the vault.
 *
 * @module
 */

import { posix, win32 } from "node:path";
import { RuntimeError } from "../core/errors.ts";
import { configPath } from "../core/config_path.ts";
import { readTrustedFile } from "../core/private_dir.ts";
import { parseVaultBackend, type VaultBackendKind } from "./backend.ts";

/** The variable that names the backend. */
export const VAULT_BACKEND_VARIABLE = "TIMEBOUND_IAM_VAULT_BACKEND";

/** The keychain's index of profiles, in the vault directory. */
export const KEYCHAIN_INDEX = "keychain-profiles";

/** The file's name in its directory. */
export const VAULT_FILE = "vault";

/** What decided the backend. */
export type VaultChoiceSource =
  | "--vault-backend"
  | typeof VAULT_BACKEND_VARIABLE
  | "the config file"
  | "default";

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

/** The backend named by the flag, the variable or the config file, in that order. */
export function chooseBackend(
  options: {
    /** The environment (`TIMEBOUND_IAM_VAULT_BACKEND`). */
    env: Readonly<Record<string, string>>;
    /** `--vault-backend`, when given. */
    flag?: string;
    /** The config file's `vaultBackend`, when set. */
    config?: string;
  },
): { kind?: VaultBackendKind; by: VaultChoiceSource } {
  if (options.flag) {
    return { kind: parseVaultBackend(options.flag, "--vault-backend"), by: "--vault-backend" };
  }
  const variable = options.env[VAULT_BACKEND_VARIABLE];
  if (variable) {
    return {
      kind: parseVaultBackend(variable, VAULT_BACKEND_VARIABLE),
      by: VAULT_BACKEND_VARIABLE,
    };
  }
  if (options.config) {
    return {
      kind: parseVaultBackend(options.config, "vaultBackend in the config file"),
      by: "the config file",
    };
  }
  return { by: "default" };
}

/**
 * The config file's `vaultBackend`, read alone (the file's other settings are the grant stage's,
 * which validates the whole file): `undefined` when there is no file or no such setting. A file
 * that others could change is refused, as for every setting in it.
 */
export function configuredBackend(env: Readonly<Record<string, string>>): string | undefined {
  let text: string | undefined;
  try {
    text = readTrustedFile(configPath(env));
  } catch (error) {
    throw new RuntimeError(`Cannot read the config file: ${(error as Error).message}`, {
      hint: (error as RuntimeError).hint,
      cause: error,
    });
  }
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text)?.vaultBackend;
    return typeof value === "string" ? value : undefined;
  } catch {
    // A malformed file is reported, with its field, by the commands that load it whole.
    return undefined;
  }
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
