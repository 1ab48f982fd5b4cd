/**
 * The process's standard streams and environment, as one seam: commands write through it, so
 * tests can hand in their own and nothing else touches `Deno.stdout` or `Deno.env` directly.
 *
 * @module
 */

/** What a command may read from and write to the outside world. */
export interface Io {
  /** Writes text to standard output (command output only: statements, JSON, MCP messages). */
  stdout(text: string): void;
  /** Writes text to standard error (summaries, prompts, logs, errors). */
  stderr(text: string): void;
  /** A snapshot of the environment variables. */
  env: Readonly<Record<string, string>>;
  /** Whether standard input is a terminal (so a confirmation prompt can be answered). */
  stdinIsTerminal: boolean;
  /** Whether standard error is a terminal. */
  stderrIsTerminal: boolean;
}

const encoder = new TextEncoder();

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}

/**
 * What writing to standard output throws once nothing reads it any more (its pipe was closed,
 * as `head` closes it after a line): the program has nobody left to tell, and stops quietly.
 */
export class StdoutClosedError extends Error {
  /** Wraps the write's own error (`Deno.errors.BrokenPipe`). */
  constructor(cause: unknown) {
    super("Standard output was closed", { cause });
    this.name = "StdoutClosedError";
  }
}

/**
 * The real process's streams and environment. A write to a closed standard output throws
 * {@linkcode StdoutClosedError}.
 */
export function denoIo(): Io {
  return {
    stdout: (text) => {
      try {
        writeAll(Deno.stdout, text);
      } catch (error) {
        throw error instanceof Deno.errors.BrokenPipe ? new StdoutClosedError(error) : error;
      }
    },
    stderr: (text) => writeAll(Deno.stderr, text),
    env: Deno.env.toObject(),
    stdinIsTerminal: Deno.stdin.isTerminal(),
    stderrIsTerminal: Deno.stderr.isTerminal(),
  };
}

let questionStreams: Io | undefined;

/**
 * Sets the streams on which the process may ask what no caller can hand an {@linkcode Io} down
 * for: the vault file's passphrase, asked once per process wherever a command first needs the
 * vault's keys (the AWS SDK's credential providers ask for them, many layers below the command).
 * `main` sets the command's `Io`; `serve` sets none, as its standard input and output carry MCP.
 * None until set: a library caller is never asked on the process's terminal behind its back.
 */
export function askQuestionsOn(io: Io | undefined): void {
  questionStreams = io;
}

/** The streams set by {@linkcode askQuestionsOn}, if any. */
export function questionsIo(): Io | undefined {
  return questionStreams;
}
