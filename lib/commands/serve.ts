/**
 * `timebound-iam serve`: an MCP stdio server through which agents ask for scoped, short-lived
 * credentials, within the guardrails that the human sets on the command line. stdout carries
 * MCP messages only; the log goes to stderr.
 *
 * @module
 */

import { Command, Option } from "../cli/commander.ts";
import {
  type Cli,
  mfaSerialOption,
  profileOption,
  regionOption,
  roleArnOption,
  sourceIdentityOption,
} from "../cli/options.ts";
import { checkLength, INPUT_LIMITS, parseProfileList } from "../request/input_bounds.ts";
import { APPROVE_MODES } from "../request/approval.ts";

/** Builds the `serve` command. */
export function serveCommand(cli: Cli): Command<unknown[], Record<string, unknown>> {
  return new Command("serve")
    .addOption(profileOption())
    .addOption(regionOption())
    .addOption(roleArnOption())
    .addOption(mfaSerialOption())
    .addOption(sourceIdentityOption())
    .option(
      "--allow <scopes>",
      "the scopes agents may ask for, e.g. s3:full,*:ro (default: any)",
      (value: string) => checkLength(value, "--allow", INPUT_LIMITS.scopes),
    )
    .option(
      "--allow-profiles <names>",
      "other AWS profiles agents may name besides the server's own (default: none)",
      (value: string) => parseProfileList(value),
    )
    .option("--max-ttl <duration>", "the longest TTL agents may ask for (default: 1h)")
    .addOption(
      new Option(
        "--approve <when>",
        "ask the human (MCP elicitation) before grants (default: never)",
      )
        .choices(APPROVE_MODES),
    )
    .addOption(
      new Option(
        "--masked",
        "agents get stand-in keys and AWS_ENDPOINT_URL: a signing proxy in this process that " +
          "logs every call and cuts a grant off at revoke_session",
      ),
    )
    .addOption(new Option("--no-masked", "agents get the sessions themselves (over serve.masked)"))
    .option(
      "--audit-log <file>",
      "append-only JSON lines log (default: $XDG_STATE_HOME/timebound-iam/audit.jsonl)",
    )
    .addHelpText(
      "after",
      `
Tools: grant_access, list_active_sessions, list_services, revoke_session. Credentials go to
0600 env files in a private 0700 directory, deleted at expiry, on revoke_session and on exit.

The server uses the profile it was started with (--profile, AWS_PROFILE, AWS_DEFAULT_PROFILE
unless keys are in the environment, or the default chain); an agent may name another only if
--allow-profiles lists it.

Defaults for --allow, --allow-profiles, --max-ttl, --approve, --audit-log and --masked come from
the "serve" section of the config file (see timebound-iam doctor); flags win.

With --masked (or "masked": true in the config file's "serve" section) every env file holds
stand-in keys, AWS_ENDPOINT_URL and the region; the sessions stay in this process, behind a
loopback signing proxy. Each call goes to the audit log, revoke_session refuses the next call
with ExpiredToken, and list_active_sessions counts the calls. See docs/masked.md.

With an MFA device (--mfa-serial, the config file, or the profile's mfa_serial), grants use the
cached MFA session (timebound-iam mfa login); when there is none, the human is asked for a code
through MCP elicitation if the client supports it. The agent never supplies a code.

Examples:
  timebound-iam serve
  timebound-iam serve --profile dev --allow 's3:full,*:ro' --max-ttl 30m --approve full
  timebound-iam serve --masked --allow 's3:ro,dynamodb:ro'`,
    )
    .action(async (options) => {
      // Its modules (the MCP SDK, zod) load only when it runs.
      const { serveStdio } = await import("../mcp/stdio_server.ts");
      await serveStdio(cli, options);
    });
}
