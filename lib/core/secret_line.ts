/**
 * Reading a secret line on the terminal (a passphrase, an access key, an MFA code): the question
 * on standard error, the terminal in raw mode before it shows so nothing typed is echoed (a
 * passphrase shows nothing, not even its length; an MFA code may show `*` for each character),
 * Backspace, Enter, Ctrl-C/Ctrl-D to cancel.
 *
 * @module
 */

import { RuntimeError } from "./errors.ts";
import { pauseWaitingLines } from "./waiting_line.ts";

/** Asks `question` and reads one line without echo. */
export type ReadSecret = (question: string) => Promise<string>;

/** Options of {@linkcode readSecretLine}. */
export interface SecretLineOptions {
  /** Writes the question and the echo (standard error). */
  write: (text: string) => void;
  /** The most bytes kept (default 1024); what is typed beyond them is dropped. */
  max?: number;
  /** What each character typed shows as (`*`); none by default. */
  mask?: string;
  /** The error's message when the user cancels (default: `Cancelled: nothing was entered`). */
  cancelled?: string;
}

/**
 * Reads one line from the terminal without echo (or `mask` for each character), at most `max`
 * bytes of printable ASCII and UTF-8 beyond it: other control characters are ignored, and nothing
 * typed is dropped silently but for what is over `max`. Cancelling (Ctrl-C, Ctrl-D) throws a
 * {@linkcode RuntimeError}. No waiting line writes while the question is open.
 */
export function readSecretLine(question: string, options: SecretLineOptions): Promise<string> {
  return pauseWaitingLines(() => readRawLine(question, options));
}

async function readRawLine(question: string, options: SecretLineOptions): Promise<string> {
  const { write, mask = "" } = options;
  const max = options.max ?? 1024;
  const stdin = Deno.stdin;
  stdin.setRaw(true);
  write(question);
  const bytes: number[] = [];
  try {
    const buffer = new Uint8Array(256);
    for (;;) {
      const n = await stdin.read(buffer);
      if (n === null) break;
      for (const byte of buffer.subarray(0, n)) {
        if (byte === 3 || byte === 4) {
          throw new RuntimeError(options.cancelled ?? "Cancelled: nothing was entered");
        }
        if (byte === 13 || byte === 10) return decode(bytes);
        if (byte === 127 || byte === 8) {
          if (bytes.length === 0) continue;
          // Drop one whole character (a UTF-8 sequence's continuation bytes with it).
          while (bytes.length > 0 && (bytes.pop()! & 0xc0) === 0x80);
          if (mask) write("\b \b");
        } else if (byte >= 32 && bytes.length < max) {
          bytes.push(byte);
          // One mark per character: a UTF-8 sequence's first byte.
          if (mask && (byte & 0xc0) !== 0x80) write(mask);
        }
      }
    }
    return decode(bytes);
  } finally {
    stdin.setRaw(false);
    write("\n");
  }
}

function decode(bytes: number[]): string {
  return new TextDecoder().decode(new Uint8Array(bytes));
}
