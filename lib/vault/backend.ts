/**
 * The vault's backend: where the human's long-lived keys and the cached sessions made from them
 * are kept instead of `~/.aws/credentials` and the cache directory. Two kinds answer to one
 * interface of four verbs on named text items, so that every caller (the `keys` commands, the
 * base credentials of a grant, the cache store) is the same whichever backend holds them:
 *
 * - `keychain`: the OS keychain (macOS Keychain, Windows Credential Manager, Linux Secret
 *   Service), one item per name (`keychain.ts`);
 * - `file`: one encrypted file (scrypt and AES-256-GCM) for machines without a keychain
 *   (`encrypted_file.ts`).
 *
 * @module
 */

import { RuntimeError, UsageError } from "../core/errors.ts";
import { configPath } from "../core/config_path.ts";
import { readTrustedFile } from "../core/private_dir.ts";

/** The kinds of backend, as `--vault-backend` and `TIMEBOUND_IAM_VAULT_BACKEND` name them. */
export const VAULT_BACKENDS = ["keychain", "file"] as const;

/** A kind of backend. */
export type VaultBackendKind = typeof VAULT_BACKENDS[number];

/**
 * A store of secret text items under names. Names are not secret (they name profiles and cache
 * entries); values are, and never leave a backend but through {@linkcode VaultBackend.get}.
 */
export interface VaultBackend {
  /** Which kind it is. */
  readonly kind: VaultBackendKind;
  /** Where it is, in words, for messages (`the OS keychain (…)`, or the file's path). */
  readonly location: string;
  /** The item `name`, or `undefined` when there is none. */
  get(name: string): Promise<string | undefined>;
  /** Stores `value` under `name`, replacing what was there. */
  set(name: string, value: string): Promise<void>;
  /** Removes the item `name`; true if there was one. */
  delete(name: string): Promise<boolean>;
  /** The names of every item that starts with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
}

/** The longest item name a backend accepts. */
export const MAX_ITEM_NAME = 200;
/** The largest item value a backend accepts, in characters. */
export const MAX_ITEM_VALUE = 16_384;

/**
 * Checks an item's name and value against the bounds every backend keeps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkItem } from "./backend.ts";
 * assert.doesNotThrow(() => checkItem("keys/dev", "{}"));
 * assert.throws(() => checkItem("", "{}"));
 * ```
 */
export function checkItem(name: string, value?: string): void {
  const control = [...name].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127);
  if (name.length === 0 || name.length > MAX_ITEM_NAME || control) {
    throw new UsageError(`Invalid vault item name: ${name.length} characters`);
  }
  if (value !== undefined && value.length > MAX_ITEM_VALUE) {
    throw new UsageError(`Vault item "${name}" is too large: ${value.length} characters`);
  }
}

/**
 * Parses a backend's name (`--vault-backend`, `TIMEBOUND_IAM_VAULT_BACKEND`, the config file's
 * `vaultBackend`), case-insensitively.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseVaultBackend } from "./backend.ts";
 * assert.equal(parseVaultBackend("Keychain", "--vault-backend"), "keychain");
 * assert.throws(() => parseVaultBackend("kwallet", "--vault-backend"));
 * ```
 */
export function parseVaultBackend(text: string, from: string): VaultBackendKind {
  const kind = text.trim().toLowerCase();
  if ((VAULT_BACKENDS as readonly string[]).includes(kind)) return kind as VaultBackendKind;
  throw new UsageError(
    `Invalid ${from} "${text.slice(0, 40)}": use ${VAULT_BACKENDS.join(" or ")}`,
  );
}

/** The variable that names the backend. */
export const VAULT_BACKEND_VARIABLE = "TIMEBOUND_IAM_VAULT_BACKEND";

/** What decided the backend. */
export type VaultChoiceSource =
  | "--vault-backend"
  | typeof VAULT_BACKEND_VARIABLE
  | "the config file"
  | "default";

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
