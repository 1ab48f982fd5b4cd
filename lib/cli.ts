/**
 * The command tree of timebound-iam: the root program with its global flags and one subcommand
 * per file under `lib/commands/`. It parses nothing and exits nothing; `main.ts` does both.
 *
 * @module
 */

import { Command, Option } from "@commander-js/extra-typings";
import type { Io } from "./io.ts";
import { VERSION } from "./version.ts";
import { policyCommand } from "./commands/policy.ts";
import { servicesCommand } from "./commands/services.ts";

/** What every command shares: the streams, and where it leaves its exit code. */
export interface Cli {
  /** The process's streams and environment. */
  io: Io;
  /** The exit code a command asks for when it succeeds (`exec` passes its child's here). */
  exitCode: number;
}

/** Builds a command of the tree; each file under `lib/commands/` exports one. */
export type CommandFactory = (cli: Cli) => Command<[], Record<string, unknown>>;

/**
 * The scope option shared by every command that grants: repeatable, each value possibly a
 * comma-separated list.
 */
export function scopeOption(): Option<"-s, --scope <scopes>", undefined, string[], string[]> {
  return new Option("-s, --scope <scopes>", "service:level, repeatable or comma-separated")
    .argParser((value: string, previous: string[]) => [...previous, value])
    .default([] as string[], "none");
}

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
    .configureOutput({
      writeOut: (text) => cli.io.stdout(text),
      writeErr: (text) => cli.io.stderr(text),
    });
  for (const factory of [policyCommand, servicesCommand]) {
    program.addCommand(factory(cli).copyInheritedSettings(program));
  }
  return program;
}
