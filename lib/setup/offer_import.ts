/**
 * The end of `setup aws`: when the profile it set up for still keeps long-lived keys in
 * `~/.aws/credentials`, offer to move them into the vault (`keys import`) — asked on a terminal,
 * else said in one note with the command.
 *
 * @module
 */

import type { Io } from "../core/io.ts";
import { readSecretLine } from "../core/secret_line.ts";
import { awsTimeoutMs } from "../aws/timeout.ts";
import { profileLabel, resolveProfile, usesEnvironmentKeys } from "../aws/profile.ts";
import { openVault } from "../vault/vault.ts";
import {
  credentialsFilePath,
  findFileKeys,
  readCredentialsFile,
} from "../keys/credentials_file.ts";
import { importKeys } from "../keys/import_keys.ts";

/** What {@linkcode offerKeysImport} needs. */
export interface OfferImportOptions {
  /** `--profile`. */
  profile?: string;
  /** The region for the check of the keys. */
  region: string;
  /** Asks a yes/no question on the terminal; absent without one. */
  confirm?: (message: string) => Promise<boolean>;
  /** The clock. */
  now?: () => Date;
}

/** Offers the import (see the module's description); does nothing when there is nothing to move. */
export async function offerKeysImport(io: Io, options: OfferImportOptions): Promise<void> {
  if (usesEnvironmentKeys(options.profile, io.env)) return;
  const profile = profileLabel(resolveProfile(options.profile, io.env));
  let path: string;
  try {
    path = credentialsFilePath(io.env);
  } catch {
    return; // No HOME: no credentials file to speak of.
  }
  const text = await readCredentialsFile(path).catch(() => undefined);
  const keys = findFileKeys(text ?? "").find((k) => k.profile === profile && !k.hasSessionToken);
  if (keys === undefined) return;
  const command = `timebound-iam keys import --profile ${profile}`;
  const question =
    `The long-lived keys of profile "${profile}" are in ${path}, where any process ` +
    "of yours can read them. Move them into the vault now?";
  if (!io.stdinIsTerminal || options.confirm === undefined || !await options.confirm(question)) {
    io.stderr(
      `Note: the long-lived keys of profile "${profile}" are still in ${path}, readable by any ` +
        `process of yours; move them into the vault with: ${command}\n`,
    );
    return;
  }
  const readSecret = (question: string) => readSecretLine(question, { write: io.stderr });
  const vault = await openVault({ env: io.env, readSecret });
  await importKeys({
    io,
    vault,
    aws: { region: options.region, timeoutMs: awsTimeoutMs(io.env) },
    confirm: () => Promise.resolve(true),
    readSecret,
    now: options.now ?? (() => new Date()),
  }, { profile, yes: true });
}
