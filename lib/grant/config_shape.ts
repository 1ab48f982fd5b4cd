/**
 * The config file's shape, checked by hand on every grant: which fields exist, what type each
 * holds, and the form of the values a grant uses (the region, each profile's broker role and MFA
 * device, `masked`, `vaultBackend`). It costs microseconds, where the zod schema (`config_schema.ts`, the whole check,
 * with the `serve` section's values) costs tens of milliseconds to load; that one runs where the
 * file is written or diagnosed (`setup aws`, `doctor`, `serve`). Its messages are the schema's.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import { isMfaSerial } from "../aws/mfa_session.ts";
import { checkRoleArn } from "../request/role_arn.ts";
import type { ApproveMode } from "../request/approval.ts";

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
  /**
   * Whether every grant's env file holds stand-in keys for the signing proxy in `serve` (as
   * `--masked`); `--no-masked` wins over it. The agent has no say.
   */
  masked?: boolean;
}

/** The config file's content. Every field is optional; an empty object is a valid file. */
export interface Config {
  /** The default region when neither a flag nor the environment names one. */
  region?: string;
  /** Settings per AWS profile; `default` is the SDK's default chain. */
  profiles?: Record<string, ProfileConfig>;
  /** The default `serve` guardrails. */
  serve?: ServeConfig;
  /** Where the vault is (`keychain` or `file`), when neither the flag nor the variable says. */
  vaultBackend?: "keychain" | "file";
  /**
   * Whether `exec` and `shell` mask the credentials by default (stand-in keys and the loopback
   * signing proxy); `--masked` and `--no-masked` win over it.
   */
  masked?: boolean;
  /**
   * Broker roles whose trust policy refused a SourceIdentity or session tags to a caller: that
   * caller's grants with them go without (and say so) until `setup aws --apply` adds the
   * permissions.
   */
  identityRefusals?: IdentityRefusal[];
  /**
   * Written by earlier versions: roles that refused identity to whoever asked. Read (so such a
   * file stays valid) and ignored, since a refusal holds for one caller only; dropped when the
   * file next records or forgets a refusal.
   */
  rolesWithoutIdentity?: string[];
}

/** A broker role whose trust policy refused a SourceIdentity or session tags to one caller. */
export interface IdentityRefusal {
  /** The broker role's ARN. */
  role: string;
  /**
   * Who was refused: the caller's ARN, an assumed role's without its session name
   * (`arn:aws:sts::123456789012:assumed-role/Dev`), as trust policies name principals.
   */
  caller: string;
  /**
   * When (ISO 8601). A refusal counts for a day after it (`IDENTITY_REFUSAL_SECONDS` in
   * `identity.ts`): then a grant asks with identity again, so one that was fixed, or
   * that came from one narrow session, does not last. Without it, the refusal counts no more.
   */
  at?: string;
}

/** An AWS region, as the config file may name one. */
export const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** What a field may hold. */
type Shape =
  | "string"
  | "boolean"
  | "region"
  | "roleArn"
  | "mfaSerial"
  | "vaultBackend"
  | { fields: Readonly<Record<string, Shape>>; required?: readonly string[] }
  | { record: Shape }
  | { list: Shape; what: string };

const PROFILE: Shape = { fields: { roleArn: "roleArn", region: "region", mfaSerial: "mfaSerial" } };

const CONFIG: Shape = {
  fields: {
    region: "region",
    profiles: { record: PROFILE },
    serve: {
      fields: {
        allow: "string",
        maxTtl: "string",
        approve: "string",
        auditLog: "string",
        allowProfiles: "string",
        masked: "boolean",
      },
    },
    masked: "boolean",
    vaultBackend: "vaultBackend",
    identityRefusals: {
      list: {
        fields: { role: "roleArn", caller: "string", at: "string" },
        required: ["role", "caller"],
      },
      what: "a list of {role, caller}",
    },
    rolesWithoutIdentity: { list: "roleArn", what: "a list of role ARNs" },
  },
};

