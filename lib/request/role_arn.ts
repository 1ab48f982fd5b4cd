/**
 * The broker role's ARN as a user writes it (a flag, the environment, the config file): checked
 * before any AWS call, so a typo is a usage error rather than an STS refusal.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";

// The partitions: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc.
const ROLE_ARN =
  /^arn:aws(-cn|-us-gov|-iso(-[a-z])?|-eusc)?:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/;

/** Throws a usage error unless `arn` is an IAM role ARN. */
export function checkRoleArn(arn: string): void {
  if (!ROLE_ARN.test(arn)) {
    throw new UsageError(
      `Invalid role ARN "${logText(arn, 100)}": expected arn:aws:iam::ACCOUNT:role/NAME`,
      { hint: "the partition is aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b… or aws-eusc" },
    );
  }
}
