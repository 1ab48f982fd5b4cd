/**
 * `timebound-iam policy`: print the session policy that scopes produce, without any AWS call.
 * Like every command that grants, it reads the config file: its region and broker role say
 * where bare resource names live, as they do for `exec`.
 *
 * @module
 */

import { Command, Option } from "../cli/commander.ts";
import { resolveGrantSettings } from "../grant/settings.ts";
import { type Cli, profileOption, regionOption, scopeOption } from "../cli/options.ts";
import { UsageError } from "../core/errors.ts";
import { hasBareNames, prepareGrant } from "../request/grant_request.ts";
import { partitionOf } from "../request/resource.ts";
import { withheldNote } from "../request/session_policy.ts";

/** Builds the `policy` command. */
export function policyCommand(cli: Cli): Command<unknown[], Record<string, unknown>> {
  return new Command("policy")
    .addOption(scopeOption())
    .option("-t, --ttl <duration>", "check a TTL as exec and env would (1m to 12h)")
    .addOption(
      new Option(
        "--account <id>",
        "account for bare resource names (s3:ro@my-bucket); default: the broker role's " +
          "(TIMEBOUND_IAM_ROLE_ARN, the config file), else * (any account)",
      ),
    )
    .addOption(regionOption(
      "region for bare resource names (default: AWS_REGION, AWS_DEFAULT_REGION, the config " +
        "file's, else *)",
    ))
    .addOption(
      profileOption(
        "AWS profile whose config file entry applies (default: AWS_PROFILE, else default)",
      ),
    )
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
      // The broker role and region exec would use, as far as they are known without AWS: bare
      // names live in the role's account (the caller's own, unknown here, when nothing names one).
      const { roleArn, region } = await resolveGrantSettings(options, cli.io.env);
      const [, partition, , , account] = roleArn?.split(":") ?? [];
      const target = {
        account: options.account ?? account ?? "*",
        region: region ?? "*",
        partition: partition ?? (region ? partitionOf(region) : "aws"),
      };
      const request = await prepareGrant(
        { scopes: options.scope, ttl: options.ttl },
        { requireTtl: false, target },
      );
      cli.io.stdout(`${JSON.stringify(request.policy.document, null, 2)}\n`);
      for (const part of request.policy.parts) {
        const note = withheldNote(part);
        if (note) cli.io.stderr(`note: ${note}\n`);
        for (const resource of part.resources ?? []) {
          if (resource.note) cli.io.stderr(`note: ${resource.note}\n`);
        }
      }
      if (hasBareNames(request) && (target.account === "*" || target.region === "*")) {
        cli.io.stderr(
          "note: bare names were expanded with * for the account and region a grant fills in; " +
            "pass --account and --region for the exact policy\n",
        );
      }
    });
}
