/**
 * What the config file may say: its content's types and the strict zod schema that checks them.
 * Kept apart from `config.ts` so that zod (tens of milliseconds to load) is loaded only when a
 * config file exists, never for `--help`, `--version` or a grant without one.
 *
 * @module
 */

import { z } from "zod";
import { APPROVE_MODES, type ApproveMode } from "../request/approval.ts";
import { checkRoleArn } from "../request/role_arn.ts";
import { checkMfaSerial } from "../aws/mfa_session.ts";
import { parseProfileList } from "../request/input_bounds.ts";
import { UsageError } from "../core/errors.ts";
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

/**
 * A caller as {@linkcode IdentityRefusal} names one: an IAM or STS ARN of at most ~2,048
 * characters (IAM paths and names use `!` to DEL).
 */
export const CALLER_ARN = /^arn:aws[a-z-]{0,20}:(iam|sts)::\d{12}:[!-\x7f]{1,2000}$/;

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/;
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

const roleArn = () =>
  checkedBy(checkRoleArn, (arn) => `"${arn}" is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)`);

const CONFIG_SCHEMA = object({
  region: region().optional(),
  profiles: z.record(
    z.string(),
    object({
      roleArn: roleArn().optional(),
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
  masked: z.boolean({
    error: (issue) => `expected true or false, got ${describe(issue.input)}`,
  }).optional(),
  vaultBackend: string().pipe(z.enum(["keychain", "file"], {
    error: (issue) => `"${issue.input}" is not one of keychain, file`,
  })).optional(),
  identityRefusals: z.array(
    object({
      role: roleArn(),
      caller: string().refine((value) => CALLER_ARN.test(value), {
        error: (issue) => `"${issue.input}" is not an IAM or STS ARN`,
      }),
      at: string().refine((value) => ISO_TIME.test(value) && !isNaN(Date.parse(value)), {
        error: (issue) => `"${issue.input}" is not a time like 2030-01-01T00:00:00.000Z`,
      }).optional(),
    }),
    { error: (issue) => `expected a list of {role, caller}, got ${describe(issue.input)}` },
  ).optional(),
  rolesWithoutIdentity: z.array(
    roleArn(),
    { error: (issue) => `expected a list of role ARNs, got ${describe(issue.input)}` },
  ).optional(),
});

/**
 * Parses and validates the config file's text. Errors name `path` and the offending field, e.g.
 * `Invalid config file "/home/me/.config/timebound-iam/config.json": field "profiles.prod.roleArn": …`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./config_schema.ts";
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

function invalid(path: string, detail: string): UsageError {
  return new UsageError(`Invalid config file "${path}": ${detail}`, {
    hint:
      "fix the file, or move it aside and run: timebound-iam setup aws --apply (it writes a new one)",
  });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return `"${value}"`;
  return typeof value === "object" ? "an object" : String(value);
}
