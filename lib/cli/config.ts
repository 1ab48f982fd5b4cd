/**
 * The config file, `$XDG_CONFIG_HOME/timebound-iam/config.json` (or `~/.config/…`, or the path
 * in `TIMEBOUND_IAM_CONFIG`): the broker role per AWS profile, a default region and the default
 * `serve` guardrails. `setup aws --apply` writes it; every command reads it; flags and the
 * environment win over it. A malformed file is an error that names the file and the field,
 * never a silent fallback.
 *
 * @module
 */

import { dirname, posix, win32 } from "node:path";
import { z } from "zod";
import { APPROVE_MODES, type ApproveMode } from "../request/approval.ts";
import { checkRoleArn } from "../request/role_arn.ts";
import { checkMfaSerial } from "../aws/mfa_session.ts";
import { parseProfileList } from "../request/input_bounds.ts";
import { profileLabel, resolveProfile } from "../aws/profile.ts";
import { RuntimeError, UsageError } from "../core/errors.ts";
import { parseTtl } from "../request/ttl.ts";

/** What the config file says for one AWS profile. */
export interface ProfileConfig {
  /** The broker role to assume with this profile's base credentials. */
  roleArn?: string;
  /** The region for this profile (over the file's top-level `region`). */
  region?: string;
  /** The MFA device whose code this profile's grants use (over the AWS profile's `mfa_serial`). */
  mfaSerial?: string;
}

/**
 * The default guardrails of `serve`, set by a human, never by the agent; the same values as its
 * flags (`--allow`, `--max-ttl`, `--approve`, `--audit-log`), which win over them.
 */
export interface ServeConfig {
  /** The scopes an agent may ask for, as `--allow` takes them: `"s3:full,*:ro"`. */
  allow?: string;
  /** The longest TTL an agent may ask for, e.g. `"1h"`. */
  maxTtl?: string;
  /** When a grant needs the human's approval (MCP elicitation). */
  approve?: ApproveMode;
  /** Where the JSON-lines audit log goes. */
  auditLog?: string;
  /** Other profiles an agent may name besides the server's own, as `--allow-profiles`: `"a,b"`. */
  allowProfiles?: string;
}

/** The config file's content. Every field is optional; an empty object is a valid file. */
export interface Config {
  /** The default region when neither a flag nor the environment names one. */
  region?: string;
  /** Settings per AWS profile; `default` is the SDK's default chain. */
  profiles?: Record<string, ProfileConfig>;
  /** The default `serve` guardrails. */
  serve?: ServeConfig;
  /**
   * Broker roles whose trust policy refused a SourceIdentity or session tags: grants with them
   * go without (and say so) until `setup aws --apply` adds the permissions.
   */
  rolesWithoutIdentity?: string[];
}

/** A config file as read: where it is, whether it exists, and what it says. */
export interface LoadedConfig {
  /** The absolute path of the file. */
  path: string;
  /** Whether the file exists (a missing file is an empty config). */
  exists: boolean;
  /** The validated content. */
  config: Config;
}

/** Where a resolved broker setting came from, for `doctor` and messages. */
export type SettingSource = "flag" | "environment" | "config file" | "default";

/** The broker settings after flags, environment and the config file are weighed. */
export interface BrokerSettings {
  /** The broker role's ARN, if anything names one (otherwise the broker's default applies). */
  roleArn?: string;
  /** Where `roleArn` came from; `default` when nothing names it. */
  roleArnSource: SettingSource;
  /** The region, when a flag, the environment or the config file names one. */
  region?: string;
  /** The MFA device the config file names for the profile, if any. */
  mfaSerial?: string;
  /** The config file that was read. */
  file: LoadedConfig;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const SCOPE_LIST = /^\s*[^\s,:]+:[^\s,:]+(\s*,\s*[^\s,:]+:[^\s,:]+)*\s*$/;

// The schema's messages are the detail after `field "NAME": `; an object's message for an
// unknown key is the list of the keys it knows.
const string = () =>
  z.string({ error: (issue) => `expected a string, got ${describe(issue.input)}` });

const object = <Shape extends z.ZodRawShape>(shape: Shape) =>
  z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? Object.keys(shape).join(", ")
        : `expected an object, got ${describe(issue.input)}`,
  });

const region = () =>
  string().refine((value) => REGION.test(value), {
    error: (issue) => `"${issue.input}" is not an AWS region (e.g. eu-west-1)`,
  });

