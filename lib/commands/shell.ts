/**
 * `timebound-iam shell`: aws-session's interactive shell, with scoped, short-lived credentials
 * and a prompt that counts down their time; exits with the shell's exit code.
 *
 * @module
 */

import { Command, Option } from "../cli/commander.ts";
import {
  askingGrantOptions,
  callReportOptions,
  type Cli,
  envName,
  maskedOptions,
  refreshOption,
} from "../cli/options.ts";
import { runShell } from "../cli/shell_flow.ts";
import { SESSION_SHELLS } from "../delivery/shell_session.ts";

/** Builds the `shell` command. */
export function shellCommand(cli: Cli): Command<unknown[], Record<string, unknown>> {
  return askingGrantOptions(new Command("shell"))
    .usage("-s SCOPES -t TTL [options]")
    .addOption(refreshOption())
    .addOption(
      new Option("--shell <shell>", "the shell to start (default: $SHELL)")
        .choices([...SESSION_SHELLS, "pwsh"])
        .env(envName("shell")),
    )
    .option("--force", "start even inside another timebound-iam session")
    .addOption(maskedOptions()[0])
    .addOption(maskedOptions()[1])
    .addOption(callReportOptions("the shell exits")[0])
    .addOption(callReportOptions("the shell exits")[1])
    .addHelpText(
      "after",
      `
The prompt shows the scopes and the time left ([s3:ro 12m]), in a warning colour near the end
and "expired" after (colours: NO_COLOR, TIMEBOUND_IAM_COLORS=0|1). Inside, "timebound-iam
refresh" renews the credentials with the same scopes and TTL, and the aws command renews them
first once they have expired. Your rc files are read, never changed. With --refresh the shell
gets a renewing local endpoint instead of keys. With --masked it gets stand-in keys and
AWS_ENDPOINT_URL naming a loopback signing proxy, never the session; "timebound-iam refresh"
then renews the session behind the same stand-ins; --calls lists the calls made in the shell
when it exits (--calls=FILE: JSON lines in a new 0600 file), and --learn prints the narrowest -s
line that allows them all. Exit code: the shell's.

Examples:
  timebound-iam shell -s s3:ro -t 1h
  timebound-iam shell -s s3:full,sqs:ro -t 15m --shell zsh --refresh=8h
  timebound-iam shell -s s3:ro,dynamodb:ro -t 1h --masked
  timebound-iam shell -s s3:full,dynamodb:full -t 1h --masked --learn`,
    )
    .action(async (options) => {
      cli.exitCode = await runShell(cli, options);
    });
}
