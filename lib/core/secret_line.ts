/**
 * Reading a secret line on the terminal (a passphrase, an access key, an MFA code): the question
 * on standard error, the terminal in raw mode before it shows so nothing typed is echoed (a
 * passphrase shows nothing, not even its length; an MFA code may show `*` for each character),
 * Backspace, Enter, Ctrl-C/Ctrl-D to cancel.
 *
 * @module
 */

import { RuntimeError, UserError } from "./errors.ts";
import { signalExitCode, watchStopSignals } from "./signals.ts";
import { pauseWaitingLines } from "./waiting_line.ts";

/** Asks `question` and reads one line without echo. */
export type ReadSecret = (question: string) => Promise<string>;

/** Options of {@linkcode readSecretLine}. */
export interface SecretLineOptions {
  /** Writes the question and the echo (standard error). */
  write: (text: string) => void;
  /** The most bytes a line may have (default 1024); a longer one is refused. */
  max?: number;
  /** What each character typed shows as (`*`); none by default. */
  mask?: string;
  /** The error's message when the user cancels (default: `Cancelled: nothing was entered`). */
  cancelled?: string;
}

/**
 * Reads one line from the terminal without echo (or `mask` for each character), at most `max`
 * bytes of printable ASCII and UTF-8 beyond it: other control characters and the escape sequences
 * of keys that type no character (arrows, Home, Delete, F1…) are ignored, and a line over `max`
 * is read to its end and refused with a {@linkcode RuntimeError}, as cancelling (Ctrl-C, Ctrl-D)
 * is: a passphrase cut silently at `max` was another one than the same text from elsewhere (an
 * environment variable), and an arrow key pressed unseen added `[D` to it. A stop signal
 * (SIGTERM, SIGHUP) while it waits throws a {@linkcode UserError} whose exit code is 128 + the
 * signal's number, the terminal out of raw mode. No waiting line writes while the question is open.
 */
export function readSecretLine(question: string, options: SecretLineOptions): Promise<string> {
  return pauseWaitingLines(() => readRawLine(question, options));
}

async function readRawLine(question: string, options: SecretLineOptions): Promise<string> {
  const { write, mask = "" } = options;
  const max = options.max ?? 1024;
  const stdin = Deno.stdin;
  const bytes: number[] = [];
  const buffer = new Uint8Array(256);
  let escape: Escape = "none";
  let over = false;
  const line = () => {
    if (over) throw new RuntimeError(`Too long: the answer is over ${max} bytes, and was not used`);
    return decode(bytes);
  };
  // A stop signal (a supervisor's SIGTERM, a hangup; in raw mode Ctrl-C is a byte) ends the
  // question here, so that the terminal leaves raw mode: it killed the process with the terminal
  // still silent, and the shell after it echoed nothing.
  const stop = watchStopSignals();
  const interrupted = stop.signal.then((signal): never => {
    throw new UserError(`Interrupted by ${signal}`, signalExitCode(signal));
  });
  interrupted.catch(() => {}); // raced below; never an unhandled rejection
  stdin.setRaw(true);
  try {
    // In the try: a question that cannot be written leaves the terminal as it was.
    write(question);
    for (;;) {
      const n = await Promise.race([stdin.read(buffer), interrupted]);
      if (n === null) break;
      for (const byte of buffer.subarray(0, n)) {
        escape = nextEscape(escape, byte);
        if (escape !== "none") continue;
        if (byte === 3 || byte === 4) {
          throw new RuntimeError(options.cancelled ?? "Cancelled: nothing was entered");
        }
        if (byte === 13 || byte === 10) return line();
        if (byte === 127 || byte === 8) {
          if (bytes.length === 0) continue;
          // Drop one whole character (a UTF-8 sequence's continuation bytes with it).
          while (bytes.length > 0 && (bytes.pop()! & 0xc0) === 0x80);
          if (mask) write("\b \b");
        } else if (byte >= 32 && bytes.length >= max) {
          over = true;
        } else if (byte >= 32) {
          bytes.push(byte);
          // One mark per character: a UTF-8 sequence's first byte.
          if (mask && (byte & 0xc0) !== 0x80) write(mask);
        }
      }
    }
    return line();
  } finally {
    stop.dispose();
    bytes.fill(0);
    buffer.fill(0);
    stdin.setRaw(false);
    write("\n");
  }
}

/**
 * Where a key's escape sequence is: none, just after ESC, in a CSI sequence (`ESC [` parameters,
 * then a final byte: arrows, Home, Delete, F5…) or an SS3 one (`ESC O` and one byte: F1–F4, the
 * arrows of some terminals).
 */
type Escape = "none" | "esc" | "csi" | "ss3" | "done";

/**
 * The state after `byte`: `done` for the last byte of a sequence (skipped, as every byte of one
 * is); a control byte (Enter, Ctrl-C) ends a sequence and counts as itself, and so does any byte
 * after a lone ESC but `[` and `O`.
 */
function nextEscape(state: Escape, byte: number): Escape {
  const control = byte < 0x20 || byte === 0x7f;
  if (byte === 0x1b) return "esc";
  switch (state) {
    case "esc":
      return byte === 0x5b ? "csi" : byte === 0x4f ? "ss3" : "none";
    case "csi":
      return control ? "none" : byte >= 0x40 ? "done" : "csi";
    case "ss3":
      return control ? "none" : "done";
    default:
      return "none";
  }
}

function decode(bytes: number[]): string {
  return new TextDecoder().decode(new Uint8Array(bytes));
}
