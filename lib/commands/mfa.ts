/**
 * `timebound-iam mfa`: cached MFA sessions (`login`, `status`, `logout`), so that a code is typed
 * once a day rather than once a grant, and `provision`, which creates and enables a virtual MFA
 * device for the caller.
 *
 * @module
 */

import { Command } from "../cli/commander.ts";
import {
  type Cli,
  mfaCodeOption,
  mfaSerialOption,
  mfaSessionTtlOption,
  profileOption,
  regionOption,
} from "../cli/options.ts";
import { mfaLogin, mfaLogout, mfaStatus } from "../cli/mfa_flow.ts";
import { askCodeOnTerminal } from "../cli/mfa_prompt.ts";
import { UsageError } from "../core/errors.ts";
import { provisionMfaDevice } from "../setup/mfa_provision.ts";

/** Builds the `mfa` command and its subcommands. */
export function mfaCommand(cli: Cli): Command<unknown[], Record<string, unknown>> {
  const mfa = new Command("mfa")
    .addHelpText(
      "after",
      `
A grant whose base credentials have an MFA device (--mfa-serial, TIMEBOUND_IAM_MFA_SERIAL, the
config file's mfaSerial, or the AWS profile's mfa_serial) uses the cached MFA session of that
profile and device, and asks for a code only when there is none.

Examples:
  timebound-iam mfa login --mfa-serial arn:aws:iam::123456789012:mfa/alice
  timebound-iam mfa status
  timebound-iam mfa logout`,
    );
  mfa.addCommand(
    new Command("login")
      .description("type an MFA code once: start an MFA session (GetSessionToken) and cache it")
      .addOption(profileOption())
      .addOption(regionOption())
      .addOption(mfaSerialOption())
      .addOption(mfaCodeOption())
      .addOption(mfaSessionTtlOption())
      .action((options) => mfaLogin(cli, options)),
  );
  mfa.addCommand(
    new Command("status")
      .description("show the cached MFA sessions and when they expire (never their keys)")
      .action(() => mfaStatus(cli)),
  );
  mfa.addCommand(
    new Command("logout")
      .description("forget the cached MFA sessions (of one profile, with --profile)")
      .addOption(profileOption())
      .action((options) => mfaLogout(cli, options)),
  );
  mfa.addCommand(
    new Command("provision")
      .description("create a virtual MFA device for your IAM user, show its QR code, enable it")
      .addOption(profileOption())
      .addOption(regionOption())
      .option("--device-name <name>", "the device's name (default: your user name)")
      .option("--qr-png <file>", "write the QR code to this new PNG file instead of drawing it")
      .option("--show-secret", "also print the secret key (for apps that cannot scan)")
      .addHelpText(
        "after",
        `
It needs iam:CreateVirtualMFADevice, iam:EnableMFADevice and iam:DeleteVirtualMFADevice on
arn:aws:iam::*:mfa/\${aws:username} and arn:aws:iam::*:user/\${aws:username} (see docs/mfa.md).
If anything fails after the device was created, it is deleted again.`,
      )
      .action(async (options) => {
        await provisionMfaDevice(cli.io, options, {
          askCode: (question) =>
            askCodeOnTerminal(cli.io, {
              question,
              noTerminal: new UsageError(
                "Cannot ask for the device's codes: standard input is not a terminal",
                { hint: "run mfa provision in a terminal" },
              ),
            }),
        });
      }),
  );
  return mfa;
}
