/**
 * `timebound-iam setup aws`: from nothing to a working broker role in one run. Choose the
 * services, the longest session and the MCP client (on a terminal, or with flags); get the
 * trust and permission policies, the `aws iam` commands, the client snippet and the agent rules;
 * with `--apply`, create or update the role through IAM and write the config file.
 *
 * @module
 */

import { Command, Option } from "../cli/commander.ts";
import { awsTimeoutMs } from "../aws/timeout.ts";
import { DEFAULT_ROLE_NAME } from "../aws/broker.ts";
import { MCP_CLIENTS, TRUST_MODES, type TrustMode } from "../setup/broker_role.ts";
import { type Cli, ownProgram, profileOption, regionOption } from "../cli/options.ts";
import { createIamClient } from "../setup/iam_role.ts";
import { checkLength, INPUT_LIMITS } from "../request/input_bounds.ts";
import { setupAws, type SetupDeps, type SetupFlags } from "../setup/setup_aws.ts";
import { terminalPrompts } from "../setup/wizard.ts";

/** Builds the `setup` command with its `aws` subcommand. */
export function setupCommand(
  cli: Cli,
  deps: Partial<SetupDeps> = {},
): Command<unknown[], Record<string, unknown>> {
  const aws = new Command("aws")
    .description("create the broker role right the first time: policies, commands, snippets")
    .addOption(profileOption())
    .addOption(regionOption())
    .addOption(
      new Option("--services <list>", "services the broker may use, e.g. s3,dynamodb (repeatable)")
        .argParser((value: string, previous: string[] | undefined) => [...previous ?? [], value]),
    )
    .addOption(
      new Option(
        "--scopes <list>",
        "or narrower, as a grant's scopes: s3:ro@my-bucket,dynamodb:full@Orders (repeatable)",
      ).argParser((value: string, previous: string[] | undefined) => [
        ...previous ?? [],
        checkLength(value, "--scopes", INPUT_LIMITS.scopes),
      ]),
    )
    .addOption(
      new Option("--role-name <name>", "the broker role's name").default(DEFAULT_ROLE_NAME),
    )
    .addOption(
      new Option(
        "--max-session <duration>",
        "the role's MaxSessionDuration, 1h to 12h (default 1h)",
      ),
    )
    .addOption(
      new Option("--trust <who>", "who may assume the role: the calling principal, or the account")
        .choices(TRUST_MODES).default("caller" as TrustMode),
    )
    .addOption(
      new Option("--client <name>", "the MCP client to write a snippet for").choices(MCP_CLIENTS),
    )
    .option("--require-mfa", "the trust policy allows the role only with MFA")
    .addOption(
      new Option(
        "--mfa-max-age <duration>",
        "and only within this long of typing the code (aws:MultiFactorAuthAge), e.g. 12h",
      ),
    )
    .option("--apply", "create or update the role through IAM, then write the config file")
    .option("--yes", "do not ask before --apply changes anything")
    .addHelpText(
      "after",
      `
Without flags on a terminal, it asks for the services (and, optionally, narrower scopes), the
longest session and the MCP client, starting from what an existing role has. --scopes builds
the role's policy from the scope language of a grant, levels and resources included; a service
named in --services gets all of it (service:*).
Without --apply it changes nothing: it prints what to create. With --apply it needs
iam:GetRole, iam:CreateRole, iam:UpdateRole, iam:UpdateAssumeRolePolicy, iam:GetRolePolicy and
iam:PutRolePolicy, changes only what differs, and records the role in the config file.

Examples:
  timebound-iam setup aws
  timebound-iam setup aws --services s3,dynamodb,logs --max-session 4h --client kiro
  timebound-iam setup aws --services s3 --max-session 4h --apply --yes
  timebound-iam setup aws --scopes 's3:ro@my-bucket,dynamodb:full@Orders' --apply
  timebound-iam setup aws --services s3 --require-mfa --mfa-max-age 12h --apply`,
    )
    .action(async (options) => {
      await setupAws(cli.io, options as SetupFlags, {
        prompts: deps.prompts ?? terminalPrompts(),
        createStsClient: deps.createStsClient,
        createIamClient: deps.createIamClient ??
          ((config) => createIamClient({ ...config, timeoutMs: awsTimeoutMs(cli.io.env) })),
        serverCommand: deps.serverCommand ?? ownProgram(),
      });
    });
  const setup = new Command("setup");
  setup.addCommand(aws);
  return setup;
}
