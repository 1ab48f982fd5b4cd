/**
 * `keys list` and `keys remove`: what the vault holds (never a secret), and taking a profile's
 * keys out of it.
 *
 * @module
 */

import { formatTime } from "../core/time_text.ts";
import { messageLine } from "../core/log_text.ts";
import { DeclinedError, RuntimeError } from "../core/errors.ts";
import { mfaSessionProfile, openMfaSessionStore } from "../aws/mfa_session.ts";
import {
  getStoredKeys,
  maskKeyId,
  removeStoredKeys,
  storedKeyProfiles,
  type StoredKeys,
} from "../vault/stored_keys.ts";
import { ageOf, approved, forgetProfileMfaSessions, type KeysContext } from "./keys_context.ts";

/**
 * AWS's advice (and Security Hub's control IAM.3): rotate an access key before it is older than
 * this many days.
 */
const ROTATE_AFTER_DAYS = 90;

/**
 * One line per profile on stdout: profile, backend, the key id as `AKIA…WXYZ`, account and user,
 * the key's age (see {@linkcode keyAge}), and whether an MFA session is cached. A header line
 * first; "No keys in the vault" on stderr when there are none.
 */
export async function listKeys(ctx: KeysContext): Promise<void> {
  const profiles = await storedKeyProfiles(ctx.vault, ctx.io.env);
  if (profiles.length === 0) {
    ctx.io.stderr(`No keys in the vault (${ctx.vault.backend.location})\n`);
    return;
  }
  const sessions = await openMfaSessionStore(ctx.io.env, {
    now: ctx.now,
    vault: ctx.vault.backend,
  }).list();
  const rows = [["PROFILE", "BACKEND", "KEY", "ACCOUNT", "USER", "AGE", "MFA SESSION"]];
  for (const profile of profiles) {
    const keys = await getStoredKeys(ctx.vault, profile);
    if (keys === undefined) continue;
    const session = sessions.find((entry) => mfaSessionProfile(entry.key) === profile);
    rows.push([
      profile,
      ctx.vault.backend.kind,
      maskKeyId(keys.accessKeyId),
      // Kept neutralised by keys add and import (see callerOfKeys): their escapes stay as
      // they are, and only what an older or altered item holds is escaped.
      messageLine(keys.account ?? "-", 64),
      messageLine(keys.arn?.split(":").pop() ?? "-", 200),
      keyAge(keys, ctx.now()),
      session ? `until ${formatTime(session.expiresAt)}` : "no",
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) {
    ctx.io.stdout(`${row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()}\n`);
  }
}

/**
 * The AGE cell: the key's own age (`400d`) when IAM said when it was created; else its time in the
 * vault as a lower bound (`≥12d`), since the key is at least that old — so that a key imported
 * from `~/.aws/credentials` never looks younger than it may be. A key older than 90 days, or in
 * the vault for longer, is marked ` (rotate)`, the command that fixes it.
 */
function keyAge(keys: StoredKeys, now: Date): string {
  const createdAt = believedCreation(keys);
  const since = new Date(createdAt ?? keys.storedAt);
  const age = ageOf(since, now);
  if (age === "?") return age;
  const shown = createdAt !== undefined ? age : `≥${age === "now" ? "0m" : age}`;
  const days = Math.floor((now.getTime() - since.getTime()) / 86_400_000);
  return days > ROTATE_AFTER_DAYS ? `${shown} (rotate)` : shown;
}

/** How far IAM's clock may be ahead of this machine's: SigV4's own allowance. */
const CLOCK_SKEW_MS = 15 * 60_000;

/**
 * The item's creation date, unless it is later than the time the keys were stored (beyond clock
 * skew): the key signed a call before it was stored, so such a date is an endpoint's error or
 * lie, and believed it made a key months in the vault look new and never due for rotation.
 */
function believedCreation(keys: StoredKeys): string | undefined {
  if (keys.createdAt === undefined) return undefined;
  const created = Date.parse(keys.createdAt);
  return created <= Date.parse(keys.storedAt) + CLOCK_SKEW_MS ? keys.createdAt : undefined;
}

/** Removes a profile's keys and its cached MFA sessions from the vault, after asking. */
export async function removeKeys(
  ctx: KeysContext,
  options: { profile: string; yes?: boolean },
): Promise<void> {
  const keys = await getStoredKeys(ctx.vault, options.profile);
  if (keys === undefined) {
    throw new RuntimeError(`The vault holds no keys for profile "${options.profile}"`, {
      hint: "see what it holds: timebound-iam keys list",
    });
  }
  ctx.io.stderr(
    `Removing ${maskKeyId(keys.accessKeyId)} of profile "${options.profile}" from ` +
      `${ctx.vault.backend.location}. The key stays valid at AWS until you delete it in IAM.\n`,
  );
  if (!await approved(ctx, { yes: options.yes, what: "removing the keys" })) {
    throw new DeclinedError("Declined: nothing was removed");
  }
  await removeStoredKeys(ctx.vault, options.profile, ctx.io.env);
  await forgetProfileMfaSessions(ctx, options.profile);
  ctx.io.stderr(`Removed the keys of profile "${options.profile}"\n`);
}
