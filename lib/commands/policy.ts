/**
 * `timebound-iam policy`: print the session policy that scopes produce, without any AWS call.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { type Cli, scopeOption } from "../cli/context.ts";
import { prepareGrant } from "../request/grant_request.ts";

/** Builds the `policy` command. */
export function policyCommand(cli: Cli): Command<unknown[], Record<string, unknown>> {
  return new Command("policy")
    .description("print the session policy JSON that the scopes produce (no AWS call)")
    .addOption(scopeOption())
    .option("-t, --ttl <duration>", "check a TTL as exec and env would (1m to 12h)")
    .addHelpText(
      "after",
      `
Examples:
  timebound-iam policy -s s3:ro
  timebound-iam policy -s s3:ro,dynamodb:full -s logs:ro -t 1h`,
    )
    .action(async (options) => {
      const request = await prepareGrant(
        { scopes: options.scope, ttl: options.ttl },
        { requireTtl: false },
      );
      cli.io.stdout(`${JSON.stringify(request.policy.document, null, 2)}\n`);
    });
}
