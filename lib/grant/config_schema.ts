/**
 * The strict zod schema of the config file: every field and value (the `serve` section's too),
 * checked where the file is written or diagnosed (`setup aws`, `doctor`, `serve`). A grant checks
 * only the file's shape (`config_shape.ts`): zod takes tens of milliseconds to load.
 *
 * @module
 */

import { z } from "zod";
import { APPROVE_MODES } from "../request/approval.ts";
import { checkRoleArn } from "../request/role_arn.ts";
import { checkMfaSerial } from "../aws/mfa_session.ts";
import { parseProfileList } from "../request/input_bounds.ts";
import { parseTtl } from "../request/ttl.ts";
import { type Config, describe, invalidConfig, REGION } from "./config_shape.ts";
import { logText } from "../core/log_text.ts";

export type { Config, IdentityRefusal, ProfileConfig, ServeConfig } from "./config_shape.ts";

/**
 * A caller as {@linkcode IdentityRefusal} names one: an IAM or STS ARN of at most ~2,048
 * characters (IAM paths and names use `!` to DEL).
 */
export const CALLER_ARN = /^arn:aws[a-z-]{0,20}:(iam|sts)::\d{12}:[!-\x7f]{1,2000}$/;

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
    error: (issue) =>
      `"${logText(String(issue.input), 200)}" is not an AWS region (e.g. eu-west-1)`,
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
  checkedBy(
    checkRoleArn,
    (arn) => `"${logText(arn, 200)}" is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)`,
  );

const CONFIG_SCHEMA = object({
  region: region().optional(),
  profiles: z.record(
    z.string(),
    object({
      roleArn: roleArn().optional(),
      region: region().optional(),
      mfaSerial: checkedBy(
        checkMfaSerial,
        (serial) =>
          `"${logText(serial, 200)}" is not an MFA device ARN (arn:aws:iam::ACCOUNT:mfa/NAME)`,
      ).optional(),
    }),
    { error: (issue) => `expected an object, got ${describe(issue.input)}` },
  ).optional(),
  serve: object({
    // The services are checked against the catalog by `serve`, which loads it anyway.
    allow: string().refine((value) => SCOPE_LIST.test(value), {
      error: (issue) =>
        `"${logText(String(issue.input), 200)}" is not a scope list like "s3:full,*:ro"`,
    }).optional(),
    maxTtl: checkedBy((ttl) => parseTtl(ttl), (_, error) => error.message).optional(),
    approve: string().pipe(z.enum(APPROVE_MODES, {
      error: (issue) =>
        `"${logText(String(issue.input), 200)}" is not one of ${APPROVE_MODES.join(", ")}`,
    })).optional(),
    auditLog: string().optional(),
    allowProfiles: checkedBy(
      (value) => parseProfileList(value, "serve.allowProfiles"),
      (_, error) => error.message,
    ).optional(),
    masked: z.boolean({
      error: (issue) => `expected true or false, got ${describe(issue.input)}`,
    }).optional(),
  }).optional(),
  masked: z.boolean({
    error: (issue) => `expected true or false, got ${describe(issue.input)}`,
  }).optional(),
  vaultBackend: string().pipe(z.enum(["keychain", "file"], {
    error: (issue) => `"${logText(String(issue.input), 200)}" is not one of keychain, file`,
  })).optional(),
  identityRefusals: z.array(
    object({
      role: roleArn(),
      caller: string().refine((value) => CALLER_ARN.test(value), {
        error: (issue) => `"${logText(String(issue.input), 200)}" is not an IAM or STS ARN`,
      }),
      at: string().refine((value) => ISO_TIME.test(value) && !isNaN(Date.parse(value)), {
        error: (issue) =>
          `"${logText(String(issue.input), 200)}" is not a time like 2030-01-01T00:00:00.000Z`,
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
    throw invalidConfig(path, `not valid JSON: ${(error as Error).message}`);
  }
  const parsed = CONFIG_SCHEMA.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue.path.join(".");
  if (issue.code === "unrecognized_keys") {
    const name = [...issue.path, issue.keys[0]].join(".");
    throw invalidConfig(path, `unknown field "${logText(name, 100)}": expected ${issue.message}`);
  }
  throw invalidConfig(path, `field "${logText(field, 100) || "(top level)"}": ${issue.message}`);
}
