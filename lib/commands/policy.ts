/**
 * `timebound-iam policy`: print the session policy that scopes produce, without any AWS call.
 *
 * @module
 */

import { Command, Option } from "@commander-js/extra-typings";
import { type Cli, regionOption, scopeOption } from "../cli/context.ts";
import { UsageError } from "../core/errors.ts";
import { hasBareNames, prepareGrant } from "../request/grant_request.ts";
import { partitionOf } from "../request/resource.ts";

/** Builds the `policy` command. */
export function policyCommand(cli: Cli): Command<unknown[], Record<string, unknown>> {
  return new Command("policy")
    .addOption(scopeOption())
    .option("-t, --ttl <duration>", "check a TTL as exec and env would (1m to 12h)")
    .addOption(
      new Option(
        "--account <id>",
        "account for bare resource names (s3:ro@my-bucket); default * (any account)",
      ),
    )
    .addOption(regionOption().default(undefined, "AWS_REGION, AWS_DEFAULT_REGION, else *"))
    .addHelpText(
      "after",
      `
Examples:
  timebound-iam policy -s s3:ro
  timebound-iam policy -s s3:ro,dynamodb:full -s logs:ro -t 1h
  timebound-iam policy -s dynamodb:full@Orders --account 123456789012 --region eu-west-1`,
    )
    .action(async (options) => {
      if (options.account !== undefined && !/^\d{12}$/.test(options.account)) {
        throw new UsageError(`Invalid account "${options.account}": an account is 12 digits`);
      }
      const region = options.region || cli.io.env.AWS_REGION || cli.io.env.AWS_DEFAULT_REGION;
      const target = {
        account: options.account ?? "*",
        region: region ?? "*",
        partition: region ? partitionOf(region) : "aws",
      };
      const request = await prepareGrant(
        { scopes: options.scope, ttl: options.ttl },
        { requireTtl: false, target },
      );
      cli.io.stdout(`${JSON.stringify(request.policy.document, null, 2)}\n`);
      if (hasBareNames(request) && (target.account === "*" || target.region === "*")) {
        cli.io.stderr(
          "note: bare names were expanded with * for the account and region a grant fills in; " +
            "pass --account and --region for the exact policy\n",
        );
      }
    });
}
