/**
 * The timebound-iam command line: parses the arguments, runs one command, and turns its outcome
 * into an exit code. This is the only file that calls `Deno.exit`.
 *
 * @module
 */

import { CommanderError } from "./lib/cli/commander.ts";
import type { Cli } from "./lib/cli/options.ts";
import { buildProgram, helpArguments } from "./lib/commands/mod.ts";
import { UserError } from "./lib/core/errors.ts";
import { askQuestionsOn, denoIo, type Io, StdoutClosedError } from "./lib/core/io.ts";
import { debugLines, logText, messageLine } from "./lib/core/log_text.ts";

const MESSAGE_MAX = 1000;
/** The exit code after standard output was closed: 128 + SIGPIPE, as a shell reports `yes | head`. */
const STDOUT_CLOSED = 141;

/** Runs the CLI with these arguments and returns the exit code. */
export async function main(given: readonly string[], io: Io = denoIo()): Promise<number> {
  // The vault's passphrase, asked deep below the command, goes through the same streams.
  askQuestionsOn(io);
  const cli: Cli = {
    io,
    exitCode: 0,
    now: () => new Date(),
    // The question's module loads when a question is asked, not on every grant.
    confirm: async () => (await import("./lib/cli/confirmation.ts")).askToProceed(),
  };
  const args = helpArguments(given);
  const program = await buildProgram(cli, args);
  try {
    await program.parseAsync(args, { from: "user" });
    return cli.exitCode;
  } catch (error) {
    const end = args.indexOf("--");
    const ours = end < 0 ? args : args.slice(0, end);
    const debug = io.env.TIMEBOUND_IAM_DEBUG === "1" || ours.includes("--debug");
    return reportError(error, io, debug);
  }
}

function reportError(error: unknown, io: Io, debug: boolean): number {
  // Nobody reads the output any more (`timebound-iam services | head -1`): stop without a word.
  if (stdoutClosed(error)) return STDOUT_CLOSED;
  if (error instanceof CommanderError) {
    // commander has already printed the message (or the help, or the version).
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof UserError) {
    // One line each, whatever input the message quotes (newlines, escape codes, megabytes); the
    // outside text it quotes went through logText where it was quoted.
    io.stderr(`error: ${messageLine(error.message, MESSAGE_MAX)}\n`);
    // With --debug the detail follows: no hint to run again with it.
    if (error.hint && !(debug && /--debug/.test(error.hint))) {
      io.stderr(`hint: ${messageLine(error.hint, MESSAGE_MAX)}\n`);
    }
    if (debug) {
      if (error.detail) io.stderr(`debug: ${messageLine(error.detail, MESSAGE_MAX)}\n`);
      if (error.cause) printDebug(io, error.cause);
    }
    return error.exitCode;
  }
  io.stderr(`error: unexpected failure: ${logText(firstLine(error), MESSAGE_MAX)}\n`);
  if (debug) printDebug(io, error);
  else io.stderr("hint: run again with --debug for details\n");
  return 1;
}

/** Whether `error`, or what caused it, is a write to a closed standard output. */
function stdoutClosed(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if (e instanceof StdoutClosedError) return true;
  }
  return false;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0];
}

/** The error's message and stack, each line neutralised: an SDK error quotes what AWS sent. */
function printDebug(io: Io, error: unknown): void {
  for (const line of debugLines(error)) io.stderr(`debug: ${line}\n`);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
