/**
 * `timebound-iam exec`: run a command with scoped, short-lived credentials in its environment,
 * and exit with its exit code.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import {
  type Cli,
  dryRunOption,
  mfaCodeOption,
  mfaSerialOption,
  mfaSessionTtlOption,
  noConfirmOption,
  profileOption,
  regionOption,
  roleArnOption,
  scopeOption,
  sourceIdentityOption,
  ttlOption,
} from "../cli/context.ts";
import { runChild } from "../delivery/child.ts";
import { childEnvironment, grantVariables } from "../delivery/credential_env.ts";
import { UsageError } from "../core/errors.ts";
import { obtainGrant } from "../cli/grant_flow.ts";

/** Builds the `exec` command. */
export function execCommand(cli: Cli): Command<unknown[], Record<string, unknown>> {
  return new Command("exec")
    .description("run a command with temporary, scoped AWS credentials in its environment")
    .usage("-s SCOPES -t TTL [options] -- COMMAND [ARGS...]")
    .argument("[command...]", "the command to run, after --")
    .addOption(scopeOption())
    .addOption(ttlOption())
    .addOption(profileOption())
    .addOption(regionOption())
    .addOption(roleArnOption())
    .addOption(mfaSerialOption())
    .addOption(mfaCodeOption())
    .addOption(mfaSessionTtlOption())
    .addOption(sourceIdentityOption())
    .addOption(dryRunOption())
    .addOption(noConfirmOption())
    .passThroughOptions()
    .addHelpText(
      "after",
      `
The child gets the parent's environment without AWS_PROFILE, AWS_DEFAULT_PROFILE and any
inherited AWS keys, plus AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
AWS_CREDENTIAL_EXPIRATION, AWS_REGION, AWS_DEFAULT_REGION and TIMEBOUND_IAM_SESSION.
Exit code: the command's; 128+n if it died of signal n; 127 not found; 126 not executable.

Examples:
  timebound-iam exec -s s3:ro -t 15m -- aws s3 ls
  timebound-iam exec -s s3:full,cloudfront:full -t 30m --profile prod -- ./deploy.sh`,
    )
    .action(async (command, options) => {
      const [program, ...args] = command;
      if (program === undefined && !options.dryRun) {
        throw new UsageError("No command given: put it after --", {
          hint: "e.g. timebound-iam exec -s s3:ro -t 15m -- aws s3 ls",
        });
      }
      const grant = await obtainGrant(cli, options, { command });
      if (!grant || program === undefined) return;
      const vars = grantVariables(grant.credentials, {
        region: grant.region,
        sessionName: grant.sessionName,
      });
      cli.exitCode = await runChild(program, args, { env: childEnvironment(cli.io.env, vars) });
    });
}
