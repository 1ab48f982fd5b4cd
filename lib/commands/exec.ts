/**
 * `timebound-iam exec`: run a command with scoped, short-lived credentials in its environment,
 * and exit with its exit code.
 *
 * @module
 */

import { Command } from "../cli/commander.ts";
import {
  askingGrantOptions,
  callReportOptions,
  type Cli,
  loadCallReport,
  maskedOptions,
  refreshOption,
} from "../cli/options.ts";
import { runChild } from "../delivery/child.ts";
import { childEnvironment, grantVariables } from "../delivery/credential_env.ts";
import { UsageError } from "../core/errors.ts";
import { obtainGrant, obtainRenewableGrant } from "../cli/grant_flow.ts";
import { resolveGrantSettings } from "../grant/settings.ts";
import { parseRefreshLimit } from "../request/ttl.ts";

/** Builds the `exec` command. */
export function execCommand(cli: Cli): Command<unknown[], Record<string, unknown>> {
  return askingGrantOptions(new Command("exec"))
    .usage("-s SCOPES -t TTL [options] -- COMMAND [ARGS...]")
    .argument("[command...]", "the command to run, after --")
    .addOption(refreshOption())
    .addOption(maskedOptions()[0])
    .addOption(maskedOptions()[1])
    .addOption(callReportOptions()[0])
    .addOption(callReportOptions()[1])
    .passThroughOptions()
    .addHelpText(
      "after",
      `
The child gets the parent's environment without AWS_PROFILE, AWS_DEFAULT_PROFILE and any
inherited AWS keys, plus AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
AWS_CREDENTIAL_EXPIRATION, AWS_REGION, AWS_DEFAULT_REGION and TIMEBOUND_IAM_SESSION.
With --refresh it gets no keys but AWS_CONTAINER_CREDENTIALS_FULL_URI and
AWS_CONTAINER_AUTHORIZATION_TOKEN: a local endpoint that renews the session until MAX.
With --masked (or "masked": true in the config file) it gets stand-in keys, worthless
elsewhere, and AWS_ENDPOINT_URL naming a loopback proxy that signs each call with the
session; with --refresh the session behind them is renewed until MAX. With --masked, --calls
lists the calls the command made when it ends (--calls=FILE: JSON lines in a new 0600 file), and
--learn prints the narrowest -s line that allows them all. See docs/masked.md.
Exit code: the command's; 128+n if it died of signal n; 127 not found; 126 not executable.

Examples:
  timebound-iam exec -s s3:ro -t 15m -- aws s3 ls
  timebound-iam exec -s s3:full,cloudfront:full -t 30m --profile prod -- ./deploy.sh
  timebound-iam exec -s s3:full -t 15m --refresh=4h -- ./long-backup.sh
  timebound-iam exec -s s3:ro -t 15m --masked -- aws s3 ls
  timebound-iam exec -s s3:full,dynamodb:full -t 15m --masked --learn -- ./report.sh`,
    )
    .action(async (command, options) => {
      const [program, ...args] = command;
      if (program === undefined && !options.dryRun) {
        throw new UsageError("No command given: put it after --", {
          hint: "e.g. timebound-iam exec -s s3:ro -t 15m -- aws s3 ls",
        });
      }
      const settings = await resolveGrantSettings(options, cli.io.env);
      const reporting = await loadCallReport(options, { masked: settings.masked, command: "exec" });
      if (settings.masked) {
        const limitSeconds = options.refresh === undefined
          ? undefined
          : parseRefreshLimit(options.refresh);
        const renewable = await obtainRenewableGrant(cli, options, {
          command,
          refreshSeconds: limitSeconds,
          settings,
          masked: true,
        });
        if (!renewable || program === undefined) return renewable?.close();
        // The proxy's modules load only for --masked.
        const { runMasked } = await import("../cli/masked_flow.ts");
        const tally = reporting
          ? (await import("../delivery/call_tally.ts")).createCallTally()
          : undefined;
        cli.exitCode = await runMasked(cli, renewable, {
          renewal: limitSeconds === undefined
            ? { mode: "none" }
            : { mode: "renewing", limitSeconds },
          run: ({ env }) => runChild(program, args, { env }),
          onCall: tally?.record,
          onUnverified: tally?.countUnverified,
        });
        if (tally) await reporting?.reportCalls(cli.io, tally, options);
        return;
      }
      if (options.refresh !== undefined) {
        const limitSeconds = parseRefreshLimit(options.refresh);
        const renewable = await obtainRenewableGrant(cli, options, {
          command,
          refreshSeconds: limitSeconds,
          settings,
        });
        if (!renewable || program === undefined) return renewable?.close();
        // The credential server's modules load only for --refresh.
        const { runRenewing } = await import("../cli/refresh_flow.ts");
        cli.exitCode = await runRenewing(cli, renewable, {
          limitSeconds,
          run: (env) => runChild(program, args, { env }),
        });
        return;
      }
      const grant = await obtainGrant(cli, options, { command, settings });
      if (!grant || program === undefined) return;
      const vars = grantVariables(grant.credentials, {
        region: grant.region,
        sessionName: grant.sessionName,
      });
      cli.exitCode = await runChild(program, args, { env: childEnvironment(cli.io.env, vars) });
    });
}
