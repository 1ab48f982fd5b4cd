/**
 * What every `keys` story is given: the streams, the vault, where AWS calls go, how to ask the
 * human (`Proceed? [y/N]`, a secret line on the terminal), and the clock. The command file builds
 * it once; the stories under `lib/keys/` know nothing of the CLI.
 *
 * @module
 */

import type { Io } from "../core/io.ts";
import type { ReadSecret } from "../core/secret_line.ts";
import { UsageError } from "../core/errors.ts";
import type { Vault } from "../vault/vault.ts";
import {
  callerOfKeys,
  type KeyCallOptions,
  keyCreationDate,
  type KeyPair,
} from "../aws/access_keys.ts";
import { maskKeyId, type StoredKeys } from "../vault/stored_keys.ts";
import { forgetMfaSessions, openMfaSessionStore } from "../aws/mfa_session.ts";
import { logText } from "../core/log_text.ts";

/** The context of a `keys` story. */
export interface KeysContext {
  /** Standard streams and the environment. */
  io: Io;
  /** The vault in use. */
  vault: Vault;
  /** Where AWS calls go (region, timeout). */
  aws: Omit<KeyCallOptions, "profile">;
  /** Asks `Proceed? [y/N]` on the terminal. */
  confirm: () => Promise<boolean>;
  /** Reads a secret line on the terminal; absent without one. */
  readSecret?: ReadSecret;
  /** The clock. */
  now: () => Date;
}

/**
 * Asks before a change unless `yes`: a usage error without a terminal (naming `--yes`), a
 * {@linkcode UsageError}-free `false` when the human says no.
 */
export async function approved(
  ctx: KeysContext,
  options: { yes?: boolean; what: string },
): Promise<boolean> {
  if (options.yes) return true;
  if (!ctx.io.stdinIsTerminal) {
    throw new UsageError(`Not ${options.what}: standard input is not a terminal to ask on`, {
      hint: "pass --yes to go ahead without asking",
    });
  }
  return await ctx.confirm();
}

/**
 * The vault's entry for `keys`, stored for `profile`, once checked: one `GetCallerIdentity` signed
 * with them (a pair AWS refuses is an error, and the entry names their account and user) and one
 * `ListAccessKeys` for when the key was created, if IAM lets the user ask (`keys add`, `import`).
 * When IAM did not say for another reason than a refusal (not reached, no answer in time), one line
 * on stderr tells that `keys list` can only show the key's time in the vault.
 */
export async function checkedEntry(
  ctx: KeysContext,
  keys: KeyPair,
  profile: string,
): Promise<StoredKeys & { account: string; arn: string }> {
  const aws = { ...ctx.aws, profile };
  const owner = await callerOfKeys(keys, aws);
  const { createdAt, unknownBecause } = await keyCreationDate(keys, aws);
  const { accessKeyId, secretAccessKey } = keys;
  if (unknownBecause !== undefined) {
    ctx.io.stderr(
      `The age of ${maskKeyId(accessKeyId)} is unknown (${unknownBecause}): keys list shows its ` +
        "time in the vault instead, as ≥…\n",
    );
  }
  return {
    accessKeyId,
    secretAccessKey,
    storedAt: ctx.now().toISOString(),
    createdAt,
    account: owner.account,
    arn: owner.arn,
  };
}

/**
 * Forgets the cached MFA sessions of `profile` in the vault (started with keys that are gone now)
 * and says so on stderr, one line each, as `mfa logout` does.
 */
export async function forgetProfileMfaSessions(ctx: KeysContext, profile: string): Promise<void> {
  const sessions = openMfaSessionStore(ctx.io.env, { now: ctx.now, vault: ctx.vault.backend });
  for (const serial of await forgetMfaSessions(sessions, profile)) {
    ctx.io.stderr(`Forgot the MFA session of profile "${logText(profile, 80)}" (${serial})\n`);
  }
}

/**
 * How long ago `then` was, in the largest whole unit (`3d`, `5h`, `12m`, `now`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ageOf } from "./keys_context.ts";
 * const now = new Date("2026-01-04T00:00:00Z");
 * assert.equal(ageOf(new Date("2026-01-01T00:00:00Z"), now), "3d");
 * ```
 */
export function ageOf(then: Date, now: Date): string {
  const minutes = Math.floor((now.getTime() - then.getTime()) / 60_000);
  if (Number.isNaN(minutes)) return "?";
  if (minutes < 1) return "now";
  if (minutes < 60) return `${minutes}m`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)}h`;
  return `${Math.floor(minutes / 1440)}d`;
}
