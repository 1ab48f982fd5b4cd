/**
 * `keys import`: long-lived keys move from `~/.aws/credentials` into the vault. The story:
 *
 * 1. find the profiles' keys in the file, checked against the AWS SDK's own reading of it;
 * 2. show which lines go (key ids masked, secrets never shown) and ask (`--yes` skips);
 * 3. check each pair with `GetCallerIdentity`, learn when its key was created (`ListAccessKeys`,
 *    if IAM lets the user ask), store it, read it back;
 * 4. rewrite the file without exactly those lines (atomically, same mode, no backup), unless it
 *    changed meanwhile.
 *
 * Nothing is removed from the file unless every pair is safely in the vault.
 *
 * @module
 */

import { DeclinedError, RuntimeError, UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import { checkProfileName } from "../request/input_bounds.ts";
import { smithyConfigModule } from "../aws/sdk.ts";
import { getStoredKeys, maskKeyId, putStoredKeys } from "../vault/stored_keys.ts";
import {
  credentialsFilePath,
  type FileKeys,
  findFileKeys,
  readCredentialsFile,
  replaceCredentialsFile,
  splitLines,
  withoutLines,
} from "./credentials_file.ts";
import { approved, checkedEntry, type KeysContext } from "./keys_context.ts";

/** Options of {@linkcode importKeys}. */
export interface ImportKeysOptions {
  /** The one profile to import (default: the current profile, `default` without one). */
  profile?: string;
  /** Every profile of the file that holds keys. */
  all?: boolean;
  /** Do not ask. */
  yes?: boolean;
}

/** Moves the keys (see the module's description). */
export async function importKeys(ctx: KeysContext, options: ImportKeysOptions): Promise<void> {
  const path = credentialsFilePath(ctx.io.env);
  const text = await readCredentialsFile(path);
  if (text === undefined) {
    throw new RuntimeError(`There is no credentials file at "${path}": nothing to import`);
  }
  const links = (await Deno.stat(path)).nlink ?? 1;
  if (links > 1) {
    throw new RuntimeError(
      `"${path}" has ${links} hard links: its keys would stay readable under the other names`,
      { hint: "find them (e.g. find ~ -samefile FILE), remove the other links, then import again" },
    );
  }
  const chosen = await chooseProfiles(findFileKeys(text), { ...options, path });
  ctx.io.stderr(planText(chosen, { path, text, location: ctx.vault.backend.location }));
  if (!await approved(ctx, { yes: options.yes, what: "importing" })) {
    throw new DeclinedError("Declined: nothing was changed");
  }
  for (const keys of chosen) {
    const pair = { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey };
    const entry = await checkedEntry(ctx, pair, keys.profile);
    await putStoredKeys(ctx.vault, keys.profile, { keys: entry, env: ctx.io.env });
    const back = await getStoredKeys(ctx.vault, keys.profile);
    if (back?.secretAccessKey !== keys.secretAccessKey) {
      throw new RuntimeError(
        `The vault did not keep the keys of profile "${keys.profile}": the file is unchanged`,
      );
    }
    ctx.io.stderr(
      `Stored ${maskKeyId(keys.accessKeyId)} of profile "${logText(keys.profile)}" (account ` +
        `${entry.account}, ${entry.arn})\n`,
    );
  }
  if (await readCredentialsFile(path) !== text) {
    throw new RuntimeError(
      `"${path}" changed while the keys were imported: it was not rewritten`,
      { hint: "the keys are in the vault; run keys import again to remove their lines" },
    );
  }
  replaceCredentialsFile(path, withoutLines(text, chosen.flatMap((keys) => keys.lines)));
  const count = chosen.reduce((sum, keys) => sum + keys.lines.length, 0);
  ctx.io.stderr(`Removed ${count} lines from "${path}"; the keys now come from the vault\n`);
}

async function chooseProfiles(
  found: FileKeys[],
  options: ImportKeysOptions & { path: string },
): Promise<FileKeys[]> {
  if (options.all && options.profile) {
    throw new UsageError("Give --profile or --all, not both");
  }
  const longLived = found.filter((keys) => !keys.hasSessionToken);
  let chosen: FileKeys[];
  if (options.all) {
    chosen = longLived;
    if (chosen.length === 0) {
      throw new RuntimeError(`No long-lived keys in "${options.path}": nothing to import`);
    }
    for (const keys of chosen) {
      try {
        checkProfileName(keys.profile, "profile");
      } catch (error) {
        throw new UsageError(
          `${(error as Error).message} in "${options.path}": nothing was changed`,
          { hint: "rename that section, or import the other profiles one by one with --profile" },
        );
      }
    }
  } else {
    const name = options.profile ?? "default";
    const keys = found.find((entry) => entry.profile === name);
    if (keys === undefined) {
      throw new UsageError(`Profile "${name}" has no keys in "${options.path}"`, {
        hint: "see which profiles hold keys with: timebound-iam doctor, or import them all: " +
          "timebound-iam keys import --all",
      });
    }
    if (keys.hasSessionToken) {
      throw new UsageError(
        `Profile "${name}" holds temporary credentials (a session token): nothing to import`,
      );
    }
    chosen = [keys];
  }
  await checkAgainstSdk(chosen, options.path);
  return chosen;
}

/** The SDK must read the same keys from the file, or the file is not edited. */
async function checkAgainstSdk(chosen: FileKeys[], path: string): Promise<void> {
  const { loadSharedConfigFiles } = await smithyConfigModule();
  const files = await loadSharedConfigFiles({ filepath: path, ignoreCache: true });
  for (const keys of chosen) {
    if (keys.ambiguous) {
      throw new RuntimeError(
        `Profile "${keys.profile}" sets more than one key pair in "${path}": ` +
          "the file was not changed",
        {
          hint: "keep one aws_access_key_id and one aws_secret_access_key in it (delete or move " +
            "the others), then run keys import again",
        },
      );
    }
    const section = files.credentialsFile?.[keys.profile];
    if (
      section?.aws_access_key_id !== keys.accessKeyId ||
      section?.aws_secret_access_key !== keys.secretAccessKey
    ) {
      throw new RuntimeError(
        `Cannot tell for sure which lines of "${path}" hold the keys of profile ` +
          `"${keys.profile}": the file was not changed`,
        { hint: `move them by hand: timebound-iam keys add ${keys.profile}, then edit the file` },
      );
    }
  }
}

function planText(
  chosen: FileKeys[],
  options: { path: string; text: string; location: string },
): string {
  const lines = splitLines(options.text);
  const out = [`These keys move to ${options.location}, and these lines leave "${options.path}":`];
  for (const keys of chosen) {
    for (const index of keys.lines) {
      const line = lines[index].replace(/\r?\n$/, "");
      const shown = /secret/i.test(line)
        ? line.replace(/\s*=.*$/, " = (secret)")
        : line.replace(keys.accessKeyId, maskKeyId(keys.accessKeyId));
      out.push(`  line ${index + 1}: ${logText(shown)}`);
    }
  }
  out.push("Every other line stays as it is; no copy of the old file is kept.");
  return `${out.join("\n")}\n`;
}
