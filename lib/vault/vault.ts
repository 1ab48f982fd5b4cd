/**
 * Which vault backend a command uses, decided once: `--vault-backend`, else
 * `TIMEBOUND_IAM_VAULT_BACKEND`, else the config file's `vaultBackend`, else the OS keychain
 * where one answers and the encrypted file where none does. The file's passphrase comes from
 * `TIMEBOUND_IAM_VAULT_PASSPHRASE` or, on a terminal, is asked without echo.
 *
 * Whether a vault is in use at all is known without opening one (`vault_place.ts`): a user who
 * never ran `keys` pays one `lstat` per grant, and no keychain is ever asked.
 *
 * @module
 */

import { RuntimeError, UsageError } from "../core/errors.ts";
import type { ReadSecret } from "../core/secret_line.ts";
import {
  chooseBackend,
  configuredBackend,
  type VaultBackend,
  type VaultChoiceSource,
} from "./backend.ts";
import { type AskPassphrase, openEncryptedFile } from "./encrypted_file.ts";
import { keychainAnswers, openKeychain } from "./keychain.ts";

/** The variable that holds the encrypted file's passphrase (weaker than typing it). */
export const VAULT_PASSPHRASE_VARIABLE = "TIMEBOUND_IAM_VAULT_PASSPHRASE";

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
        "The vault file's passphrase is needed, and there is no terminal to ask it on",
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
