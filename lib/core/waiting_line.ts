/**
 * One line on a terminal while the CLI waits for AWS: after a second of silence,
 * `waiting for AWS STS (3s)…` on standard error, counting, and erased when the answer comes. Never
 * where standard error is not a terminal (a pipe, a file, CI): there nobody watches, and the line
 * would only be noise in a log.
 *
 * @module
 */

import type { Io } from "./io.ts";

/** How long a wait goes unremarked. */
const QUIET_MS = 1000;

/** A waiting line: shows while `run`'s work waits, hides while `pause`'s work asks the user. */
export interface WaitingLine {
  /** Runs `work`, showing `waiting for WHAT (Ns)…` once it has taken more than a second. */
  run<T>(what: string, work: () => Promise<T>): Promise<T>;
  /** Runs `work` (a question to the user) with the line erased meanwhile. */
  pause<T>(work: () => Promise<T>): Promise<T>;
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
    if (!current) return;
    const seconds = Math.floor((Date.now() - current.since) / 1000);
    const text = `waiting for ${current.what} (${seconds}s)…`;
    io.stderr(`\r${text}${" ".repeat(Math.max(0, shown.length - text.length))}`);
    shown = text;
    // The next whole second since the start.
    timer = setTimeout(tick, 1000 - (Date.now() - current.since) % 1000);
  };
  const start = (delay: number) => {
    timer = setTimeout(tick, delay);
  };
  return {
    async run(what, work) {
      if (!io.stderrIsTerminal || current) return await work();
      current = { what, since: Date.now() };
      start(quietMs);
      try {
        return await work();
      } finally {
        current = undefined;
        stop();
      }
    },
    async pause(work) {
      if (!current) return await work();
      stop();
      try {
        return await work();
      } finally {
        if (current) {
          current.since = Date.now();
          start(quietMs);
        }
      }
    },
  };
}
