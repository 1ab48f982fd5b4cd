/**
 * Deno's FFI permission, narrowed at start: the `cli` permission set grants it (the OS keychain's
 * native addon needs it, at a path no permission set can name ahead of time: see docs/vault.md),
 * and every command that cannot reach the keychain drops it before it runs. The keychain module
 * drops it too, as soon as its addon has loaded.
 *
 * @module
 */

import { vaultInUse } from "../vault/vault_place.ts";

/** The commands that may open the vault even when none is in use yet. */
const VAULT_COMMANDS = ["keys", "doctor", "setup"];
/** The commands that never open the vault: no grant, no AWS call. */
const NO_VAULT_COMMANDS = ["policy", "services", "completions"];

/**
 * Whether `command` (a top-level command's name) may need the OS keychain: the `keys` commands,
 * `doctor` (which says where the vault is) and `setup` (which offers `keys import`) always;
 * `policy`, `services` and `completions` never; any other only when a vault is in use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mayNeedKeychain } from "./ffi_permission.ts";
 * assert.equal(mayNeedKeychain("keys", {}), true);
 * assert.equal(mayNeedKeychain("policy", { HOME: "/nonexistent" }), false);
 * ```
 */
export function mayNeedKeychain(
  command: string,
  env: Readonly<Record<string, string>>,
): boolean {
  if (VAULT_COMMANDS.includes(command)) return true;
  if (NO_VAULT_COMMANDS.includes(command)) return false;
  try {
    return vaultInUse(env);
  } catch {
    return false; // No HOME: no vault either.
  }
}

/**
 * Revokes FFI for the rest of the process unless `command` may need the keychain, or the vault
 * is chosen to be the encrypted file (by `--vault-backend`, given as `vaultBackend`,
 * `TIMEBOUND_IAM_VAULT_BACKEND` or the config file), which needs no native library.
 */
export async function narrowFfiPermission(
  command: string,
  env: Readonly<Record<string, string>>,
  options: { vaultBackend?: string } = {},
): Promise<void> {
  if (!mayNeedKeychain(command, env) || await chosenFile(env, options.vaultBackend)) {
    Deno.permissions.revokeSync({ name: "ffi" });
  }
}

/** Whether the encrypted file is the backend named (its module loads only when asked). */
async function chosenFile(
  env: Readonly<Record<string, string>>,
  flag: string | undefined,
): Promise<boolean> {
  const { chooseBackend, configuredBackend } = await import("../vault/backend.ts");
  try {
    return chooseBackend({ env, flag, config: configuredBackend(env) }).kind === "file";
  } catch {
    return false; // A bad choice is refused, in words, where the vault is opened.
  }
}
