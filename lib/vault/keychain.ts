/**
 * The `keychain` backend: the OS keychain through `@napi-rs/keyring` (keyring-rs): the macOS
 * Keychain, the Windows Credential Manager, the Linux Secret Service (GNOME Keyring, KWallet,
 * KeePassXC). Each item is one generic password of the service `timebound-iam`, whose account is
 * the item's name.
 *
 * The native addon is loaded only when a command uses the keychain, and Deno's FFI permission is
 * revoked as soon as it has loaded: from then on, no code in the process (a dependency included)
 * can load a native library. On Linux the entries are pinned to the Secret Service: keyring-rs
 * would otherwise fall back to the kernel keyring, which forgets everything at logout.
 *
 * Every call has a deadline: a keychain that waits for an unlock prompt nobody answers fails
 * instead of hanging.
 *
 * @module
 */

import { RuntimeError } from "../core/errors.ts";
import { checkItem, type VaultBackend } from "./backend.ts";

/** The keychain service (macOS), target name prefix (Windows) and `service` attribute (Linux). */
export const KEYCHAIN_SERVICE = "timebound-iam";
/** How long one keychain call may take (an unlock prompt shown to the human included). */
export const KEYCHAIN_TIMEOUT_MS = 60_000;
/** How long {@linkcode keychainAnswers} waits. */
const PROBE_TIMEOUT_MS = 5_000;

type KeyringModule = typeof import("@napi-rs/keyring");

let loaded: Promise<KeyringModule> | undefined;

/**
 * Loads the native addon once, then revokes FFI. A failure (no FFI permission, no addon for this
 * platform) is a {@linkcode RuntimeError} saying the keychain cannot be used.
 */
export function loadKeyring(): Promise<KeyringModule> {
  loaded ??= (async () => {
    try {
      return await import("@napi-rs/keyring");
    } catch (error) {
      throw new RuntimeError(`Cannot load the OS keychain library: ${firstLine(error)}`, {
        hint: "use the encrypted file instead: --vault-backend file",
        cause: error,
      });
    } finally {
      // Whatever happened, nothing else in this process may load a native library.
      await Deno.permissions.revoke({ name: "ffi" }).catch(() => {});
    }
  })();
  return loaded;
}

/** Where the keychain is, in words, on this operating system. */
export function keychainName(os: string = Deno.build.os): string {
  if (os === "darwin") return "the macOS Keychain";
  if (os === "windows") return "the Windows Credential Manager";
  return "the Secret Service (OS keychain)";
}

/** Options of {@linkcode openKeychain}. */
export interface KeychainOptions {
  /** The service items are stored under (tests may use their own). */
  service?: string;
  /** How long one call may take. */
  timeoutMs?: number;
}

/**
 * Opens the `keychain` backend. The addon is loaded at the first call.
 */
export function openKeychain(options: KeychainOptions = {}): VaultBackend {
  const service = options.service ?? KEYCHAIN_SERVICE;
  const timeoutMs = options.timeoutMs ?? KEYCHAIN_TIMEOUT_MS;
  const entry = async (name: string) => {
    const { AsyncEntry } = await loadKeyring();
    return new AsyncEntry(service, name, { linux: { store: "secret-service" } });
  };
  const call = async <T>(what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    try {
      return await run(AbortSignal.timeout(timeoutMs));
    } catch (error) {
      if (error instanceof RuntimeError) throw error;
      throw new RuntimeError(`The OS keychain refused to ${what}: ${firstLine(error)}`, {
        hint: "unlock your keychain (log in to the desktop session), or use the encrypted " +
          "file: --vault-backend file",
        cause: error,
      });
    }
  };
  return {
    kind: "keychain",
    location: keychainName(),
    async get(name) {
      checkItem(name);
      const item = await entry(name);
      return await call(
        "read an item",
        async (signal) => (await item.getPassword(signal)) ?? undefined,
      );
    },
    async set(name, value) {
      checkItem(name, value);
      const item = await entry(name);
      await call("store an item", (signal) => item.setPassword(value, signal));
    },
    async delete(name) {
      checkItem(name);
      const item = await entry(name);
      return await call("delete an item", (signal) => item.deletePassword(signal));
    },
    async list(prefix) {
      const { findCredentialsAsync } = await loadKeyring();
      const found = await call(
        "list its items",
        (signal) => findCredentialsAsync(service, undefined, signal),
      );
      return found.map((credential) => credential.account)
        .filter((name) => name.startsWith(prefix)).sort();
    },
  };
}

/**
 * Whether a keychain answers here: reading an item that need not exist succeeds (a locked
 * keychain answers too: reading a missing item does not unlock it). False when the addon cannot
 * load, there is no Secret Service on the session bus, or nothing answers within seconds.
 */
export async function keychainAnswers(options: KeychainOptions = {}): Promise<boolean> {
  try {
    const { AsyncEntry } = await loadKeyring();
    const probe = new AsyncEntry(options.service ?? KEYCHAIN_SERVICE, "probe", {
      linux: { store: "secret-service" },
    });
    await probe.getPassword(AbortSignal.timeout(options.timeoutMs ?? PROBE_TIMEOUT_MS));
    return true;
  } catch {
    return false;
  }
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0].slice(0, 200);
}