/** Rejects what `check` throws for, with its message. */
const checkedBy = (
  check: (value: string) => unknown,
  message: (value: string, error: Error) => string,
) =>
  string().superRefine((value, context) => {
    try {
      check(value);
    } catch (error) {
      context.addIssue({ code: "custom", message: message(value, error as Error) });
    }
  });

const CONFIG_SCHEMA = object({
  region: region().optional(),
  profiles: z.record(
    z.string(),
    object({
      roleArn: checkedBy(
        checkRoleArn,
        (arn) => `"${arn}" is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)`,
      ).optional(),
      region: region().optional(),
      mfaSerial: checkedBy(
        checkMfaSerial,
        (serial) => `"${serial}" is not an MFA device ARN (arn:aws:iam::ACCOUNT:mfa/NAME)`,
      ).optional(),
    }),
    { error: (issue) => `expected an object, got ${describe(issue.input)}` },
  ).optional(),
  serve: object({
    // The services are checked against the catalog by `serve`, which loads it anyway.
    allow: string().refine((value) => SCOPE_LIST.test(value), {
      error: (issue) => `"${issue.input}" is not a scope list like "s3:full,*:ro"`,
    }).optional(),
    maxTtl: checkedBy((ttl) => parseTtl(ttl), (_, error) => error.message).optional(),
    approve: string().pipe(z.enum(APPROVE_MODES, {
      error: (issue) => `"${issue.input}" is not one of ${APPROVE_MODES.join(", ")}`,
    })).optional(),
    auditLog: string().optional(),
    allowProfiles: checkedBy(
      (value) => parseProfileList(value, "serve.allowProfiles"),
      (_, error) => error.message,
    ).optional(),
  }).optional(),
  rolesWithoutIdentity: z.array(
    checkedBy(checkRoleArn, (arn) => `"${arn}" is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)`),
    { error: (issue) => `expected a list of role ARNs, got ${describe(issue.input)}` },
  ).optional(),
});

/**
 * The config file's path: `TIMEBOUND_IAM_CONFIG`, else `$XDG_CONFIG_HOME/timebound-iam/
 * config.json`, else `%APPDATA%\timebound-iam\config.json` on Windows, else
 * `~/.config/timebound-iam/config.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { configPath } from "./config.ts";
 * const path = configPath({ XDG_CONFIG_HOME: "/x" }, { os: "linux" });
 * assert.equal(path, "/x/timebound-iam/config.json");
 * ```
 */
export function configPath(
  env: Readonly<Record<string, string>>,
  options: { os?: string } = {},
): string {
  if (env.TIMEBOUND_IAM_CONFIG) return env.TIMEBOUND_IAM_CONFIG;
  const os = options.os ?? Deno.build.os;
  const { join } = os === "windows" ? win32 : posix;
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, "timebound-iam", "config.json");
  if (os === "windows" && env.APPDATA) return join(env.APPDATA, "timebound-iam", "config.json");
  const home = env.HOME ?? env.USERPROFILE;
  if (!home) {
    throw new RuntimeError("Cannot find the config file: neither HOME nor XDG_CONFIG_HOME is set", {
      hint: "set TIMEBOUND_IAM_CONFIG to the path of the config file",
    });
  }
  return join(home, ".config", "timebound-iam", "config.json");
}

/**
 * The config profile that a command uses: `--profile`, else `AWS_PROFILE`, else
 * `AWS_DEFAULT_PROFILE`, else `default` (as the SDK picks the profile).
 */
export function configProfileName(
  profile: string | undefined,
  env: Readonly<Record<string, string>>,
): string {
  return profileLabel(resolveProfile(profile, env));
}

/**
 * Reads and validates the config file. A missing file is an empty config; an unreadable or
 * malformed one throws an error that names the file (and the field).
 */
export async function loadConfig(env: Readonly<Record<string, string>>): Promise<LoadedConfig> {
  const path = configPath(env);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { path, exists: false, config: {} };
    throw new RuntimeError(`Cannot read config file "${path}": ${(error as Error).message}`, {
      cause: error,
    });
  }
  return { path, exists: true, config: parseConfig(text, path) };
}

