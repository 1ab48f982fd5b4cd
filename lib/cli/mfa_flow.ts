/**
 * The stories of `mfa login`, `mfa status` and `mfa logout`: start an MFA session with a code
 * and cache it, show the cached sessions and their expiry (never their keys), forget them.
 *
 * @module
 */

import { formatTime } from "../core/time_text.ts";
import { waitingLine } from "../core/waiting_line.ts";
import {
  baseCredentialsForAssumeRole,
  profileName,
  readProfileMfa,
} from "../aws/base_credentials.ts";
import { resolveRegion } from "../aws/broker.ts";
import { type MfaSessionStore, openMfaSessionStore } from "../aws/mfa_session.ts";
import { vaultInUse } from "../vault/vault_place.ts";
import { openCliVault } from "./vault_option.ts";
import { UsageError } from "../core/errors.ts";
import { formatTtl } from "../request/ttl.ts";
import { resolveGrantSettings } from "../grant/settings.ts";
import type { Cli } from "./options.ts";
import { type GrantFlags, mfaRequest, noteMfaSession } from "./grant_flow.ts";

/** The flags of `mfa login`. */
export type MfaLoginFlags = Pick<
  GrantFlags,
  "profile" | "region" | "mfaSerial" | "mfaCode" | "mfaSessionTtl"
>;

/**
 * `mfa login`: asks for a code (or takes `--mfa-code`), calls `GetSessionToken` and caches the
 * session for the profile and device, replacing any cached one.
 */
export async function mfaLogin(cli: Cli, flags: MfaLoginFlags): Promise<void> {
  const settings = await resolveGrantSettings(flags, cli.io.env);
  const mfa = mfaRequest(cli, settings);
  const profileMfa = await readProfileMfa(flags.profile, cli.io.env);
  let serial = mfa.mfaSerial ?? profileMfa.mfaSerial;
  const profile = profileName(flags.profile, cli.io.env);
  if (profileMfa.assumesRole) {
    // A role profile whose source's keys are in the vault: the session is the source's.
    const chain = vaultInUse(cli.io.env)
      ? await (await import("../aws/vault_chain.ts")).findVaultChain(flags.profile, cli.io.env)
      : undefined;
    if (chain === undefined) {
      throw new UsageError(
        `Profile "${profile}" assumes its role_arn itself, so it has no MFA session to cache`,
        {
          hint: "grants with it ask for the code each run; to type a code once a day, use an " +
            "IAM user's keys (its source_profile) with mfa_serial, and the broker role directly",
        },
      );
    }
    serial = mfa.mfaSerial ?? chain.steps[0].mfaSerial;
  }
  if (serial === undefined) {
    throw new UsageError(`No MFA device is known for profile "${profile}"`, {
      hint: "pass --mfa-serial ARN (aws iam list-mfa-devices shows yours), or set mfa_serial " +
        "in ~/.aws/config",
    });
  }
  const region = await resolveRegion({
    profile: flags.profile,
    region: settings.region,
    env: cli.io.env,
  });
  // On a terminal, a GetSessionToken of more than a second says so (never while the code or the
  // vault's passphrase is asked).
  const base = await waitingLine(cli.io).run("AWS STS", () =>
    baseCredentialsForAssumeRole({
      profile: flags.profile,
      region,
      env: cli.io.env,
      now: cli.now,
      // The settings' device, else the AWS profile's own (found and checked there).
      ...mfa,
      fresh: true,
    }));
  noteMfaSession(cli, base);
}

/** `mfa status`: one line per cached session on stdout, `PROFILE SERIAL until TIME (LEFT left)`. */
export async function mfaStatus(cli: Cli): Promise<void> {
  const sessions = [];
  for (const store of await sessionStores(cli)) sessions.push(...await store.list());
  if (sessions.length === 0) {
    cli.io.stderr("No cached MFA sessions\n");
    return;
  }
  const rows = sessions.map(({ key, expiresAt }) => {
    const [profile, serial] = splitKey(key);
    const left = Math.max(0, Math.floor((expiresAt.getTime() - cli.now().getTime()) / 60_000)) * 60;
    return [profile, serial, `until ${formatTime(expiresAt)} (${formatTtl(left)} left)`];
  });
  const widths = [0, 1].map((i) => Math.max(...rows.map((row) => row[i].length)));
  for (const [profile, serial, until] of rows) {
    cli.io.stdout(`${profile.padEnd(widths[0])}  ${serial.padEnd(widths[1])}  ${until}\n`);
  }
}

/** `mfa logout`: forgets the cached sessions (of one profile, when given). */
export async function mfaLogout(cli: Cli, flags: { profile?: string }): Promise<void> {
  let forgotten = 0;
  // A role profile whose source's keys are in the vault: its session is the source's.
  const names = flags.profile === undefined
    ? undefined
    : [flags.profile, ...await chainSource(flags.profile, cli.io.env)];
  for (const store of await sessionStores(cli)) {
    for (const { key } of await store.list()) {
      const [profile, serial] = splitKey(key);
      if (names !== undefined && !names.includes(profile)) continue;
      if (await store.delete(key)) {
        cli.io.stderr(`Forgot the MFA session of profile "${profile}" (${serial})\n`);
        forgotten++;
      }
    }
  }
  if (forgotten === 0) cli.io.stderr("No cached MFA sessions\n");
}

/** The source profile of a role chain from the vault's keys, if `profile` has one. */
async function chainSource(
  profile: string,
  env: Readonly<Record<string, string>>,
): Promise<string[]> {
  if (!vaultInUse(env) || !(await readProfileMfa(profile, env)).assumesRole) return [];
  const { findVaultChain } = await import("../aws/vault_chain.ts");
  const chain = await findVaultChain(profile, env).catch(() => undefined);
  return chain === undefined ? [] : [chain.source];
}

/** The cache directory's sessions, and the vault's when one is in use. */
async function sessionStores(cli: Cli): Promise<MfaSessionStore[]> {
  const stores = [openMfaSessionStore(cli.io.env, { now: cli.now })];
  if (vaultInUse(cli.io.env)) {
    const { backend } = await openCliVault(cli.io, {});
    stores.push(openMfaSessionStore(cli.io.env, { now: cli.now, vault: backend }));
  }
  return stores;
}

function splitKey(key: string): [string, string] {
  const cut = key.lastIndexOf(" ");
  return [key.slice(0, cut), key.slice(cut + 1)];
}
