/**
 * The broker role's ARN as a user writes it (a flag, the environment, the config file): checked
 * before any AWS call, so a typo is a usage error rather than an STS refusal.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/;

/** Throws a usage error unless `arn` is an IAM role ARN. */
export function checkRoleArn(arn: string): void {
  if (!ROLE_ARN.test(arn)) {
    throw new UsageError(`Invalid role ARN "${arn}": expected arn:aws:iam::ACCOUNT:role/NAME`);
  }
}
