/**
 * `timebound-iam console`: the AWS console in the browser, signed in with exactly a grant's
 * scopes (as aws-vault's `login`, narrowed), or with `--like-serve` those of serve's allow list.
 *
 * @module
 */

import { Command, Option } from "../cli/commander.ts";
import { askingGrantOptions, type Cli } from "../cli/options.ts";
import { openConsole, parseBrowserTimeout } from "../cli/console_flow.ts";
import { checkLength, INPUT_LIMITS } from "../request/input_bounds.ts";
import { CONSOLE_SERVICES } from "../aws/console_url.ts";

/** `text` cut into lines of at most `width` characters at spaces, the first `start` shorter. */
function wrap(text: string, width: number, start: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const room = width - (lines.length === 0 ? start : 0);
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join("\n");
}

/** Builds the `console` command. */
export function consoleCommand(cli: Cli): Command<unknown[], Record<string, unknown>> {
  return askingGrantOptions(new Command("console"))
    .usage("-s SCOPES -t TTL [options]")
    .addOption(
      new Option("--service <name>", "open this service's console page (e.g. s3, dynamodb)")
        .conflicts("path"),
    )
    .addOption(
      new Option("--path <page>", "open this page of the region's console (e.g. s3/buckets/b)")
        .argParser((value) => checkLength(value, "--path", INPUT_LIMITS.scopes)),
    )
    .option("--print", "write the sign-in URL to stdout instead of opening a browser")
    .addOption(
      new Option(
        "--browser-timeout <time>",
        "how long to wait for the browser to follow its link (e.g. 30s, 5m; default 2m)",
      ).argParser(parseBrowserTimeout),
    )
    .option("--no-logout-first", "do not log out of an open console session first")
    .option("--like-serve", "use the scopes of serve's allow list: see what an agent would")
    .addOption(
      new Option("--allow <scopes>", "with --like-serve: the allow list, as serve --allow takes it")
        .argParser((value) => checkLength(value, "--allow", INPUT_LIMITS.scopes)),
    )
    .addHelpText(
      "after",
      `
The grant is exec's (same flags, summary, confirmation, MFA and identity); its session is traded
at AWS's federation endpoint for a sign-in URL (TIMEBOUND_IAM_SIGNIN_URL replaces the endpoint).
The URL is a bearer secret, valid 15 minutes; the console session ends with the credentials
(role-chained: at most 1h). The browser: $BROWSER, else open, xdg-open or the Windows default.
It gets a one-time link on 127.0.0.1 that redirects once to the URL, never the URL itself.
--service knows: ${wrap(Object.keys(CONSOLE_SERVICES).join(", "), 80, 17)}.

Examples:
  timebound-iam console -s s3:ro -t 1h --service s3
  timebound-iam console -s dynamodb:ro@Orders -t 30m --path dynamodbv2/home#tables
  timebound-iam console --like-serve -t 15m --print`,
    )
    .action(async (options) => {
      await openConsole(cli, options);
    });
}
