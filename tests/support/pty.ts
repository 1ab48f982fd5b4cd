/**
 * Runs a command under a pseudo-terminal with util-linux `script`, so that an interactive shell
 * behaves as in a terminal; the test reads what the terminal shows and types into it.
 *
 * @module
 */

// The terminal's control sequences are exactly what this removes.
const ESCAPES =
  // deno-lint-ignore no-control-regex
  /\x1b\[[0-9;?]*[ -\/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b[=>78]|\r|\x07/g;

/** Quotes a word for the command line of {@linkcode PtySession} (`sh -c`'s syntax). */
export function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** A command running in a pseudo-terminal. */
export class PtySession {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #raw = "";
  #reading: Promise<void>;

  /** Starts `command` (a shell command line for `script -c`) with exactly `env`. */
  constructor(command: string, env: Record<string, string>) {
    const child = new Deno.Command("script", {
      args: ["-qfec", command, "/dev/null"],
      env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stdout) this.#raw += decoder.decode(chunk);
    })();
  }

  /** Everything the terminal showed so far, raw (escape sequences included). */
  get raw(): string {
    return this.#raw;
  }

  /** Everything the terminal showed so far, without escape sequences and carriage returns. */
  get text(): string {
    return this.#raw.replace(ESCAPES, "");
  }

  /**
   * Waits until the text from position `from` on matches `pattern`; returns the match and the
   * position after it. Fails after `timeoutMs` with what the terminal showed.
   */
  async waitFor(
    pattern: RegExp,
    options: { from?: number; timeoutMs?: number } = {},
  ): Promise<{ match: RegExpExecArray; end: number }> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    while (true) {
      const text = this.text;
      const from = options.from ?? 0;
      const match = pattern.exec(text.slice(from));
      if (match) return { match, end: from + match.index + match[0].length };
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${pattern} in:\n${text.slice(from)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Types `text` into the terminal. */
  async type(text: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(text));
  }

  /**
   * Waits for the command to end (ending it, if it has not after `timeoutMs`); returns its exit
   * code (`script -e` passes it on).
   */
  async close(timeoutMs = 10_000): Promise<number> {
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // It has ended meanwhile.
      }
    }, timeoutMs);
    const status = await this.#child.status;
    clearTimeout(timer);
    await this.#reading;
    await this.#child.stderr.cancel();
    return status.code;
  }
}
