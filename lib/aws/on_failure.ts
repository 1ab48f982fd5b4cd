/**
 * What a failed AWS call needs, loaded only when one fails: the SDK's errors told apart
 * (`sdk_errors.ts`) and explained (`aws_errors.ts`, mostly tables of sentences). The modules on
 * a grant's path call these, so a grant that succeeds loads neither.
 *
 * @module
 */

import type { UserError } from "../core/errors.ts";
import type { ErrorContext } from "./aws_errors.ts";
import type { AwsService, ClassifiedAwsError } from "./sdk_errors.ts";

/** {@linkcode import("./aws_errors.ts").explainAwsError}, its module loaded on first use. */
export async function explainAwsError(error: unknown, context: ErrorContext): Promise<UserError> {
  return await (await import("./aws_errors.ts")).explainAwsError(error, context);
}

/** {@linkcode import("./sdk_errors.ts").classifyAwsError}, its module loaded on first use. */
export async function classifyAwsError(
  error: unknown,
  service: AwsService,
): Promise<ClassifiedAwsError> {
  return await (await import("./sdk_errors.ts")).classifyAwsError(error, service);
}
