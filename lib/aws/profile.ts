/**
 * Which AWS profile holds the base credentials: decided here once, and every command, the
 * config file lookup and the MCP server use this answer. `--profile` wins, then `AWS_PROFILE`,
 * then `AWS_DEFAULT_PROFILE` unless the environment holds keys; an empty value counts as unset;
 * none of them means the SDK's default chain (environment keys, the `default` profile, SSO,
 * container and instance roles).
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";

/**
 * The settings of a profile in the shared config file through which it supplies credentials
 * other than keys and `role_arn`: a process, an instance's or container's role, SSO, a web
 * identity token, `aws login`.
 */
export const OTHER_CREDENTIAL_SOURCES: readonly string[] = [
  "credential_process",
  "credential_source",
  "sso_session",
  "sso_start_url",
  "web_identity_token_file",
  "login_session",
];

/** The profile in use and where its name came from. */
export interface ProfileChoice {
  /** The profile's name; `undefined` for the SDK's default chain. */
  name?: string;
  /** What named it: the flag or a variable; `undefined` for the default chain. */
  from?: "--profile" | "AWS_PROFILE" | "AWS_DEFAULT_PROFILE";
}

/**
 * Decides the profile from the `--profile` flag and the environment. A profile that only
 * `AWS_DEFAULT_PROFILE` names is none while `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` are
 * set: the environment's keys sign, and none of that profile's settings apply, as when no profile
 * is named. The AWS CLI takes the environment's keys over it too, and the AWS SDK for JavaScript
 * never reads `AWS_DEFAULT_PROFILE`; so a leftover `AWS_DEFAULT_PROFILE=prod` beside keys exported
 * for a moment never signs with prod's. `--profile` and `AWS_PROFILE` still win over the
 * environment's keys, as in the JS SDK.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveProfile } from "./profile.ts";
 * assert.equal(resolveProfile(undefined, { AWS_PROFILE: "", AWS_DEFAULT_PROFILE: "dev" }).name, "dev");
 * assert.equal(resolveProfile("prod", { AWS_PROFILE: "dev" }).from, "--profile");
 * assert.equal(resolveProfile(undefined, {}).name, undefined);
 * const keys = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret" };
 * assert.equal(resolveProfile(undefined, { ...keys, AWS_DEFAULT_PROFILE: "prod" }).name, undefined);
 * assert.equal(resolveProfile(undefined, { ...keys, AWS_PROFILE: "prod" }).name, "prod");
 * ```
 */
export function resolveProfile(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): ProfileChoice {
  if (flag) return { name: flag, from: "--profile" };
  if (env.AWS_PROFILE) return { name: env.AWS_PROFILE, from: "AWS_PROFILE" };
  if (env.AWS_DEFAULT_PROFILE && !hasEnvironmentKeys(env)) {
    return { name: env.AWS_DEFAULT_PROFILE, from: "AWS_DEFAULT_PROFILE" };
  }
  return {};
}

/** Whether the environment holds both halves of a key pair. */
function hasEnvironmentKeys(env: Readonly<Record<string, string | undefined>>): boolean {
  return Boolean(env.AWS_ACCESS_KEY_ID) && Boolean(env.AWS_SECRET_ACCESS_KEY);
}

/**
 * Whether the SDK's chain will sign with the environment's keys: when no profile is named (or
 * only `AWS_DEFAULT_PROFILE` names one, see {@linkcode resolveProfile}), it takes
 * `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` before any file. A profile's settings (its
 * `mfa_serial`, its `role_arn`) then do not apply, as for the AWS CLI.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { usesEnvironmentKeys } from "./profile.ts";
 * const keys = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret" };
 * assert.equal(usesEnvironmentKeys(undefined, keys), true);
 * assert.equal(usesEnvironmentKeys(undefined, { ...keys, AWS_PROFILE: "dev" }), false);
 * assert.equal(usesEnvironmentKeys(undefined, { ...keys, AWS_DEFAULT_PROFILE: "dev" }), true);
 * assert.equal(usesEnvironmentKeys("dev", keys), false);
 * assert.equal(usesEnvironmentKeys(undefined, { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE" }), false);
 * ```
 */
export function usesEnvironmentKeys(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  return resolveProfile(flag, env).name === undefined && hasEnvironmentKeys(env);
}

/** The two shared files as the SDK's `loadSharedConfigFiles` parses them, by profile name. */
export interface SharedFileSections {
  /** `~/.aws/config`. */
  configFile?: Readonly<Record<string, Readonly<Record<string, string | undefined>> | undefined>>;
  /** `~/.aws/credentials`. */
  credentialsFile?: Readonly<
    Record<string, Readonly<Record<string, string | undefined>> | undefined>
  >;
}

/**
 * A profile's settings as the SDK's credential providers read them (its `parseKnownFiles`):
 * both files, a setting of `~/.aws/credentials` over the same one of `~/.aws/config`. For the
 * settings that make credentials (keys, `role_arn`, `source_profile`, `mfa_serial`, …); a
 * client's endpoint settings are read the other way round (`profile_endpoint.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { credentialSettingsOf } from "./profile.ts";
 * const files = {
 *   configFile: { dev: { mfa_serial: "arn:aws:iam::1:mfa/a", region: "eu-west-1" } },
 *   credentialsFile: { dev: { mfa_serial: "arn:aws:iam::1:mfa/b" } },
 * };
 * assert.deepEqual(credentialSettingsOf(files, "dev"), {
 *   mfa_serial: "arn:aws:iam::1:mfa/b",
 *   region: "eu-west-1",
 * });
 * ```
 */
export function credentialSettingsOf(
  files: SharedFileSections,
  name: string,
): Record<string, string | undefined> {
  const section = (file: SharedFileSections["configFile"]) =>
    file !== undefined && Object.hasOwn(file, name) ? file[name] : undefined;
  return { ...section(files.configFile), ...section(files.credentialsFile) };
}

/** The profile's name for messages and the config file: its name, or `default`. */
export function profileLabel(choice: ProfileChoice): string {
  return choice.name ?? "default";
}

/**
 * Throws the usage error for a profile that is in neither shared file. `known` (the profiles
 * that exist) is listed only when given: the MCP server never reveals them to an agent.
 */
export function unknownProfileError(choice: ProfileChoice, known?: readonly string[]): UsageError {
  const name = logText(choice.name ?? "default", 80);
  const create = `create it with: aws configure --profile ${name}`;
  const list = known?.length ? ` (profiles found: ${known.join(", ")})` : "";
  if (choice.from === "AWS_PROFILE" || choice.from === "AWS_DEFAULT_PROFILE") {
    return new UsageError(
      `Profile "${name}" named by ${choice.from} does not exist in ~/.aws/config or ~/.aws/credentials`,
      { hint: `unset ${choice.from} or set it to another profile${list}, or ${create}` },
    );
  }
  return new UsageError(
    `Unknown profile "${name}": not in ~/.aws/config or ~/.aws/credentials`,
    { hint: known === undefined ? create : `${create}${list}` },
  );
}
