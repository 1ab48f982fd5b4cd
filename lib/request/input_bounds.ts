/**
 * The bounds of every input a user or an agent gives, checked before any work: lengths of
 * strings and lists (the MCP schemas and the CLI use the same numbers), and the form of a region
 * and a profile name. A value outside them is a usage error of one line, never an SDK message.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";

/** The input limits, shared by the CLI and the MCP tool schemas. */
export const INPUT_LIMITS = {
  /** A scope list (`s3:ro,dynamodb:full`): far beyond what fits AWS's 2,048-character policy. */
  scopes: 4096,
  /** One service name or alias. */
  service: 64,
  /** How many services one request may name. */
  services: 1000,
  /** A level, a TTL, an approval setting. */
  word: 32,
  /** A profile name. */
  profile: 128,
  /** A region. */
  region: 32,
  /** A role ARN (IAM allows 2,048 for the whole ARN). */
  roleArn: 2048,
  /** A session id, a search query. */
  id: 128,
} as const;

/**
 * Checks one CLI value against its limit, and that it is not empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLength } from "./input_bounds.ts";
 * assert.equal(checkLength("s3:ro", "--scope", 4096), "s3:ro");
 * ```
 */
export function checkLength(value: string, flag: string, max: number): string {
  if (value.trim() === "") throw new UsageError(`Empty ${flag}: give a value or leave it out`);
  if (value.length > max) {
    throw new UsageError(
      `Invalid ${flag} "${logText(value, 40)}": longer than ${
        max.toLocaleString("en-US")
      } characters`,
    );
  }
  return value;
}

// Commercial, China, GovCloud, ISO (us-iso-east-1, us-isob-east-1, eu-isoe-west-1, …), EUSC.
const REGION = /^[a-z]{2}(-(gov|iso[a-z]?|eusc))?-[a-z]+-\d{1,2}$/;

/**
 * Checks a region's form (`us-east-1`, `us-gov-west-1`, `cn-north-1`, `eusc-de-east-1`…) without
 * a network call, so a typo or a shell fragment is a usage error, not an SDK failure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkRegion } from "./input_bounds.ts";
 * assert.equal(checkRegion("eu-west-1"), "eu-west-1");
 * ```
 */
export function checkRegion(value: string, flag = "--region"): string {
  checkLength(value, flag, INPUT_LIMITS.region);
  if (!REGION.test(value) && !/^eusc-[a-z]{2}-[a-z]+-\d{1,2}$/.test(value)) {
    throw new UsageError(
      `Invalid region "${logText(value, 40)}": expected a region like us-east-1`,
    );
  }
  return value;
}

/**
 * Checks a profile name: not empty, bounded, printable (what `~/.aws/config` can hold).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkProfileName } from "./input_bounds.ts";
 * assert.equal(checkProfileName("prod-admin"), "prod-admin");
 * ```
 */
export function checkProfileName(value: string, flag = "--profile"): string {
  checkLength(value, flag, INPUT_LIMITS.profile);
  if (!/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value) || /[[\]]/.test(value)) {
    throw new UsageError(`Invalid profile name "${logText(value, 40)}"`, {
      hint: "profile names are the [section] names of ~/.aws/config and ~/.aws/credentials",
    });
  }
  return value;
}

/**
 * Parses a comma-separated list of profile names (`--allow-profiles a,b`), each checked by
 * {@linkcode checkProfileName}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseProfileList } from "./input_bounds.ts";
 * assert.equal(parseProfileList("dev, staging").join(), "dev,staging");
 * ```
 */
export function parseProfileList(value: string, flag = "--allow-profiles"): string[] {
  checkLength(value, flag, INPUT_LIMITS.profile * 16);
  return value.split(",").map((name) => checkProfileName(name.trim(), flag));
}
