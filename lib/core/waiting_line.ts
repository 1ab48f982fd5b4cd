/**
 * One line on a terminal while the CLI waits for AWS: after a second of silence,
 * `waiting for AWS STS (3s)…` on standard error, counting, and erased when the answer comes. Never
 * where standard error is not a terminal (a pipe, a file, CI): there nobody watches, and the line
 * would only be noise in a log.
 *
 * Never while a question is open on the terminal either: whatever asks there (a passphrase, an MFA
 * code, `Proceed?`) runs inside {@linkcode pauseWaitingLines}. The process has one terminal, and a
 * question may be asked deep inside the work a line waits for (the vault's passphrase, when the
 * first AWS client is made) where no line is in reach; so the questions tell this module, rather
 * than every layer between them carrying a pause.
 *
 * @module
 */

import type { Io } from "./io.ts";

/** How long a wait goes unremarked. */
const QUIET_MS = 1000;

/** A waiting line: shows while `run`'s work waits, unless a question is open meanwhile. */
export interface WaitingLine {
  /** Runs `work`, showing `waiting for WHAT (Ns)…` once it has taken more than a second. */
  run<T>(what: string, work: () => Promise<T>): Promise<T>;
}

/** A line that is running: erased while a question is open, quiet for a second after it. */
interface RunningLine {
  hide(): void;
  resume(): void;
}

/** The lines of this process now running, and how many questions are open on its terminal. */
const running = new Set<RunningLine>();
let questionsOpen = 0;

/**
 * Runs `work`, a question to the user on the terminal, with every waiting line of the process
 * erased until it ends; a line still waiting then stays quiet for a second again. Questions may
 * nest: the lines come back after the last one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pauseWaitingLines } from "./waiting_line.ts";
 * assert.equal(await pauseWaitingLines(() => Promise.resolve("typed")), "typed");
 * ```
 */
export async function pauseWaitingLines<T>(work: () => Promise<T>): Promise<T> {
  questionsOpen++;
  try {
    // In the try: a line that cannot be erased (a terminal gone) must not keep the count up, which
    // would silence every later line of the process.
    for (const line of running) line.hide();
    return await work();
  } finally {
    questionsOpen--;
    if (questionsOpen === 0) running.forEach((line) => line.resume());
  }
}

/**
 * A waiting line on `io`'s standard error, or one that never shows when it is not a terminal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { waitingLine } from "./waiting_line.ts";
 * const said: string[] = [];
 * const io = { stdout() {}, stderr: (t: string) => said.push(t), env: {},
 *   stdinIsTerminal: false, stderrIsTerminal: false };
 * assert.equal(await waitingLine(io).run("AWS STS", () => Promise.resolve(7)), 7);
 * assert.deepEqual(said, []);
 * ```
 */
export function waitingLine(io: Io, options: { quietMs?: number } = {}): WaitingLine {
  const quietMs = options.quietMs ?? QUIET_MS;
  let shown = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  let current: { what: string; since: number } | undefined;
  const erase = () => {
    if (shown) io.stderr(`\r${" ".repeat(shown.length)}\r`);
    shown = "";
  };
  const stop = () => {
    clearTimeout(timer);
    timer = undefined;
    erase();
  };
  const tick = () => {
    if (!current || questionsOpen > 0) return;
    const seconds = Math.floor((Date.now() - current.since) / 1000);
    const text = `waiting for ${current.what} (${seconds}s)…`;
    io.stderr(`\r${text}${" ".repeat(Math.max(0, shown.length - text.length))}`);
    shown = text;
    // The next whole second since the start.
    timer = setTimeout(tick, 1000 - (Date.now() - current.since) % 1000);
  };
  const line: RunningLine = {
    hide: stop,
    resume() {
      if (!current) return;
      clearTimeout(timer);
      current.since = Date.now();
      timer = setTimeout(tick, quietMs);
    },
  };
  return {
    async run(what, work) {
      if (!io.stderrIsTerminal || current) return await work();
      current = { what, since: Date.now() };
      running.add(line);
      if (questionsOpen === 0) line.resume();
      try {
        return await work();
      } finally {
        running.delete(line);
        current = undefined;
        stop();
      }
    },
  };
}
