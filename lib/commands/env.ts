/**
 * `timebound-iam env`: print the statements that put scoped, short-lived credentials into the
 * calling shell (`eval "$(timebound-iam env …)"`), or that take them out again (`--unset`).
 *
 * @module
 */

import { Command, Option } from "../cli/commander.ts";
import { askingGrantOptions, type Cli, envName } from "../cli/options.ts";
import {
  grantVariables,
  SHADOWING_VARIABLES,
  UNSET_VARIABLES,
} from "../delivery/credential_env.ts";
import { UsageError } from "../core/errors.ts";
import { obtainGrant } from "../cli/grant_flow.ts";
import { parseShell, renderExports, renderUnsets, SHELLS } from "../delivery/shell_env.ts";

/** Builds the `env` command. */
export function envCommand(cli: Cli): Command<unknown[], Record<string, unknown>> {
  return askingGrantOptions(new Command("env"))
    .addOption(
      new Option("--shell <shell>", "syntax of the statements (default: powershell on Windows)")
        .choices(SHELLS)
        .default(Deno.build.os === "windows" ? "powershell" : "bash")
        .env(envName("shell")),
    )
    .option("--unset", "print statements that remove the variables env sets (no AWS call)")
    .addHelpText(
      "after",
      `
Only statements go to standard output; the summary and the prompt go to standard error.

Examples:
  eval "$(timebound-iam env -s s3:ro -t 15m --no-confirm)"
  eval "$(timebound-iam env --unset)"
  timebound-iam env -s s3:ro -t 15m --shell fish | source
  timebound-iam env -s s3:ro -t 15m --shell powershell | Invoke-Expression`,
    )
    .action(async (options) => {
      const shell = parseShell(options.shell);
      if (options.unset) {
        if (options.scope.length || options.ttl) {
          throw new UsageError("--unset takes no scope or TTL: it only prints unset statements");
        }
        cli.io.stdout(renderUnsets(UNSET_VARIABLES, shell));
        return;
      }
      const grant = await obtainGrant(cli, options);
      if (!grant) return;
      const vars = grantVariables(grant.credentials, {
        region: grant.region,
        sessionName: grant.sessionName,
      });
      // A profile in the shell would win over the exported keys in the AWS SDK for JavaScript;
      // the other credential variables would offer other credentials.
      const profiles = SHADOWING_VARIABLES.filter((name) => cli.io.env[name] && !(name in vars));
      if (profiles.length) {
        cli.io.stderr(`note: also unsetting ${profiles.join(", ")} so the keys take effect\n`);
      }
      cli.io.stdout(
        (profiles.length ? renderUnsets(profiles, shell) : "") + renderExports(vars, shell),
      );
    });
}
