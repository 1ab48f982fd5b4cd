/**
 * `timebound-iam credential-process`: print scoped, short-lived credentials as AWS's
 * `credential_process` JSON, so that a profile in `~/.aws/config` makes every AWS tool scoped.
 * It never asks anything: no terminal is there.
 *
 * @module
 */

import { Command } from "../cli/commander.ts";
import { type Cli, grantOptions, mfaSerialOption } from "../cli/options.ts";
import { NESTED_MARKER, obtainProcessCredentials } from "../cli/process_flow.ts";
import { renderCredentialProcess } from "../delivery/credential_process.ts";

/** Builds the `credential-process` command. */
export function credentialProcessCommand(cli: Cli): Command<unknown[], Record<string, unknown>> {
  return grantOptions(new Command("credential-process"))
    .usage("-s SCOPES -t TTL [options]")
    .addOption(mfaSerialOption())
    .addHelpText(
      "after",
      `
Prints {"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"} on stdout.
Never asks anything (no confirmation, no MFA code: only a cached MFA session is used). The output
is cached (0600, under $XDG_CACHE_HOME/timebound-iam/credential-process/) per base credentials,
role, region, scopes, TTL and MFA device, and reused until five minutes before it expires. Calls that miss it at
the same moment make one grant: the others wait for the first (up to 30 s).

In ~/.aws/config:
  [profile s3-reader]
  credential_process = timebound-iam credential-process -s s3:ro -t 15m --profile default

Then: aws --profile s3-reader s3 ls`,
    )
    .action(async (options) => {
      const credentials = await obtainProcessCredentials(cli, options, {
        // The SDK runs a profile's own credential_process with this process's environment:
        // should that be this command again, the marker stops it instead of forking forever.
        markNested: () => Deno.env.set(NESTED_MARKER, "1"),
      });
      cli.io.stdout(renderCredentialProcess(credentials));
    });
}
