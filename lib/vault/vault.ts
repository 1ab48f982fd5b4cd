/**
 * Which vault backend a command uses, decided once: `--vault-backend`, else
 * `TIMEBOUND_IAM_VAULT_BACKEND`, else the config file's `vaultBackend`, else the OS keychain
 * where one answers and the encrypted file where none does. The file's passphrase comes from
 * `TIMEBOUND_IAM_VAULT_PASSPHRASE` or, on a terminal, is asked without echo.
 *
 * Whether a vault is in use at all is known without asking any keychain: the encrypted file, or
 * the keychain's index (`keychain-profiles`, the names of the profiles whose keys are in the
 * keychain: no secret), exists in the vault directory. A user who never ran `keys` pays one
 * `lstat` per grant, and no keychain is ever asked.
 *
 * @module
 */

import { posix, win32 } from "node:path";
import { RuntimeError, UsageError } from "../core/errors.ts";
import type { ReadSecret } from "../core/secret_line.ts";
import { configPath } from "../core/config_path.ts";
import { readTrustedFile } from "../core/private_dir.ts";
import { parseVaultBackend, type VaultBackend, type VaultBackendKind } from "./backend.ts";
import {
  type AskPassphrase,
  openEncryptedFile,
  VAULT_FILE,
  vaultDirectory,
} from "./encrypted_file.ts";
import { keychainAnswers, openKeychain } from "./keychain.ts";

/** The variable that names the backend. */
export const VAULT_BACKEND_VARIABLE = "TIMEBOUND_IAM_VAULT_BACKEND";
/** The variable that holds the encrypted file's passphrase (weaker than typing it). */
export const VAULT_PASSPHRASE_VARIABLE = "TIMEBOUND_IAM_VAULT_PASSPHRASE";
/** The keychain's index of profiles, in the vault directory. */
export const KEYCHAIN_INDEX = "keychain-profiles";

/** What decided the backend. */
export type VaultChoiceSource =
  | "--vault-backend"
  | typeof VAULT_BACKEND_VARIABLE
  | "the config file"
  | "default";

/** The backend in use and what chose it. */
export interface Vault {
  /** The backend. */
  backend: VaultBackend;
  /** What chose it: a flag, the variable, the config file, or the default (keychain if it answers). */
  chosenBy: VaultChoiceSource;
}

/** Options of {@linkcode openVault}. */
export interface OpenVaultOptions {
  /** The environment (the variables above, the directories). */
  env: Readonly<Record<string, string>>;
  /** `--vault-backend`, when given. */
  flag?: string;
  /** The config file's `vaultBackend`, when set. */
  config?: string;
  /** Reads a secret line on the terminal; absent when there is no terminal to ask on. */
  readSecret?: ReadSecret;
  /** Says whether a keychain answers (tests). */
  keychainAnswers?: () => Promise<boolean>;
  /** The keychain service (tests). */
  keychainService?: string;
}

/** Decides the backend and opens it (see the module's description). */
export async function openVault(options: OpenVaultOptions): Promise<Vault> {
  const chosen = chooseBackend({
    ...options,
    config: options.config ?? configuredBackend(options.env),
  });
  let kind = chosen.kind;
  if (kind === undefined) {
    kind = await (options.keychainAnswers ?? keychainAnswers)() ? "keychain" : "file";
  }
  const backend = kind === "keychain"
    ? openKeychain({ service: options.keychainService })
    : openEncryptedFile({ env: options.env, askPassphrase: passphraseSource(options) });
  return { backend, chosenBy: chosen.by };
}

/** The backend named by the flag, the variable or the config file, in that order. */
export function chooseBackend(
  options: Pick<OpenVaultOptions, "env" | "flag" | "config">,
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

const MIN_PASSPHRASE = 8;

/**
 * The encrypted file's passphrase: `TIMEBOUND_IAM_VAULT_PASSPHRASE`, else asked on the terminal
 * (twice for a new file), else a usage error that names both ways.
 */
export function passphraseSource(
  options: Pick<OpenVaultOptions, "env" | "readSecret">,
): AskPassphrase {
  return async (purpose) => {
    const fromEnv = options.env[VAULT_PASSPHRASE_VARIABLE];
    if (fromEnv) {
      if (purpose === "create") checkNewPassphrase(fromEnv, VAULT_PASSPHRASE_VARIABLE);
      return fromEnv;
    }
    if (options.readSecret === undefined) {
      throw new UsageError(
        "The vault file's passphrase is needed, and standard input is not a terminal",
        {
          hint:
            `run this in a terminal, or set ${VAULT_PASSPHRASE_VARIABLE} (weaker: see docs/vault.md)`,
        },
      );
    }
    if (purpose === "open") return await options.readSecret("Vault passphrase: ");
    const first = await options.readSecret("New vault passphrase: ");
    checkNewPassphrase(first, "the prompt");
    if (await options.readSecret("Type it again: ") !== first) {
      throw new RuntimeError("The two passphrases differ: nothing was stored", {
        hint: "run the command again",
      });
    }
    return first;
  };
}

function checkNewPassphrase(passphrase: string, from: string): void {
  if ([...passphrase].length < MIN_PASSPHRASE) {
    throw new UsageError(
      `Passphrase from ${from} is too short: use at least ${MIN_PASSPHRASE} characters`,
    );
  }
}
