/**
 * The config file, `$XDG_CONFIG_HOME/timebound-iam/config.json` (or `~/.config/…`, or the path
 * in `TIMEBOUND_IAM_CONFIG`): the broker role per AWS profile, a default region and the default
 * `serve` guardrails. `setup aws --apply` writes it; every command that grants, previews a grant
 * or checks the setup reads it; flags and the environment win over it. A malformed file is an
 * error that names the file and the field, never a silent fallback.
 *
 * @module
 */

import { basename, dirname, resolve } from "node:path";
import { configPath } from "../core/config_path.ts";
import { profileLabel, resolveProfile } from "../aws/profile.ts";
import { RuntimeError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import { openPrivateDir, readTrustedFile } from "../core/private_dir.ts";
import {
  type Config,
  type IdentityRefusal,
  type ProfileConfig,
  readConfigText,
} from "./config_shape.ts";

export type { Config, IdentityRefusal, ProfileConfig, ServeConfig } from "./config_shape.ts";

/** A config file as read: where it is, whether it exists, and what it says. */
export interface LoadedConfig {
  /** The absolute path of the file. */
  path: string;
  /** Whether the file exists (a missing file is an empty config). */
  exists: boolean;
  /** The validated content. */
  config: Config;
}

export { configPath } from "../core/config_path.ts";

/**
 * The config profile that a command uses: `--profile`, else `AWS_PROFILE`, else
 * `AWS_DEFAULT_PROFILE` while the environment holds no keys, else `default` (the profile whose
 * credentials sign, as `resolveProfile` decides it).
 */
export function configProfileName(
  profile: string | undefined,
  env: Readonly<Record<string, string>>,
): string {
  return profileLabel(resolveProfile(profile, env));
}

/**
 * Reads the config file. A missing file is an empty config; an unreadable or malformed one
 * throws an error that names the file (and the field). A grant checks the file's shape by hand
 * (`config_shape.ts`: microseconds); `whole` validates every value with the zod schema as well
 * (tens of milliseconds to load), where the file is diagnosed or its `serve` section used.
 */
export async function loadConfig(
  env: Readonly<Record<string, string>>,
  options: { whole?: boolean } = {},
): Promise<LoadedConfig> {
  const path = configPath(env);
  let text: string | undefined;
  try {
    // It names the role every grant assumes and serve's limits: only you (or root) may be able
    // to change it, as only you can change the files timebound-iam writes.
    text = readTrustedFile(path);
  } catch (error) {
    const { message, hint } = error as { message: string; hint?: string };
    throw new RuntimeError(`Cannot read config file "${logText(path, 300)}": ${message}`, {
      hint,
      cause: error,
    });
  }
  if (text === undefined) return { path, exists: false, config: {} };
  const config = options.whole ? await parseConfig(text, path) : readConfigText(text, path);
  return { path, exists: true, config };
}

/**
 * Parses and validates the config file's text with the zod schema of `config_schema.ts`, which
 * is loaded on the first call; errors name `path` and the field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./config_file.ts";
 * const config = await parseConfig('{"region": "eu-west-1"}', "config.json");
 * assert.equal(config.region, "eu-west-1");
 * ```
 */
export async function parseConfig(text: string, path: string): Promise<Config> {
  const { parseConfig: parse } = await import("./config_schema.ts");
  return parse(text, path);
}

/**
 * Returns a copy of `config` that remembers that the trust policy of `refusal.role` refused a
 * SourceIdentity and session tags to `refusal.caller`. Entries of earlier versions
 * (`rolesWithoutIdentity`, which named no caller) are dropped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withIdentityRefusal, withoutIdentityRefusals } from "./config_file.ts";
 * const role = "arn:aws:iam::123456789012:role/old";
 * const caller = "arn:aws:iam::123456789012:user/alice";
 * const at = "2030-01-01T00:00:00.000Z";
 * const config = withIdentityRefusal({ rolesWithoutIdentity: [role] }, { role, caller, at });
 * assert.deepEqual(config, { identityRefusals: [{ role, caller, at }] });
 * assert.deepEqual(withoutIdentityRefusals(config, role), {});
 * ```
 */
export function withIdentityRefusal(config: Config, refusal: IdentityRefusal): Config {
  const { role, caller } = refusal;
  const others = (config.identityRefusals ?? []).filter((r) =>
    r.role !== role || r.caller !== caller
  );
  return withRefusals(config, [...others, refusal]);
}

/**
 * Returns a copy of `config` that forgets every refusal of identity by the trust policy of
 * `roleArn` (whoever was refused), and the entries of earlier versions.
 */
export function withoutIdentityRefusals(config: Config, roleArn: string): Config {
  return withRefusals(config, (config.identityRefusals ?? []).filter((r) => r.role !== roleArn));
}

function withRefusals(config: Config, refusals: IdentityRefusal[]): Config {
  const { identityRefusals: _, rolesWithoutIdentity: __, ...rest } = config;
  // By role, then caller: "\n" sorts before every character of an ARN.
  const key = (r: IdentityRefusal) => `${r.role}\n${r.caller}`;
  const sorted = refusals.toSorted((a, b) => key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  return sorted.length ? { ...rest, identityRefusals: sorted } : rest;
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
 * directory, then a rename over the old one, so a reader never sees half a file. The directory
 * is created `0700` if missing, else verified as every directory timebound-iam writes in (ours,
 * not a symlink, not writable by others; see `openPrivateDir`), so nobody else can swap the file
 * that names the role every grant assumes.
 */
export async function saveConfig(path: string, config: Config): Promise<void> {
  const absolute = resolve(path);
  const text = `${JSON.stringify(config, null, 2)}\n`;
  try {
    // Never write a file that the next command would refuse to read.
    await parseConfig(text, path);
  } catch (error) {
    throw new RuntimeError(
      `Cannot write config file "${logText(path, 300)}": it would be invalid: ${
        (error as Error).message
      }`,
      { hint: "please report it: timebound-iam wrote a value it cannot read back", cause: error },
    );
  }
  try {
    const dir = await openPrivateDir(dirname(absolute));
    await dir.replace(basename(absolute), text);
  } catch (error) {
    throw new RuntimeError(
      `Cannot write config file "${logText(path, 300)}": ${(error as Error).message}`,
      {
        hint: error instanceof RuntimeError ? error.hint : undefined,
        cause: error,
      },
    );
  }
}
