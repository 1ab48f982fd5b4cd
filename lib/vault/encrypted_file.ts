/**
 * The `file` backend: every item in one encrypted file, for machines without an OS keychain
 * (a headless Linux server, CI). The file is `vault` in a private directory (created 0700 or
 * verified through `private_dir.ts`), written 0600 to a new name and renamed into place, sealed
 * as `sealed_box.ts` describes. Writers take a lock beside it, so two processes that add an item
 * each keep both.
 *
 * The passphrase is asked once per process, only when the file exists and an item is read, or
 * when the first item is written (then twice, to confirm). A damaged or altered file, or a wrong
 * passphrase, is one line and exit 1; the file is left as it was.
 *
 * @module
 */

import { posix, win32 } from "node:path";
import { RuntimeError } from "../core/errors.ts";
import { openPrivateDir, type PrivateDir } from "../core/private_dir.ts";
import { checkItem, type VaultBackend } from "./backend.ts";
import { VAULT_FILE, vaultDirectory } from "./vault_place.ts";
import {
  deriveSealKey,
  type OpenFailure,
  openSealed,
  type SealKey,
  sealText,
} from "./sealed_box.ts";

const LOCK_FILE = ".vault.lock";
const LOCK_WAIT_MS = 10_000;
const MAX_FILE_CHARS = 4 * 1024 * 1024;

/**
 * Gives the passphrase: `create` when the file is new (ask twice and compare), `open` when it
 * exists.
 */
export type AskPassphrase = (purpose: "open" | "create") => Promise<string>;

/** Options of {@linkcode openEncryptedFile}. */
export interface EncryptedFileOptions {
  /** The environment, for `XDG_DATA_HOME`, `HOME`, `APPDATA`. */
  env: Readonly<Record<string, string>>;
  /** Gives the passphrase. */
  askPassphrase: AskPassphrase;
  /** The directory itself, over the one the environment gives (tests). */
  dir?: string;
  /** The operating system, for the default directory. */
  os?: string;
}

/** The decrypted content: every item by name. */
type Items = Record<string, string>;

/**
 * Opens the `file` backend. Nothing is read, created or asked until an item is used.
 */
export function openEncryptedFile(options: EncryptedFileOptions): VaultBackend {
  const root = options.dir ?? vaultDirectory(options.env, { os: options.os });
  const os = options.os ?? Deno.build.os;
  const path = (os === "windows" ? win32 : posix).join(root, VAULT_FILE);
  let key: SealKey | undefined;

  const openDir = async (create: boolean): Promise<PrivateDir | undefined> => {
    if (!create) {
      try {
        Deno.lstatSync(root);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined;
        throw error;
      }
    }
    return await openPrivateDir(root, { create });
  };

  const load = async (dir: PrivateDir | undefined): Promise<Items | undefined> => {
    const text = dir && await dir.read(VAULT_FILE);
    if (text === undefined) return undefined;
    if (text.length > MAX_FILE_CHARS) throw refusal("damaged", path);
    const opened = await openSealed(text, () => options.askPassphrase("open"), key);
    if (!opened.ok) throw refusal(opened.failure, path);
    key = opened.key;
    return parseItems(opened.text, path);
  };

  const change = async (apply: (items: Items) => boolean): Promise<boolean> => {
    const dir = (await openDir(true))!;
    const release = await lock(dir);
    try {
      const items = await load(dir) ?? {};
      if (!apply(items)) return false;
      key ??= deriveSealKey(await options.askPassphrase("create"));
      await dir.replace(VAULT_FILE, sealText(JSON.stringify({ version: 1, items }), key));
      return true;
    } finally {
      release();
    }
  };

  return {
    kind: "file",
    location: path,
    async get(name) {
      checkItem(name);
      const items = await load(await openDir(false));
      return items !== undefined && Object.hasOwn(items, name) ? items[name] : undefined;
    },
    async set(name, value) {
      checkItem(name, value);
      await change((items) => {
        items[name] = value;
        return true;
      });
    },
    async delete(name) {
      checkItem(name);
      if (await openDir(false) === undefined) return false;
      return await change((items) => {
        if (!Object.hasOwn(items, name)) return false;
        delete items[name];
        return true;
      });
    },
    async list(prefix) {
      const items = await load(await openDir(false));
      return Object.keys(items ?? {}).filter((name) => name.startsWith(prefix)).sort();
    },
  };
}

/** Takes the writers' lock (flock/LockFileEx on a 0600 file beside the vault). */
async function lock(dir: PrivateDir): Promise<() => void> {
  let file: Deno.FsFile;
  try {
    file = await dir.openLockFile(LOCK_FILE, { create: true });
  } catch (error) {
    if (!((error as Error).cause instanceof Deno.errors.AlreadyExists)) throw error;
    file = await dir.openLockFile(LOCK_FILE, { create: false });
  }
  const deadline = Date.now() + LOCK_WAIT_MS;
  while (!await file.tryLock(true)) {
    if (Date.now() >= deadline) {
      file.close();
      throw new RuntimeError(
        `The vault file "${dir.pathOf(VAULT_FILE)}" is locked by another process`,
        {
          hint: "wait for the other timebound-iam command to finish, then try again",
        },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return () => file.close();
}

function refusal(failure: OpenFailure, path: string): RuntimeError {
  switch (failure) {
    case "wrong-passphrase":
      return new RuntimeError(`Wrong passphrase for the vault file "${path}"`, {
        hint: "type it again (or check TIMEBOUND_IAM_VAULT_PASSPHRASE); the file is unchanged",
      });
    case "altered":
      return new RuntimeError(
        `Vault file "${path}" was altered: its authentication failed, refusing to read it`,
        { hint: "restore it from a backup, or move it aside and add your keys again" },
      );
    case "damaged":
      return new RuntimeError(
        `Vault file "${path}" is damaged or was altered: refusing to read it`,
        { hint: "restore it from a backup, or move it aside and add your keys again" },
      );
  }
}

function parseItems(text: string, path: string): Items {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw refusal("damaged", path);
  }
  const items = (raw as { items?: unknown })?.items;
  if (typeof items !== "object" || items === null || Array.isArray(items)) {
    throw refusal("damaged", path);
  }
  const result: Items = {};
  for (const [name, value] of Object.entries(items)) {
    if (typeof value === "string") result[name] = value;
  }
  return result;
}
