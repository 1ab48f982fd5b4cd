/**
 * `timebound-iam doctor`: one screen that says why a grant would fail. Each check prints ✓ or ✗
 * (or – when it cannot run) and, on ✗, the fix. Exit code 0 only when no check fails.
 *
 * @module
 */

import { waitingLine } from "../core/waiting_line.ts";
import { Command } from "../cli/commander.ts";
import { awsTimeoutMs } from "../aws/timeout.ts";
import { type Cli, profileOption, regionOption, roleArnOption, ttlOption } from "../cli/options.ts";
import { type DoctorDeps, renderChecks, runDoctor } from "../setup/doctor.ts";
import { createIamClient } from "../setup/iam_role.ts";

/** Builds the `doctor` command. */
export function doctorCommand(
  cli: Cli,
  deps: Partial<DoctorDeps> = {},
): Command<unknown[], Record<string, unknown>> {
  return new Command("doctor")
    .addOption(profileOption())
    .addOption(regionOption())
    .addOption(roleArnOption())
    .addOption(ttlOption())
    .option("--console", "also check that the console's federation (sign-in) endpoint answers")
    .addHelpText(
      "after",
      `
-t is the longest TTL you mean to ask for (default: the config file's serve.maxTtl, else 1h):
the role's MaxSessionDuration and role chaining are checked against it. The role check is a
15-minute AssumeRole with a deny-all session policy: it proves the trust, and the credentials
it returns can do nothing. --console adds a HEAD to the federation endpoint of the region's
partition (or TIMEBOUND_IAM_SIGNIN_URL), which timebound-iam console needs. Exit code 0 only
when no check fails.

Examples:
  timebound-iam doctor
  timebound-iam doctor --profile prod -t 4h
  timebound-iam doctor --console --region eu-west-1`,
    )
    .action(async (options) => {
      // On a terminal, a wait for AWS of more than a second says so.
      const checks = await waitingLine(cli.io).run("AWS", () =>
        runDoctor(cli.io.env, options, {
          createStsClient: deps.createStsClient,
          createIamClient: deps.createIamClient ??
            ((config) => createIamClient({ ...config, timeoutMs: awsTimeoutMs(cli.io.env) })),
        }));
      if (options.console) {
        // Its module loads only when asked, as the request is made only then.
        const { consoleCheck } = await import("../setup/console_check.ts");
        checks.push(
          await waitingLine(cli.io).run(
            "AWS sign-in",
            () => consoleCheck(options, { env: cli.io.env }),
          ),
        );
      }
      cli.io.stdout(renderChecks(checks));
      if (checks.some((check) => check.status === "fail")) cli.exitCode = 1;
    });
}
