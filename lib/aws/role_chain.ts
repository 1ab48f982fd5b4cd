/**
 * A profile's chain of roles through `source_profile`, read as the AWS CLI reads it: a profile
 * with `role_arn` and `source_profile` assumes its role with the credentials of its source
 * profile, which may itself be such a profile, until a profile with keys ends the chain. From
 * the second profile on, keys win over a `role_arn` (the AWS CLI's and the SDK's rule), and a
 * profile may name itself as its source only when it has keys. Keys in the timebound-iam vault
 * count as keys here, before `~/.aws/credentials`.
 *
 * The walk is bounded ({@linkcode MAX_ROLE_CHAIN}) and refuses a cycle. It decides only whether
 * the chain ends at keys of the vault (then timebound-iam assumes the roles, see
 * `vault_chain.ts`), at a source the AWS SDK resolves itself (keys in the credentials file,
 * `credential_process`, SSO, web identity, `credential_source`), or nowhere: then a profile
 * without keys is named, with the command that stores them.
 *
 * @module
 */

import { type AgentText, UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import { isMfaSerial } from "./mfa_session.ts";
import { credentialSettingsOf, OTHER_CREDENTIAL_SOURCES } from "./profile.ts";

/** The most roles a chain may assume (the AWS CLI has no bound; a longer chain is a mistake). */
export const MAX_ROLE_CHAIN = 8;

/**
 * What an agent (`serve`) is told when a role chain fails, instead of the message: that names
 * the human's other profiles, their roles and accounts, which the server's log keeps for the
 * human alone.
 */
export const CHAIN_FAILURE_FOR_AGENTS: AgentText = {
  message: "The base credentials failed: the chain of roles that the human's AWS profile " +
    "assumes did not work",
  hint: "the server's log says why; ask the human who started the server to fix it, and do not " +
    "retry until then",
};

/** AWS's bounds of `DurationSeconds` for AssumeRole: 15 minutes to 12 hours. */
const DURATION_MIN = 900;
const DURATION_MAX = 43_200;
/** AssumeRole with a role's session (role chaining) lasts at most one hour. */
const CHAINED_DURATION_MAX = 3600;

/** A profile's settings, as the SDK's shared config loader parses them. */
export type ProfileSettings = Readonly<Record<string, string | undefined>>;

/** The two shared files, as the SDK's `loadSharedConfigFiles` returns them. */
export interface SharedFiles {
  /** `~/.aws/config`, by profile name. */
  configFile?: Readonly<Record<string, ProfileSettings | undefined>>;
  /** `~/.aws/credentials`, by profile name. */
  credentialsFile?: Readonly<Record<string, ProfileSettings | undefined>>;
}

/** One role of a chain: the profile that names it and how it is assumed. */
export interface RoleStep {
  /** The profile whose `role_arn` this is. */
  profile: string;
  /** `role_arn`. */
  roleArn: string;
  /** `mfa_serial`: AssumeRole then carries `SerialNumber` and a code. */
  mfaSerial?: string;
  /** `external_id`. */
  externalId?: string;
  /** `role_session_name`. */
  roleSessionName?: string;
  /** `duration_seconds`, checked against AWS's bounds. */
  durationSeconds?: number;
  /** The profile's `region`: its STS call goes there. */
  region?: string;
}

/** Where a chain ends. */
export type ChainEnd<T> =
  /** At keys of the vault: the profile that holds them, and what the lookup found. */
  | { kind: "vault"; source: string; holding: T; steps: RoleStep[] }
  /** At a source the AWS SDK resolves itself. */
  | { kind: "sdk" };

/**
 * The settings that decide how a profile comes to credentials and from where (none of them a
 * secret: `aws_secret_access_key` and `aws_session_token` are left out).
 */
const CREDENTIAL_SETTINGS = [
  "role_arn",
  "source_profile",
  "external_id",
  "mfa_serial",
  "role_session_name",
  "duration_seconds",
  "aws_access_key_id",
  ...OTHER_CREDENTIAL_SOURCES,
  "sso_account_id",
  "sso_role_name",
  "sso_region",
  "region",
  "endpoint_url",
  "services",
];

/**
 * What a profile's credentials depend on, along its `source_profile` chain: for each profile
 * walked, its name and its {@linkcode CREDENTIAL_SETTINGS} that are set. Bounded as the walk is
 * ({@linkcode MAX_ROLE_CHAIN} roles and the profile with keys), and a cycle ends it. A cache of
 * what a grant made with these credentials keys on it, so that an edit of the chain (another
 * role, another source) is another entry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { credentialSettings } from "./role_chain.ts";
 * const files = {
 *   configFile: { prod: { role_arn: "arn:aws:iam::1:role/r", source_profile: "base" } },
 *   credentialsFile: { base: { aws_access_key_id: "AKIA1", aws_secret_access_key: "secret" } },
 * };
 * assert.deepEqual(credentialSettings(files, "prod"), [
 *   ["prod", "role_arn=arn:aws:iam::1:role/r", "source_profile=base"],
 *   ["base", "aws_access_key_id=AKIA1"],
 * ]);
 * ```
 */
export function credentialSettings(files: SharedFiles, profile: string): string[][] {
  const walked: string[][] = [];
  const seen = new Set<string>();
  for (let name: string | undefined = profile; name !== undefined && !seen.has(name);) {
    if (walked.length > MAX_ROLE_CHAIN) break;
    seen.add(name);
    const settings = profileSettings(files, name);
    const set = CREDENTIAL_SETTINGS.filter((key) => settings[key] !== undefined);
    walked.push([name, ...set.map((key) => `${key}=${settings[key]}`)]);
    name = settings.role_arn ? settings.source_profile : undefined;
  }
  return walked;
}

/**
 * The settings of `name` in both files, as the SDK's credential providers (which assume a
 * `role_arn` profile's role) and `readProfileMfa` read them: `~/.aws/credentials`' over
 * `~/.aws/config`'s.
 */
export function profileSettings(files: SharedFiles, name: string): ProfileSettings {
  return credentialSettingsOf(files, name);
}

/**
 * Whether a profile assumes a role with another profile's credentials (`role_arn` and
 * `source_profile`): only then is there a chain to walk.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hasSourceProfile } from "./role_chain.ts";
 * const files = { configFile: { prod: { role_arn: "arn:aws:iam::1:role/r", source_profile: "base" } } };
 * assert.equal(hasSourceProfile(files, "prod"), true);
 * assert.equal(hasSourceProfile(files, "base"), false);
 * ```
 */
export function hasSourceProfile(files: SharedFiles, name: string): boolean {
  const settings = profileSettings(files, name);
  return Boolean(settings.role_arn && settings.source_profile);
}

/**
 * Walks the chain of `profile` (which has `role_arn` and `source_profile`, and no keys of its
 * own in the vault): `vaultKeys` looks a profile up in the vault. The steps come in the order
 * they are assumed: the first with the vault's keys, the last `profile`'s own role.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { walkRoleChain } from "./role_chain.ts";
 * const files = {
 *   configFile: {
 *     prod: { role_arn: "arn:aws:iam::123456789012:role/admin", source_profile: "base" },
 *   },
 * };
 * const end = await walkRoleChain("prod", {
 *   files,
 *   vaultKeys: (name) => Promise.resolve(name === "base" ? "keys" : undefined),
 * });
 * assert.equal(end.kind, "vault");
 * assert.deepEqual(end.kind === "vault" && end.steps.map((s) => s.profile), ["prod"]);
 * ```
 */
export async function walkRoleChain<T>(
  profile: string,
  options: { files: SharedFiles; vaultKeys: (name: string) => Promise<T | undefined> },
): Promise<ChainEnd<T>> {
  const { files } = options;
  const names = [profile];
  for (;;) {
    const current = names[names.length - 1];
    const next = profileSettings(files, current).source_profile!;
    const holding = await options.vaultKeys(next);
    if (holding !== undefined) {
      return { kind: "vault", source: next, holding, steps: stepsOf(files, names) };
    }
    const settings = profileSettings(files, next);
    if (settings.aws_access_key_id) return { kind: "sdk" };
    if (settings.role_arn && settings.source_profile) {
      if (names.includes(next)) throw cycleError([...names, next]);
      if (names.length >= MAX_ROLE_CHAIN) throw tooLongError(profile);
      names.push(next);
      continue;
    }
    if (
      settings.role_arn || OTHER_CREDENTIAL_SOURCES.some((name) => settings[name] !== undefined)
    ) {
      return { kind: "sdk" };
    }
    throw noKeysError(next, current, files);
  }
}

/**
 * The steps of the profiles walked, in the order they are assumed: the one nearest the keys
 * first (with them), every later one with the session of the one before (role chaining).
 */
function stepsOf(files: SharedFiles, walked: readonly string[]): RoleStep[] {
  return [...walked].reverse().map((name, i) =>
    readStep(name, profileSettings(files, name), i > 0)
  );
}

/**
 * A profile's role settings, checked: `chained` when it is assumed with another role's session
 * (AWS then allows an hour at most).
 */
function readStep(profile: string, settings: ProfileSettings, chained: boolean): RoleStep {
  const where = `of profile "${logText(profile, 80)}" in ~/.aws/config`;
  const step: RoleStep = { profile, roleArn: settings.role_arn! };
  const serial = settings.mfa_serial || undefined;
  if (serial !== undefined && !isMfaSerial(serial)) {
    throw new UsageError(`Invalid mfa_serial "${logText(serial, 80)}" ${where}`, {
      hint: "use the MFA device's ARN: arn:aws:iam::ACCOUNT:mfa/NAME",
      forAgents: CHAIN_FAILURE_FOR_AGENTS,
    });
  }
  step.mfaSerial = serial;
  const externalId = settings.external_id || undefined;
  // AWS: 2 to 1224 characters of [\w+=,.@:/-]. Not a secret, but not echoed either.
  if (externalId !== undefined && !/^[\w+=,.@:\/-]{2,1224}$/.test(externalId)) {
    throw new UsageError(`Invalid external_id ${where}`, {
      hint: "AWS takes 2 to 1224 letters, digits and + = , . @ : / - _",
      forAgents: CHAIN_FAILURE_FOR_AGENTS,
    });
  }
  step.externalId = externalId;
  const name = settings.role_session_name || undefined;
  if (name !== undefined && !/^[\w+=,.@-]{2,64}$/.test(name)) {
    throw new UsageError(`Invalid role_session_name "${logText(name, 80)}" ${where}`, {
      hint: "AWS takes 2 to 64 letters, digits and + = , . @ - _",
      forAgents: CHAIN_FAILURE_FOR_AGENTS,
    });
  }
  step.roleSessionName = name;
  step.durationSeconds = readDuration(settings.duration_seconds, where, chained);
  step.region = settings.region || undefined;
  return step;
}

function readDuration(
  text: string | undefined,
  where: string,
  chained: boolean,
): number | undefined {
  if (text === undefined || text === "") return undefined;
  const seconds = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  const max = chained ? CHAINED_DURATION_MAX : DURATION_MAX;
  if (!(seconds >= DURATION_MIN && seconds <= max)) {
    throw new UsageError(`Invalid duration_seconds "${logText(text, 20)}" ${where}`, {
      hint: chained
        ? `its role is assumed with another role's session, so AWS allows ${DURATION_MIN} to ` +
          `${CHAINED_DURATION_MAX} seconds (role chaining)`
        : `AWS allows ${DURATION_MIN} to ${DURATION_MAX} seconds`,
      forAgents: CHAIN_FAILURE_FOR_AGENTS,
    });
  }
  return seconds;
}

function cycleError(path: string[]): UsageError {
  const names = path.map((name) => logText(name, 80));
  return new UsageError(
    `Profile "${names[0]}" has a cycle in its source_profile chain: ${names.join(" → ")}`,
    {
      hint: "end the chain at a profile with keys (timebound-iam keys add NAME)",
      forAgents: CHAIN_FAILURE_FOR_AGENTS,
    },
  );
}

function tooLongError(profile: string): UsageError {
  return new UsageError(
    `Profile "${logText(profile, 80)}" chains more than ${MAX_ROLE_CHAIN} roles through ` +
      "source_profile",
    {
      hint: "point source_profile at a profile with keys sooner",
      forAgents: CHAIN_FAILURE_FOR_AGENTS,
    },
  );
}

function noKeysError(source: string, of: string, files: SharedFiles): UsageError {
  const name = logText(source, 80);
  const exists = files.configFile?.[source] !== undefined ||
    files.credentialsFile?.[source] !== undefined;
  return new UsageError(
    `Profile "${name}", the source_profile of "${logText(of, 80)}", ` +
      (exists ? "has no keys" : "does not exist") +
      ": none in the timebound-iam vault or ~/.aws/credentials",
    { hint: `store its keys: timebound-iam keys add ${name}`, forAgents: CHAIN_FAILURE_FOR_AGENTS },
  );
}
