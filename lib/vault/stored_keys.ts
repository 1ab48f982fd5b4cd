/**
 * The human's long-lived keys in the vault: one item `keys/<profile>` per AWS profile, holding
 * the access key id, the secret, when they were stored, the account and user they belong to
 * (from the `GetCallerIdentity` that checked them) and, when IAM said, when the key was created.
 * Items stored before the creation date was kept have none, and read as before. With the
 * keychain, the profile's name also goes to the keychain's index (see `vault.ts`), which holds no
 * secret.
 *
 * @module
 */

import { RuntimeError } from "../core/errors.ts";
import { openPrivateDir } from "../core/private_dir.ts";
import type { Vault } from "./vault.ts";
import { KEYCHAIN_INDEX, vaultDirectory } from "./vault_place.ts";

/** What the vault keeps for a profile. */
export interface StoredKeys {
  /** The access key id (`AKIA…`). */
  accessKeyId: string;
  /** The secret access key. */
  secretAccessKey: string;
  /** When they were stored (ISO 8601). */
  storedAt: string;
  /** When the key was created at AWS (ISO 8601), when IAM said. */
  createdAt?: string;
  /** The account they belong to, when known. */
  account?: string;
  /** The user's ARN, when known. */
  arn?: string;
}

const PREFIX = "keys/";
const ACCESS_KEY_ID = /^(AKIA|ASIA)[A-Z0-9]{12,124}$/;

/**
 * Shows an access key id as `AKIA…WXYZ`: its kind and its last four characters, never the rest.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskKeyId } from "./stored_keys.ts";
 * assert.equal(maskKeyId("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
 * ```
 */
export function maskKeyId(id: string): string {
  return id.length < 12 ? "…" : `${id.slice(0, 4)}…${id.slice(-4)}`;
}

/** Whether `id` looks like an AWS access key id. */
export function isAccessKeyId(id: string): boolean {
  return ACCESS_KEY_ID.test(id);
}

/** The keys of `profile`, or `undefined` when the vault has none for it. */
export async function getStoredKeys(
  vault: Vault,
  profile: string,
): Promise<StoredKeys | undefined> {
  const text = await vault.backend.get(PREFIX + profile);
  if (text === undefined) return undefined;
  const keys = parseStoredKeys(text);
  if (keys === undefined) {
    throw new RuntimeError(`The vault's item for profile "${profile}" is not readable`, {
      hint: `store the keys again: timebound-iam keys add ${profile}`,
    });
  }
  return keys;
}

/** Stores the keys of `profile`, replacing any; with the keychain, adds it to the index. */
export async function putStoredKeys(
  vault: Vault,
  profile: string,
  options: { keys: StoredKeys; env: Readonly<Record<string, string>> },
): Promise<void> {
  await vault.backend.set(PREFIX + profile, JSON.stringify(options.keys));
  if (vault.backend.kind === "keychain") {
    await updateIndex(options.env, (names) => names.add(profile));
  }
}

/** Removes the keys of `profile`; true if there were some. */
export async function removeStoredKeys(
  vault: Vault,
  profile: string,
  env: Readonly<Record<string, string>>,
): Promise<boolean> {
  const removed = await vault.backend.delete(PREFIX + profile);
  if (vault.backend.kind === "keychain") await updateIndex(env, (names) => names.delete(profile));
  return removed;
}

/**
 * The profiles whose keys the vault holds, sorted. With the keychain, the keychain's own search
 * and the index are joined: a keychain whose search finds nothing it did not make (or cannot
 * search at all) still lists what this user stored.
 */
export async function storedKeyProfiles(
  vault: Vault,
  env: Readonly<Record<string, string>>,
): Promise<string[]> {
  const names = vault.backend.kind === "keychain" ? await keychainIndex(env) : new Set<string>();
  try {
    for (const name of await vault.backend.list(PREFIX)) names.add(name.slice(PREFIX.length));
  } catch (error) {
    // A keychain that cannot search: the index says what to read (and reading says if it fails).
    if (vault.backend.kind !== "keychain" || names.size === 0) throw error;
  }
  return [...names].sort();
}

/**
 * The profiles the keychain's index names (no keychain is asked): the profiles whose keys were
 * stored in the keychain by this user.
 */
export async function keychainIndex(env: Readonly<Record<string, string>>): Promise<Set<string>> {
  let text: string | undefined;
  try {
    const dir = await openPrivateDir(vaultDirectory(env), { create: false });
    text = await dir.read(KEYCHAIN_INDEX);
  } catch (error) {
    if (error instanceof RuntimeError && /does not exist/.test(error.message)) return new Set();
    throw error;
  }
  try {
    const names = JSON.parse(text ?? "[]");
    return new Set(Array.isArray(names) ? names.filter((n) => typeof n === "string") : []);
  } catch {
    return new Set();
  }
}

async function updateIndex(
  env: Readonly<Record<string, string>>,
  change: (names: Set<string>) => void,
): Promise<void> {
  const names = await keychainIndex(env);
  change(names);
  const dir = await openPrivateDir(vaultDirectory(env));
  if (names.size === 0) await dir.remove(KEYCHAIN_INDEX);
  else await dir.replace(KEYCHAIN_INDEX, `${JSON.stringify([...names].sort())}\n`);
}

function parseStoredKeys(text: string): StoredKeys | undefined {
  try {
    const raw = JSON.parse(text);
    if (
      typeof raw?.accessKeyId !== "string" || typeof raw.secretAccessKey !== "string" ||
      typeof raw.storedAt !== "string"
    ) return undefined;
    return {
      accessKeyId: raw.accessKeyId,
      secretAccessKey: raw.secretAccessKey,
      storedAt: raw.storedAt,
      // A date that does not read is as good as none: the item's keys still work.
      createdAt: typeof raw.createdAt === "string" && !Number.isNaN(Date.parse(raw.createdAt))
        ? raw.createdAt
        : undefined,
      account: typeof raw.account === "string" ? raw.account : undefined,
      arn: typeof raw.arn === "string" ? raw.arn : undefined,
    };
  } catch {
    return undefined;
  }
}
