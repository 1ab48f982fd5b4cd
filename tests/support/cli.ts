/**
 * Runs the real CLI as a subprocess, exactly as the compiled binary runs: `deno run` with the
 * flags of deno.json's `run` task (the `cli` permission set, the one `deno compile` uses, and
 * lazily loaded dynamic imports, as in the binary) and `--no-prompt`, in a clean environment with
 * a private HOME, so the host's ~/.aws never leaks into a test.
 *
 * @module
 */

import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import config from "../../deno.json" with { type: "json" };

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));

/** What a CLI run produced. */
export interface CliResult {
  /** The exit code. */
  code: number;
  /** Standard output, decoded. */
  stdout: string;
  /** Standard error, decoded. */
  stderr: string;
}

/** Options of {@linkcode runCli}. */
export interface RunOptions {
  /** Variables added to the clean base environment (see {@linkcode baseEnv}). */
  env?: Record<string, string>;
  /** Text written to standard input (closed after). Without it, stdin is the null device. */
  stdin?: string;
  /** The working directory. */
  cwd?: string;
}

let denoDir: Promise<string> | undefined;

/** The Deno cache directory of this machine, so the child finds the npm packages offline. */
export function cacheDir(): Promise<string> {
  denoDir ??= (async () => {
    const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
    return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir as string;
  })();
  return denoDir;
}

/**
 * The variables without which programs do not start on Windows, from this process's environment
 * (none elsewhere): Python (the AWS CLI) needs `SystemRoot` for its random numbers and sockets,
 * `PATHEXT` and `ComSpec` find programs and scripts, `TEMP`/`TMP` are the temporary directory.
 * `APPDATA` is left out on purpose: timebound-iam reads its config file from there, and a test
 * must never see the host's (with `HOME` set and `APPDATA` unset it uses `HOME\.config`, as the
 * tests expect).
 */
