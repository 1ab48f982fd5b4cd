/**
 * Reading a secret line on the terminal (a passphrase, an access key): the question on standard
 * error, the terminal in raw mode so nothing typed is echoed (not even `*`: the length of a
 * passphrase is not shown), Backspace, Enter, Ctrl-C/Ctrl-D to cancel.
 *
 * @module
 */

import { RuntimeError } from "./errors.ts";
import { pauseWaitingLines } from "./waiting_line.ts";

/** Asks `question` and reads one line without echo. */
export type ReadSecret = (question: string) => Promise<string>;

/**
 * Reads one line from the terminal without echo, at most `max` characters (printable ASCII and
 * UTF-8 beyond it). Cancelling (Ctrl-C, Ctrl-D on an empty line) throws a {@linkcode RuntimeError}.
 * No waiting line writes while the question is open.
 */
export function readSecretLine(
  question: string,
  options: { write: (text: string) => void; max?: number },
): Promise<string> {
  return pauseWaitingLines(() => readLineUnechoed(question, options));
}

async function readLineUnechoed(
  question: string,
  options: { write: (text: string) => void; max?: number },
): Promise<string> {
  const max = options.max ?? 1024;
  const stdin = Deno.stdin;
  stdin.setRaw(true);
  options.write(question);
  const bytes: number[] = [];
  try {
    const buffer = new Uint8Array(256);
    for (;;) {
      const n = await stdin.read(buffer);
      if (n === null) break;
      for (const byte of buffer.subarray(0, n)) {
        if (byte === 3 || (byte === 4 && bytes.length === 0)) {
          throw new RuntimeError("Cancelled: nothing was entered");
        }
        if (byte === 13 || byte === 10) return decode(bytes);
        if (byte === 127 || byte === 8) {
          // Drop one whole character (a UTF-8 sequence's continuation bytes with it).
          while (bytes.length > 0 && (bytes.pop()! & 0xc0) === 0x80);
        } else if (byte >= 32 && bytes.length < max) bytes.push(byte);
      }
    }
    return decode(bytes);
  } finally {
    stdin.setRaw(false);
    options.write("\n");
  }
}

function decode(bytes: number[]): string {
  return new TextDecoder().decode(new Uint8Array(bytes));
}
