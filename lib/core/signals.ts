/**
 * The signals that ask a process to stop (Ctrl-C, a closing terminal, a supervisor's SIGTERM),
 * as a promise: for work that must undo something when it is interrupted rather than die halfway.
 *
 * @module
 */

/** The stop signals this OS can listen for (Windows has only SIGINT and SIGBREAK). */
export const STOP_SIGNALS: readonly Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT", "SIGBREAK"]
  : ["SIGINT", "SIGTERM", "SIGHUP"];

const NUMBERS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGTERM: 15,
  SIGBREAK: 21,
};

/** The exit code of a process stopped by `signal`: 128 + its number, as shells report it. */
export function signalExitCode(signal: Deno.Signal): number {
  return 128 + (NUMBERS[signal] ?? 0);
}

/**
 * Listens for the stop signals until `dispose`; `signal` resolves with the first one received.
 * While listening, the signals no longer end the process by themselves.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { signalExitCode, watchStopSignals } from "./signals.ts";
 * const watch = watchStopSignals();
 * watch.dispose();
 * assert.equal(signalExitCode("SIGTERM"), 143);
 * ```
 */
export function watchStopSignals(): { signal: Promise<Deno.Signal>; dispose: () => void } {
  const received = Promise.withResolvers<Deno.Signal>();
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = () => received.resolve(signal);
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  return {
    signal: received.promise,
    dispose() {
      for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    },
  };
}
