/**
 * The settings of a grant, resolved once: flags, then the environment, then the config file
 * written by `setup aws`, weighed and checked here (the broker role's ARN, the MFA device, the
 * MFA session's length, the source identity) into one frozen object that every granting command
 * and `serve` receive. Nothing below checks them again.
 *
 * @module
 */

import { checkMfaSerial, parseMfaSessionTtl } from "../aws/mfa_session.ts";
import { checkRoleArn } from "../request/role_arn.ts";
import { checkSourceIdentity } from "../request/session_identity.ts";
import { type Config, configProfileName, loadConfig, type LoadedConfig } from "./config_file.ts";

/** Where a resolved setting came from, for `doctor` and messages. */
export type SettingSource = "flag" | "environment" | "config file" | "default";

/** The flags a grant's settings come from (each also read from its variable by the parser). */
export interface GrantSettingFlags {
  /** `--profile`: the AWS profile of the base credentials. */
  profile?: string;
  /** `--region`. */
  region?: string;
  /** `--role-arn`: the broker role. */
  roleArn?: string;
  /** `--mfa-serial`: the MFA device (over the config file's). */
  mfaSerial?: string;
  /** `--mfa-code`: the MFA device's current code. */
  mfaCode?: string;
  /** `--mfa-session-ttl`: how long a new MFA session lasts. */
  mfaSessionTtl?: string;
  /** `--source-identity`: the name CloudTrail shows instead of the caller's own. */
  sourceIdentity?: string;
  /** `--masked` (true) or `--no-masked` (false); the config file decides when undefined. */
  masked?: boolean;
}

/** A grant's settings, weighed and checked; frozen. */
export interface GrantSettings {
  /** The AWS profile as named by the flag (the SDK's chain decides when undefined). */
  readonly profile?: string;
  /** The config file's name for that profile (`--profile`, `AWS_PROFILE`…, else `default`). */
  readonly configProfile: string;
  /** The region, when a flag, the environment or the config file names one. */
  readonly region?: string;
  /** The broker role's ARN, if anything names one (otherwise the account's default role). */
  readonly roleArn?: string;
  /** Where `roleArn` came from; `default` when nothing names it. */
  readonly roleArnSource: SettingSource;
  /** The MFA device: the flag (or its variable), else the config file's for the profile. */
  readonly mfaSerial?: string;
  /** An MFA code given up front (checked when used). */
  readonly mfaCode?: string;
  /** How long a new MFA session lasts, in seconds (the default when undefined). */
  readonly mfaSessionTtlSeconds?: number;
  /** The SourceIdentity that replaces the caller's own name (`--source-identity`). */
  readonly sourceIdentity?: string;
  /** Whether the child gets stand-in keys and the signing proxy: the flag, else the file's. */
  readonly masked: boolean;
  /** The config file that was read. */
  readonly file: LoadedConfig;
  /** The environment the settings were read from. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Resolves a grant's settings: the flag, then the environment (`TIMEBOUND_IAM_ROLE_ARN`,
 * `AWS_REGION`, `AWS_DEFAULT_REGION`), then the config file's entry for the profile (and its
 * top-level region); the config file is read from `env` unless `file` is given. A region left
 * undefined falls through to the AWS profile's, in `resolveRegion`. Every value is checked here,
 * once: an invalid one is a usage error.
 */
export async function resolveGrantSettings(
  flags: GrantSettingFlags,
  env: Readonly<Record<string, string>>,
  file?: LoadedConfig,
): Promise<GrantSettings> {
  file ??= await loadConfig(env);
  const configProfile = configProfileName(flags.profile, env);
  const entry = profileEntry(file.config, configProfile);
  const { roleArn, source } = resolveRoleArn(flags, env, file.config);
  const region = regionSetting(flags, env, file.config);
  if (flags.mfaSerial !== undefined) checkMfaSerial(flags.mfaSerial);
  return Object.freeze({
    profile: flags.profile,
    configProfile,
    region,
    roleArn,
    roleArnSource: source,
    mfaSerial: flags.mfaSerial || entry?.mfaSerial || undefined,
    mfaCode: flags.mfaCode || undefined,
    mfaSessionTtlSeconds: flags.mfaSessionTtl === undefined
      ? undefined
      : parseMfaSessionTtl(flags.mfaSessionTtl),
    sourceIdentity: flags.sourceIdentity === undefined
      ? undefined
      : checkSourceIdentity(flags.sourceIdentity),
    masked: flags.masked ?? file.config.masked ?? false,
    file,
    env,
  });
}

/**
 * The broker role and where it was named: the flag, `TIMEBOUND_IAM_ROLE_ARN`, the config file's
 * entry for the profile, else none (the account's default role). An ARN from the flag or the
 * environment is checked; the config file's was checked when the file was read.
 */
export function resolveRoleArn(
  flags: Pick<GrantSettingFlags, "profile" | "roleArn">,
  env: Readonly<Record<string, string>>,
  config: Config,
): { roleArn?: string; source: SettingSource } {
  const envRole = env.TIMEBOUND_IAM_ROLE_ARN || undefined;
  const named: [string, SettingSource] | undefined = flags.roleArn
    ? [flags.roleArn, "flag"]
    : envRole
    ? [envRole, "environment"]
    : undefined;
  if (named) {
    checkRoleArn(named[0]);
    return { roleArn: named[0], source: named[1] };
  }
  const entry = profileEntry(config, configProfileName(flags.profile, env));
  return entry?.roleArn ? { roleArn: entry.roleArn, source: "config file" } : { source: "default" };
}

/**
 * The region a flag, the environment (`AWS_REGION`, `AWS_DEFAULT_REGION`) or the config file
 * (the profile's entry, then its top level) names; undefined when none does.
 */
export function regionSetting(
  flags: Pick<GrantSettingFlags, "profile" | "region">,
  env: Readonly<Record<string, string>>,
  config: Config,
): string | undefined {
  const entry = profileEntry(config, configProfileName(flags.profile, env));
  return flags.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || entry?.region ||
    config.region || undefined;
}

function profileEntry(config: Config, name: string) {
  const profiles = config.profiles ?? {};
  return Object.hasOwn(profiles, name) ? profiles[name] : undefined;
}
