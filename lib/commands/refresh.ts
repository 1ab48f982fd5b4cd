/**
 * `timebound-iam refresh`: inside `timebound-iam shell`, print the statements that replace the
 * shell's credentials with a new session of the same scopes and TTL. The shell's
 * `timebound-iam refresh` function evaluates them; the `shell` process does the AssumeRole.
 *
 * @module
 */

import { formatTime } from "../core/time_text.ts";
import { Command, Option } from "../cli/commander.ts";
import type { Cli } from "../cli/options.ts";
import { RuntimeError, UsageError } from "../core/errors.ts";
import { requestRenewal } from "../delivery/credential_server.ts";
import {
  REFRESH_TOKEN_VARIABLE,
  REFRESH_URI_VARIABLE,
  RENEWS_UNTIL_VARIABLE,
} from "../delivery/shell_session.ts";
import { parseShell, renderExports, SHELLS } from "../delivery/shell_env.ts";

/** Builds the `refresh` command. */
export function refreshCommand(cli: Cli): Command<unknown[], Record<string, unknown>> {
  return new Command("refresh")
    .addOption(
      new Option("--shell <shell>", "syntax of the statements").choices(SHELLS).default("bash"),
    )
    .action(async (options) => {
      const env = cli.io.env;
      const url = env[REFRESH_URI_VARIABLE];
      const token = env[REFRESH_TOKEN_VARIABLE];
      if (!url || !token) {
        if (env[RENEWS_UNTIL_VARIABLE]) {
          cli.io.stderr("note: the credentials of this shell renew by themselves (--refresh)\n");
          return;
        }
        throw new UsageError("Nothing to refresh: not inside timebound-iam shell", {
          hint: "start one with: timebound-iam shell -s SCOPES -t TTL",
        });
      }
      let answer;
      try {
        answer = await requestRenewal(url, token);
      } catch (error) {
        throw new RuntimeError(`Could not refresh: ${(error as Error).message}`, { cause: error });
      }
      const { credentials } = answer;
      cli.io.stdout(renderExports({
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_SESSION_TOKEN: credentials.sessionToken,
        AWS_CREDENTIAL_EXPIRATION: credentials.expiration.toISOString(),
      }, parseShell(options.shell)));
      const until = formatTime(credentials.expiration);
      cli.io.stderr(
        answer.renewed
          ? `credentials renewed until ${until}\n`
          : `credentials kept: renewed less than a minute ago, they last until ${until}\n`,
      );
    });
}
