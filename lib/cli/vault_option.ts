/**
 * The vault as the CLI opens it: `--vault-backend` (with `TIMEBOUND_IAM_VAULT_BACKEND` and the
 * config file behind it, see `lib/vault/vault.ts`), and the terminal for the encrypted file's
 * passphrase when standard input is one.
 *
 * @module
 */

import { Option } from "./commander.ts";
import type { Io } from "../core/io.ts";
import { readSecretLine } from "../core/secret_line.ts";
import { openVault, type Vault } from "../vault/vault.ts";

/** `--vault-backend keychain|file`. */
export function vaultBackendOption(): Option<"--vault-backend <backend>"> {
  return new Option(
    "--vault-backend <backend>",
    "where the vault is: keychain or file (default: TIMEBOUND_IAM_VAULT_BACKEND, the config " +
      "file's vaultBackend, else the OS keychain if one answers, else the encrypted file)",
  );
}

/** Opens the vault for a command: the flag, then the variable and config file, then the default. */
export async function openCliVault(
  io: Io,
  options: { flag?: string; config?: string },
): Promise<Vault> {
  return await openVault({
    env: io.env,
    flag: options.flag,
    config: options.config,
    readSecret: io.stdinIsTerminal
      ? (question) => readSecretLine(question, { write: io.stderr })
      : undefined,
  });
}