/**
 * Parses the config file's text and checks its shape (see the module's description); errors name
 * `path` and the field, in the words of the schema.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readConfigText } from "./config_shape.ts";
 * assert.deepEqual(readConfigText('{"region": "eu-west-1"}', "config.json"), { region: "eu-west-1" });
 * assert.throws(() => readConfigText('{"region": "Mars"}', "config.json"), /"Mars" is not an AWS region/);
 * ```
 */
export function readConfigText(text: string, path: string): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw invalidConfig(path, `not valid JSON: ${(error as Error).message}`);
  }
  const problem = check(raw, CONFIG, []);
  if (problem) throw invalidConfig(path, problem);
  return raw as Config;
}

/** Whether `text` is a role ARN (the check's own message is not the config file's). */
function isRoleArn(text: string): boolean {
  try {
    checkRoleArn(text);
    return true;
  } catch {
    return false;
  }
}

/** The first problem of `value` against `shape`, as the detail after the file's name. */
function check(value: unknown, shape: Shape, at: readonly string[]): string | undefined {
  const field = (detail: string) =>
    `field "${logText(at.join("."), 100) || "(top level)"}": ${detail}`;
  if (shape === "boolean") {
    return typeof value === "boolean"
      ? undefined
      : field(`expected true or false, got ${describe(value)}`);
  }
  if (typeof shape === "string") {
    if (typeof value !== "string") return field(`expected a string, got ${describe(value)}`);
    const wrong = VALUES[shape]?.(value);
    return wrong && field(wrong);
  }
  if ("list" in shape) {
    if (!Array.isArray(value)) return field(`expected ${shape.what}, got ${describe(value)}`);
    return first(value.map((item, i) => () => check(item, shape.list, [...at, String(i)])));
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return field(`expected an object, got ${describe(value)}`);
  }
  const entries = Object.entries(value);
  if ("record" in shape) {
    return first(entries.map(([key, item]) => () => check(item, shape.record, [...at, key])));
  }
  const known = Object.keys(shape.fields);
  const unknown = entries.find(([key]) => !Object.hasOwn(shape.fields, key));
  if (unknown) {
    return `unknown field "${logText([...at, unknown[0]].join("."), 100)}": expected ${
      known.join(", ")
    }`;
  }
  return first(known.map((key) => () => {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined && !shape.required?.includes(key)) return undefined;
    return check(item, shape.fields[key], [...at, key]);
  }));
}

const VALUES: Partial<Record<string, (value: string) => string | undefined>> = {
  region: (value) =>
    REGION.test(value)
      ? undefined
      : `"${logText(value, 200)}" is not an AWS region (e.g. eu-west-1)`,
  roleArn: (value) =>
    isRoleArn(value)
      ? undefined
      : `"${logText(value, 200)}" is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)`,
  vaultBackend: (value) =>
    value === "keychain" || value === "file"
      ? undefined
      : `"${logText(value, 200)}" is not one of keychain, file`,
  mfaSerial: (value) =>
    isMfaSerial(value)
      ? undefined
      : `"${logText(value, 200)}" is not an MFA device ARN (arn:aws:iam::ACCOUNT:mfa/NAME)`,
};

function first(checks: Array<() => string | undefined>): string | undefined {
  for (const run of checks) {
    const problem = run();
    if (problem) return problem;
  }
  return undefined;
}

/** The error for a malformed config file: the file, then the detail; the hint says how out. */
export function invalidConfig(path: string, detail: string): UsageError {
  return new UsageError(`Invalid config file "${logText(path, 300)}": ${detail}`, {
    hint:
      "fix the file, or move it aside and run: timebound-iam setup aws --apply (it writes a new one)",
  });
}

/** A value as a message shows what it got: `"text"`, `a list`, `an object`, `null`, `3`. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return `"${logText(value, 200)}"`;
  return typeof value === "object" ? "an object" : String(value);
}