/**
 * Parses and validates the config file's text. Errors name `path` and the offending field, e.g.
 * `Invalid config file "/home/me/.config/timebound-iam/config.json": field "profiles.prod.roleArn": …`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./config.ts";
 * const config = parseConfig('{"region": "eu-west-1"}', "config.json");
 * assert.equal(config.region, "eu-west-1");
 * ```
 */
export function parseConfig(text: string, path: string): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw invalid(path, `not valid JSON: ${(error as Error).message}`);
  }
  const parsed = CONFIG_SCHEMA.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue.path.join(".");
  if (issue.code === "unrecognized_keys") {
    const name = [...issue.path, issue.keys[0]].join(".");
    throw invalid(path, `unknown field "${name}": expected ${issue.message}`);
  }
  throw invalid(path, `field "${field || "(top level)"}": ${issue.message}`);
}

/**
 * Returns a copy of `config` that remembers (`supported: false`) or forgets (`true`) that the
 * trust policy of `roleArn` refuses a SourceIdentity and session tags.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withIdentitySupport } from "./config.ts";
 * const arn = "arn:aws:iam::123456789012:role/old";
 * const config = withIdentitySupport({}, arn, false);
 * assert.deepEqual(config.rolesWithoutIdentity, [arn]);
 * assert.equal(withIdentitySupport(config, arn, true).rolesWithoutIdentity, undefined);
 * ```
 */
export function withIdentitySupport(config: Config, roleArn: string, supported: boolean): Config {
  const others = (config.rolesWithoutIdentity ?? []).filter((arn) => arn !== roleArn);
  const roles = supported ? others : [...others, roleArn].sort();
  const { rolesWithoutIdentity: _, ...rest } = config;
  return roles.length ? { ...rest, rolesWithoutIdentity: roles } : rest;
}

/**
 * Weighs the broker settings: the flag, then the environment (`TIMEBOUND_IAM_ROLE_ARN`,
 * `AWS_REGION`, `AWS_DEFAULT_REGION`), then the config file's entry for the profile (and its
 * top-level region). A region left undefined falls through to the AWS profile's, in
 * {@linkcode resolveRegion}.
 */
export async function resolveBrokerSettings(
  flags: { profile?: string; region?: string; roleArn?: string },
  env: Readonly<Record<string, string>>,
): Promise<BrokerSettings> {
  const file = await loadConfig(env);
  const profiles = file.config.profiles ?? {};
  const name = configProfileName(flags.profile, env);
  const entry = Object.hasOwn(profiles, name) ? profiles[name] : undefined;
  const envRole = env.TIMEBOUND_IAM_ROLE_ARN || undefined;
  const [roleArn, roleArnSource]: [string | undefined, SettingSource] = flags.roleArn
    ? [flags.roleArn, "flag"]
    : envRole
    ? [envRole, "environment"]
    : entry?.roleArn
    ? [entry.roleArn, "config file"]
    : [undefined, "default"];
  const region = flags.region || env.AWS_REGION || env.AWS_DEFAULT_REGION ||
    entry?.region || file.config.region || undefined;
  const mfa = entry?.mfaSerial ? { mfaSerial: entry.mfaSerial } : {};
  return { roleArn, roleArnSource, region, ...mfa, file };
}

/**
 * Returns a copy of `config` with the broker role (and region, when given) of one profile set,
 * keeping every other entry.
 */
export function withBrokerRole(
  config: Config,
  profile: string,
  settings: { roleArn: string; region?: string },
): Config {
  const previous = config.profiles?.[profile] ?? {};
  const entry: ProfileConfig = { ...previous, roleArn: settings.roleArn };
  if (settings.region) entry.region = settings.region;
  return { ...config, profiles: { ...config.profiles, [profile]: entry } };
}

/**
 * Writes the config file atomically with mode `0600`: a private temporary file in the same
 * directory (created `0700` if missing), then a rename over the old one, so a reader never sees
 * half a file.
 */
export async function saveConfig(path: string, config: Config): Promise<void> {
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(temp, `${JSON.stringify(config, null, 2)}\n`, {
      mode: 0o600,
      createNew: true,
    });
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw new RuntimeError(`Cannot write config file "${path}": ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function invalid(path: string, detail: string): UsageError {
  return new UsageError(`Invalid config file "${path}": ${detail}`, {
    hint: "fix the file, or run: timebound-iam setup aws --apply (it rewrites the file)",
  });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return `"${value}"`;
  return typeof value === "object" ? "an object" : String(value);
}
