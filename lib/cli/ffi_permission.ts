/**
 * Deno's FFI permission, narrowed at start: the `cli` permission set grants it (the OS keychain's
 * native addon needs it, at a path no permission set can name ahead of time: see docs/vault.md),
 * and every command that cannot reach the keychain drops it before it runs. The keychain module
 * drops it too, as soon as its addon has loaded.
 *
 * @module
 */

import { vaultInUse } from "../vault/vault.ts";

/** The commands that may open the vault even when none is in use yet. */
const VAULT_COMMANDS = ["keys", "doctor", "setup"];

/**
 * Whether `command` (a top-level command's name) may need the OS keychain: the `keys` commands,
 * `doctor` (which says where the vault is) and `setup` (which offers `keys import`) always; any
 * other only when a vault is in use.
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
  try {
    return vaultInUse(env);
  } catch {
    return false; // No HOME: no vault either.
  }
}

/** Revokes FFI for the rest of the process unless `command` may need the keychain. */
export function narrowFfiPermission(command: string, env: Readonly<Record<string, string>>): void {
  if (!mayNeedKeychain(command, env)) Deno.permissions.revokeSync({ name: "ffi" });
}
