/**
 * The command tree of timebound-iam: the root program with its global flags and one subcommand
 * per file in this folder. It parses nothing and exits nothing; `main.ts` does both.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { checkSwitchVariables, type Cli, type CommandFactory } from "../cli/context.ts";
import { VERSION } from "../core/version.ts";
import { completionsCommand } from "./completions.ts";
import { credentialProcessCommand } from "./credential_process.ts";
import { doctorCommand } from "./doctor.ts";
import { envCommand } from "./env.ts";
import { execCommand } from "./exec.ts";
import { mfaCommand } from "./mfa.ts";
import { policyCommand } from "./policy.ts";
import { refreshCommand } from "./refresh.ts";
import { serveCommand } from "./serve.ts";
import { servicesCommand } from "./services.ts";
import { setupCommand } from "./setup.ts";
import { shellCommand } from "./shell.ts";

/**
 * Builds the root program. Output goes through `cli.io`, and commander throws instead of
 * exiting, so `main.ts` decides the exit code.
 */
export function buildProgram(cli: Cli): Command<[], { debug?: true }> {
  const program = new Command("timebound-iam")
    .description(
      "Short-lived, least-privilege AWS credentials for a command, a shell or an AI agent.",
    )
    .version(VERSION, "-V, --version", "print the version")
    .option("--debug", "show AWS request ids and stack traces on errors (TIMEBOUND_IAM_DEBUG=1)")
    .helpOption("-h, --help", "show help")
    .helpCommand(false)
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .exitOverride()
    // commander turns an on/off flag on whatever its variable holds; refuse "0" and friends.
    .hook("preAction", () => checkSwitchVariables(cli.io.env))
    .configureOutput({
      writeOut: (text) => cli.io.stdout(text),
      writeErr: (text) => cli.io.stderr(text),
    });
  const factories: CommandFactory[] = [
    execCommand,
    envCommand,
    shellCommand,
    refreshCommand,
    credentialProcessCommand,
    policyCommand,
    servicesCommand,
    completionsCommand,
    serveCommand,
    setupCommand,
    doctorCommand,
    mfaCommand,
  ];
  for (const factory of factories) {
    // --debug is read by main.ts; every command accepts it so it may stand anywhere.
    const command = factory(cli).option("--debug", "show AWS request ids and stack traces");
    program.addCommand(command.copyInheritedSettings(program));
  }
  return program;
}
