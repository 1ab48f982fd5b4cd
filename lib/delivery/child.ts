/**
 * Runs a command as a child process the way a wrapper should: standard streams inherited,
 * termination signals forwarded, and its exit status passed through (`128+n` after signal n,
 * `127` when the command is not found, `126` when it cannot be executed).
 *
 * @module
 */

import { UserError } from "../core/errors.ts";

/** Exit code when the command does not exist (as in POSIX shells). */
export const EXIT_NOT_FOUND = 127;
/** Exit code when the command exists but cannot be executed (as in POSIX shells). */
export const EXIT_NOT_EXECUTABLE = 126;

/** Signals passed on to the child as they arrive. */
const FORWARDED: readonly Deno.Signal[] = ["SIGTERM", "SIGHUP", "SIGQUIT"];

/** The error thrown when the child cannot be started; its exit code is 126 or 127. */
export class SpawnError extends UserError {}

/**
 * Runs `command` with `args` in exactly the environment `env` (nothing else is inherited) and
 * resolves to its exit code. On Unix, SIGTERM, SIGHUP and SIGQUIT are forwarded; the first
 * SIGINT is left to the child, which the terminal has already signalled, and a second one is
 * forwarded, so Ctrl-C stops the child once rather than twice.
 */
export async function runChild(
  command: string,
  args: readonly string[],
  options: { env: Record<string, string> },
): Promise<number> {
  // Listen before spawning, so a signal that arrives while the child starts is not lost (and does
  // not kill this process, leaving the child orphaned).
  const forwarding = forwardSignals();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args: [...args],
      env: options.env,
      clearEnv: true,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (error) {
    forwarding.stop();
    throw spawnError(command, error);
  }
  forwarding.attach(child);
  try {
    const status = await child.status;
    return status.code;
  } finally {
    forwarding.stop();
  }
}

interface Forwarding {
  /** Starts delivering to the child, first any signal that came before it existed. */
  attach(child: Deno.ChildProcess): void;
  /** Removes the listeners. */
  stop(): void;
}

function forwardSignals(): Forwarding {
  if (Deno.build.os === "windows") return { attach() {}, stop() {} };
  const listeners: Array<[Deno.Signal, () => void]> = [];
  let target: Deno.ChildProcess | undefined;
  const early: Deno.Signal[] = [];
  const kill = (signal: Deno.Signal) => {
    if (!target) {
      early.push(signal);
      return;
    }
    try {
      target.kill(signal);
    } catch {
      // The child has already exited; its status is on its way.
    }
  };
  for (const signal of FORWARDED) listeners.push([signal, () => kill(signal)]);
  let interrupts = 0;
  listeners.push(["SIGINT", () => {
    if (++interrupts > 1) kill("SIGINT");
  }]);
  for (const [signal, listener] of listeners) Deno.addSignalListener(signal, listener);
  return {
    attach(child) {
      target = child;
      for (const signal of early.splice(0)) kill(signal);
    },
    stop() {
      for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
    },
  };
}

function spawnError(command: string, error: unknown): SpawnError {
  if (error instanceof Deno.errors.NotFound) {
    return new SpawnError(`Command not found: "${command}"`, EXIT_NOT_FOUND, {
      cause: error,
      hint: "check the name after --, or give its full path",
    });
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new SpawnError(`Command not executable: "${command}"`, EXIT_NOT_EXECUTABLE, {
      cause: error,
      hint: `make it executable (chmod +x ${command}) or run it through its interpreter`,
    });
  }
  return new SpawnError(`Could not start "${command}": ${(error as Error).message}`, 1, {
    cause: error,
  });
}