export function windowsSystemEnv(): Record<string, string> {
  if (Deno.build.os !== "windows") return {};
  const names = [
    "SystemRoot",
    "windir",
    "SystemDrive",
    "TEMP",
    "TMP",
    "LOCALAPPDATA",
    "PATHEXT",
    "ComSpec",
  ];
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * A clean environment for the CLI: PATH, a private HOME holding empty AWS config files, the
 * Deno cache, and instance metadata disabled so the SDK never calls a non-loopback address (and,
 * on Windows, {@linkcode windowsSystemEnv}).
 */
export async function baseEnv(home: string): Promise<Record<string, string>> {
  await Deno.mkdir(`${home}/.aws`, { recursive: true });
  for (const file of ["config", "credentials"]) {
    await Deno.writeTextFile(`${home}/.aws/${file}`, "", { append: true });
  }
  return {
    ...windowsSystemEnv(),
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    USERPROFILE: home,
    DENO_DIR: await cacheDir(),
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
    AWS_CONFIG_FILE: `${home}/.aws/config`,
    AWS_SHARED_CREDENTIALS_FILE: `${home}/.aws/credentials`,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
    // Times are shown in local time: the same zone on every machine (a test may set another).
    TZ: "UTC",
    // Windows has no /tmp (it would be C:\tmp) and no TMPDIR: name its temporary directory.
    TMPDIR: Deno.env.get("TMPDIR") ?? (Deno.build.os === "windows" ? tmpdir() : "/tmp"),
    ...mutantEnv(),
  };
}

/**
 * The mutant that `deno task mutate` (Stryker) has switched on for this test run, passed on so
 * that the CLI a test starts runs it too: without it the CLI runs the code unmutated, and a test
 * that drives the CLI can kill no mutant. Empty outside mutation testing.
 */
function mutantEnv(): Record<string, string> {
  const mutant = Deno.env.get("__STRYKER_ACTIVE_MUTANT__");
  return mutant === undefined ? {} : { __STRYKER_ACTIVE_MUTANT__: mutant };
}

/**
 * The flags of `deno run` between `run` and the script, from deno.json's `run` task (defined
 * there once): `-q -P=cli --config ROOT/deno.json --unstable-lazy-dynamic-imports`. The task
 * names the clone's directory `$R` (it runs the CLI in the caller's directory, `INIT_CWD`).
 */
export const RUN_FLAGS: readonly string[] = runTaskFlags(config.tasks.run);

function runTaskFlags(task: string): string[] {
  const match = /(?:^|&& )deno run ([^&]+) "\$R\/main\.ts"$/.exec(task);
  if (!match) throw new Error(`deno.json's run task is not "… deno run FLAGS main.ts": ${task}`);
  const root = fileURLToPath(new URL("../..", import.meta.url)).replace(/[\\/]$/, "");
  return match[1].trim().split(/\s+/).map((word) => word.replace(/^"\$R(\/[^"]*)"$/, `${root}$1`));
}

/** The argument list that starts the CLI: `deno run RUN_FLAGS --no-prompt main.ts …`. */
export function cliCommand(args: readonly string[]): [string, string[]] {
  return [Deno.execPath(), ["run", ...RUN_FLAGS, "--no-prompt", MAIN, ...args]];
}

/**
 * Runs `timebound-iam ARGS` to completion in a fresh private HOME (or `env.HOME` if given).
 */
export async function runCli(
  args: readonly string[],
  options: RunOptions = {},
): Promise<CliResult> {
  const ownHome = options.env?.HOME === undefined;
  const home = options.env?.HOME ?? await Deno.makeTempDir({ prefix: "tbi-home-" });
  try {
    return await runIn(args, { ...await baseEnv(home), ...options.env }, options);
  } finally {
    if (ownHome) await Deno.remove(home, { recursive: true });
  }
}

async function runIn(
  args: readonly string[],
  env: Record<string, string>,
  options: RunOptions,
): Promise<CliResult> {
  const [command, fullArgs] = cliCommand(args);
  const child = new Deno.Command(command, {
    args: fullArgs,
    env,
    clearEnv: true,
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/**
 * Writes a profile holding static keys into `home`'s shared credentials file (replacing it), as
 * `aws configure --profile NAME` would.
 */
export async function writeProfile(
  home: string,
  name: string,
  keys: { accessKeyId: string; secretAccessKey: string },
): Promise<void> {
  await Deno.mkdir(`${home}/.aws`, { recursive: true });
  await Deno.writeTextFile(
    `${home}/.aws/credentials`,
    `[${name}]\naws_access_key_id = ${keys.accessKeyId}\n` +
      `aws_secret_access_key = ${keys.secretAccessKey}\n`,
  );
}

/**
 * Puts an executable `timebound-iam` in `bin` that runs this checkout exactly as
 * {@linkcode cliCommand} does, for scripts that call the tool by name. It is a `#!/bin/sh`
 * script, so only POSIX shells (Linux, macOS) can run it.
 */
export async function installShim(bin: string): Promise<void> {
  const [deno, args] = cliCommand([]);
  await Deno.mkdir(bin, { recursive: true });
  await Deno.writeTextFile(
    `${bin}/timebound-iam`,
    `#!/bin/sh\nexec '${deno}' ${args.map((a) => `'${a}'`).join(" ")} "$@"\n`,
    { mode: 0o755 },
  );
}

/**
 * Starts `timebound-iam ARGS` under a pseudo-terminal (util-linux's `script -qfec CMD
 * /dev/null`, so Linux only), in a clean environment with `env` added; stdin is piped (type with
 * `\r` for Enter) and stdout carries everything the terminal shows. `then` is a shell command run
 * on the same terminal once the CLI has ended (`stty -a`: the terminal it left); the exit code is
 * still the CLI's.
 */
export async function spawnUnderTerminal(
  args: readonly string[],
  env: Record<string, string> & { HOME: string },
  options: { then?: string } = {},
): Promise<Deno.ChildProcess> {
  const [deno, cliArgs] = cliCommand(args);
  const cli = [deno, ...cliArgs].map((a) => `'${a}'`).join(" ");
  const line = options.then ? `${cli}; code=$?; ${options.then}; exit $code` : cli;
  return new Deno.Command("script", {
    args: ["-qfec", line, "/dev/null"],
    env: { ...await baseEnv(env.HOME), ...env },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/**
 * Drives a program under a pseudo-terminal like a person: waits until the screen (its stdout)
 * shows each step's prompt (its `n`th time, counting from 1), then types the step's answer.
 * Typing only once the question is on the screen matters: a program that switches the terminal
 * to raw mode may discard what was typed ahead. A prompt that never shows within `timeoutMs`
 * kills the program, so a test fails instead of hanging. Returns the exit code and the screen.
 */
export async function answerPrompts(
  child: Deno.ChildProcess,
  steps: ReadonlyArray<{ prompt: string; answer: string | (() => string) }>,
  options: { timeoutMs?: number } = {},
): Promise<{ code: number; text: string }> {
  const writer = child.stdin.getWriter();
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let step = 0;
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, options.timeoutMs ?? 60_000);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      while (step < steps.length) {
        const shown = text.split(steps[step].prompt).length - 1;
        const wanted = steps.slice(0, step + 1).filter((s) => s.prompt === steps[step].prompt)
          .length;
        if (shown < wanted) break;
        const { answer } = steps[step];
        await writer.write(
          new TextEncoder().encode(`${typeof answer === "string" ? answer : answer()}\r`),
        );
        step++;
      }
    }
  } finally {
    clearTimeout(timer);
    await writer.close().catch(() => {});
  }
  const status = await child.status;
  await child.stderr.cancel();
  return { code: status.code, text };
}
