/**
 * Opens a URL in the user's browser: `$BROWSER` when set, else the platform's opener (`open` on
 * macOS, `xdg-open` elsewhere on Unix, and on Windows what `start` uses, the URL handler of
 * `url.dll`, without `cmd.exe`, which would split the URL at its `&`). The URL is one argument of
 * the program, never passed through a shell, and never part of an error: a sign-in URL is a
 * bearer secret.
 *
 * @module
 */

import { RuntimeError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import { childEnvironment } from "./credential_env.ts";

/** How long to wait for the opener to exit before leaving it to run (a browser started directly). */
const DEFAULT_WAIT_MS = 10_000;

/** A program and its arguments. */
export interface BrowserCommand {
  /** The program (a name looked up on PATH, or a path). */
  program: string;
  /** Its arguments, the URL among them. */
  args: string[];
}

/**
 * The command that opens `url`: the first entry of `$BROWSER` (entries separated by `:`, `;` on
 * Windows; words by spaces; `%s` stands for the URL, which is otherwise the last argument), else
 * the platform's opener.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { browserCommand } from "./browser.ts";
 * assert.deepEqual(browserCommand("https://x/", { env: {}, os: "darwin" }), {
 *   program: "open",
 *   args: ["https://x/"],
 * });
 * assert.deepEqual(browserCommand("https://x/", { env: { BROWSER: "firefox --new-tab" } }).args, [
 *   "--new-tab",
 *   "https://x/",
 * ]);
 * ```
 */
export function browserCommand(
  url: string,
  options: { env: Readonly<Record<string, string>>; os?: typeof Deno.build.os },
): BrowserCommand {
  const os = options.os ?? Deno.build.os;
  const entry = (options.env.BROWSER ?? "").split(os === "windows" ? ";" : ":")
    .map((part) => part.trim()).find((part) => part !== "");
  if (entry !== undefined) {
    const [program, ...words] = entry.split(/\s+/);
    const placed = words.some((word) => word.includes("%s"));
    const args = words.map((word) => word.replaceAll("%s", url));
    return { program, args: placed ? args : [...args, url] };
  }
  if (os === "darwin") return { program: "open", args: [url] };
  if (os === "windows") return { program: "rundll32", args: ["url.dll,FileProtocolHandler", url] };
  return { program: "xdg-open", args: [url] };
}

/** Options of {@linkcode openInBrowser}. */
export interface OpenOptions {
  /** The environment: `BROWSER`, and what the opener inherits (without AWS credentials). */
  env: Readonly<Record<string, string>>;
  /** The platform (this one unless given). */
  os?: typeof Deno.build.os;
  /** How long to wait for the opener's exit status, in milliseconds (default 10 s). */
  waitMs?: number;
}

/**
 * Opens `url` with {@linkcode browserCommand} and returns the program's name. The opener gets
 * the environment without AWS credentials, no standard input, and its output discarded (an
 * opener's complaint may quote the URL). A program that cannot start or that exits with a
 * failure is a {@linkcode RuntimeError} naming the program, never the URL; one still running
 * after `waitMs` (a browser started directly) is left to run.
 */
export async function openInBrowser(url: string, options: OpenOptions): Promise<string> {
  const { program, args } = browserCommand(url, options);
  const name = logText(program, 80);
  const hint = "set BROWSER to your browser's command, or use --print and open the URL yourself";
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args,
      env: childEnvironment(options.env, {}),
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound ? "not found" : "cannot be started";
    throw new RuntimeError(`Cannot open a browser: "${name}" ${why}`, { hint });
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<"running">((resolve) => {
    timer = setTimeout(() => resolve("running"), options.waitMs ?? DEFAULT_WAIT_MS);
  });
  try {
    const outcome = await Promise.race([child.status, waited]);
    if (outcome === "running") {
      child.unref();
      return program;
    }
    if (!outcome.success) {
      throw new RuntimeError(
        `Cannot open a browser: "${name}" failed with exit code ${outcome.code}`,
        { hint },
      );
    }
    return program;
  } finally {
    clearTimeout(timer);
  }
}
