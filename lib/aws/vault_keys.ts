/**
 * The vault's keys as base credentials: when the profile a grant uses has keys in the vault, they
 * sign every AWS call made for that profile (STS for the grant, `GetSessionToken` for an MFA
 * session, IAM for `setup` and `doctor`), instead of what the AWS SDK's provider chain would
 * find. `baseClientConfig` asks here, so every client made for a profile follows.
 *
 * Which profile: `--profile`, `AWS_PROFILE`, `AWS_DEFAULT_PROFILE`, else `default` — except when
 * the environment holds keys and no profile is named, or only `AWS_DEFAULT_PROFILE` names one:
 * those keys are used, as the AWS CLI would (`resolveProfile`).
 * A user without a vault pays one `lstat` (see `vaultInUse`) and loads none of the vault's
 * modules; the vault is read once per process and profile.
 *
 * @module
 */

import type { StoredKeys } from "../vault/stored_keys.ts";
import type { Vault } from "../vault/vault.ts";
import { vaultInUse } from "../vault/vault_place.ts";
import { questionsIo } from "../core/io.ts";
import { profileLabel, resolveProfile, usesEnvironmentKeys } from "./profile.ts";
import { knownKeysProvider } from "./known_keys.ts";

/** The vault and the keys it holds for a profile. */
export interface VaultHolding {
  /** The vault the keys are in (and where the profile's cached sessions go). */
  vault: Vault;
  /** The keys. */
  keys: StoredKeys;
  /** The profile's name. */
  profile: string;
}

/** Options of {@linkcode vaultHolding}. */
export interface VaultHoldingOptions {
  /** The environment (the profile variables, the vault's variables and directory). */
  env: Readonly<Record<string, string>>;
  /** The config file's `vaultBackend`, when set. */
  config?: string;
}

const vaults = new Map<string, Promise<Vault>>();

/**
 * The vault's keys for `profile` (see the module's description), or `undefined` when no vault
 * is in use or it holds none for it. The vault is opened once per process (the encrypted file's
 * passphrase comes from `TIMEBOUND_IAM_VAULT_PASSPHRASE`, else it is asked on the terminal
 * through the streams `askQuestionsOn` set, when their standard input is one); the keys are read
 * at each call, so a long-running `serve` sees keys that `keys rotate` replaced.
 */
export async function vaultHolding(
  profile: string | undefined,
  options: VaultHoldingOptions,
): Promise<VaultHolding | undefined> {
  const { env } = options;
  if (usesEnvironmentKeys(profile, env) || !vaultInUse(env)) return undefined;
  const name = profileLabel(resolveProfile(profile, env));
  const key = options.config ?? "";
  // The vault's modules (cryptography, the keychain) load only when a vault is in use.
  const [{ openVault }, { getStoredKeys }, { readSecretLine }] = await Promise.all([
    import("../vault/vault.ts"),
    import("../vault/stored_keys.ts"),
    import("../core/secret_line.ts"),
  ]);
  let opening = vaults.get(key);
  if (opening === undefined) {
    // Asked through the command's streams (main sets them; serve, whose standard input and
    // output are MCP's, sets none), never on the process's own behind the command's back.
    const io = questionsIo();
    opening = openVault({
      env,
      config: options.config,
      readSecret: io?.stdinIsTerminal
        ? (question) => readSecretLine(question, { write: io.stderr })
        : undefined,
    });
    vaults.set(key, opening);
    // A failure is not remembered: the next call tries again.
    opening.catch(() => vaults.delete(key));
  }
  const vault = await opening;
  try {
    const keys = await getStoredKeys(vault, name);
    return keys && { vault, keys, profile: name };
  } catch (error) {
    // A wrong passphrase: forget the vault, so that the next call asks again.
    vaults.delete(key);
    throw error;
  }
}

/** The SDK's `$source` mark that says credentials came from the vault. */
export const VAULT_SOURCE_MARK = "TIMEBOUND_IAM_VAULT";

/**
 * The `$source` mark of credentials that a role chain made from keys in the vault
 * (`vault_chain.ts`); its value names the profile that holds the keys.
 */
export const VAULT_CHAIN_MARK = "TIMEBOUND_IAM_VAULT_CHAIN";

/**
 * The keys as an AWS SDK credential provider, marked so that `doctor` can say where they came
 * from.
 */
export function vaultCredentials(holding: VaultHolding): () => Promise<{
  accessKeyId: string;
  secretAccessKey: string;
  $source: Record<string, string>;
}> {
  const { accessKeyId, secretAccessKey } = holding.keys;
  return knownKeysProvider({
    accessKeyId,
    secretAccessKey,
    $source: { [VAULT_SOURCE_MARK]: holding.vault.backend.kind },
  });
}
