/**
 * Asking for an MFA code on the terminal: the question on standard error, the answer read with
 * echo off (each character shows as `*`, so the code never lands in a terminal log), six digits
 * checked, one more try after a typo.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import type { Io } from "../core/io.ts";
import { readSecretLine } from "../core/secret_line.ts";

const MAX_INPUT = 32;

/**
 * Shows `question`, then reads one line from the terminal without echo (`*` for each character
 * typed).
 */
export type ReadSecretLine = (question: string, echo: (text: string) => void) => Promise<string>;

/**
 * Asks for the current code of the MFA device `serial`: up to two tries, each six digits.
 * Without a terminal on standard input it refuses (exit 2), naming `--mfa-code`.
 */
export function askMfaCodeOnTerminal(
  serial: string,
  io: Io,
  readLine: ReadSecretLine = readTerminalLine,
): Promise<string> {
  return askCodeOnTerminal(io, {
    question: `MFA code for ${serial}: `,
    noTerminal: new UsageError(
      `An MFA code for ${serial} is needed, and standard input is not a terminal`,
      {
        hint: "pass --mfa-code CODE (or set TIMEBOUND_IAM_MFA_CODE), or first run: " +
          "timebound-iam mfa login",
      },
    ),
    readLine,
  });
}

/**
 * Asks `question` on the terminal for a six-digit code, with one more try after a typo; throws
 * `noTerminal` when standard input is not a terminal.
 */
export async function askCodeOnTerminal(
  io: Io,
  options: { question: string; noTerminal: Error; readLine?: ReadSecretLine },
): Promise<string> {
  if (!io.stdinIsTerminal) throw options.noTerminal;
  const readLine = options.readLine ?? readTerminalLine;
  for (let attempt = 1;; attempt++) {
    const answer = (await readLine(options.question, io.stderr)).trim();
    if (/^\d{6}$/.test(answer)) return answer;
    if (attempt === 2) {
      throw new UsageError("Invalid MFA code from the prompt: expected six digits", {
        hint: "run the command again and type the code your authenticator app shows",
      });
    }
    io.stderr("That is not six digits; try once more.\n");
  }
}

/**
 * Reads a line from the terminal in raw mode (see `core/secret_line.ts`): each character shown as
 * `*`, Backspace, Enter, Ctrl-C and Ctrl-D to cancel.
 */
function readTerminalLine(question: string, echo: (text: string) => void): Promise<string> {
  return readSecretLine(question, {
    write: echo,
    max: MAX_INPUT,
    mask: "*",
    cancelled: "Cancelled: no MFA code was given",
  });
}
