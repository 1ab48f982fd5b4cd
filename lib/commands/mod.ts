/**
 * The command tree of timebound-iam: the root program with its global flags and one subcommand
 * per file in this folder. It parses nothing and exits nothing; `main.ts` does both.
 *
 * Only the command that is run is loaded (with what it imports): every other command is a stub
 * with its name and summary, enough for suggestions after a typo, and none is built when the
 * arguments start with the command (after `--debug` at most: nothing at the root is shown then).
 * `--help` without a command and `completions` need every flag of every command, so they load
 * the whole tree.
 *
 * @module
 */

import { Command, type CommandUnknownOpts } from "../cli/commander.ts";
import { checkSwitchVariables, type Cli, type CommandFactory } from "../cli/options.ts";
import { versionLine } from "../core/version.ts";
import { formatUsageError } from "../cli/usage_errors.ts";
import { awsTimeoutMs } from "../aws/timeout.ts";
import { narrowFfiPermission } from "../cli/ffi_permission.ts";

/** A command: its one-line summary (the root's help lists it) and where its definition lives. */
interface CommandEntry {
  summary: string;
  load: () => Promise<CommandFactory>;
}

/** Every command, in the order the root's help lists them. */
const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  exec: {
    summary: "run a command with temporary, scoped AWS credentials in its environment",
    load: async () => (await import("./exec.ts")).execCommand,
  },
  env: {
    summary: "print export (or --unset) statements for temporary, scoped AWS credentials",
    load: async () => (await import("./env.ts")).envCommand,
  },
  shell: {
    summary: "start your shell with temporary, scoped AWS credentials and a countdown prompt",
    load: async () => (await import("./shell.ts")).shellCommand,
  },
  refresh: {
    summary: "inside timebound-iam shell: renew its credentials (same scopes and TTL)",
    load: async () => (await import("./refresh.ts")).refreshCommand,
  },
  console: {
    summary: "open the AWS console in the browser, signed in with exactly a grant's scopes",
    load: async () => (await import("./console.ts")).consoleCommand,
  },
  "credential-process": {
    summary: "print scoped, short-lived credentials for a profile's credential_process line",
    load: async () => (await import("./credential_process.ts")).credentialProcessCommand,
  },
  policy: {
    summary: "print the session policy JSON that the scopes produce (no AWS call)",
    load: async () => (await import("./policy.ts")).policyCommand,
  },
  services: {
    summary: "list every AWS service a scope can name (IAM prefix, aliases, display name)",
    load: async () => (await import("./services.ts")).servicesCommand,
  },
  completions: {
    summary: "print the shell completion script for bash, zsh, fish or powershell",
    load: async () => (await import("./completions.ts")).completionsCommand,
  },
  serve: {
    summary: "serve MCP on stdio: agents ask for scoped, expiring credentials",
    load: async () => (await import("./serve.ts")).serveCommand,
  },
  setup: {
    summary: "set up timebound-iam with a cloud (aws)",
    load: async () => (await import("./setup.ts")).setupCommand,
  },
  doctor: {
    summary: "check credentials, broker role, config and env-file directory; say what to fix",
    load: async () => (await import("./doctor.ts")).doctorCommand,
  },
  mfa: {
    summary: "cached MFA sessions (login, status, logout); create an MFA device (provision)",
    load: async () => (await import("./mfa.ts")).mfaCommand,
  },
  keys: {
    summary: "your long-lived keys in a vault (OS keychain or encrypted file), out of ~/.aws",
    load: async () => (await import("./keys.ts")).keysCommand,
  },
};

/**
 * The commands whose definitions `args` needs: the one it names (its first word that is not a
 * flag: the root's own flags take no value); all of them for `completions` and when none is
 * named (the root's help lists every command's usage); none for `--version` or for a word that
 * names no command (commander's error suggests from the names alone).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandsToLoad } from "./mod.ts";
 * assert.deepEqual(commandsToLoad(["--debug", "exec", "-s", "s3:ro"]), ["exec"]);
 * assert.deepEqual(commandsToLoad(["--version"]), []);
 * assert.equal(commandsToLoad(["--help"]).length, 14);
 * ```
 */
export function commandsToLoad(args: readonly string[]): string[] {
  const name = args.find((arg) => !arg.startsWith("-"));
  const all = Object.keys(COMMANDS);
  if (name === undefined) return args.includes("-V") || args.includes("--version") ? [] : all;
  if (name === "completions") return all;
  return Object.hasOwn(COMMANDS, name) ? [name] : [];
}

/**
 * Builds the root program for `args` (see {@linkcode commandsToLoad}). Output goes through
 * `cli.io`, and commander throws instead of exiting, so `main.ts` decides the exit code.
 */
export async function buildProgram(
  cli: Cli,
  args: readonly string[],
): Promise<Command<[], { debug?: true }>> {
  const program = new Command("timebound-iam")
    .description(
      "Short-lived, least-privilege AWS credentials for a command, a shell or an AI agent.",
    )
    .version(versionLine(), "-V, --version", "print the version")
    .option("--debug", "show AWS request ids and stack traces on errors (TIMEBOUND_IAM_DEBUG=1)")
    .helpOption("-h, --help", "show help")
    // `help exec` is `exec --help` (see helpArguments); this entry lists it in the root's help.
    .helpCommand("help [command...]", "show the help of a command (as COMMAND --help does)")
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .exitOverride()
    // Variables every command is subject to, checked before any runs: commander turns an on/off
    // flag on whatever its variable holds (refuse "0" and friends), and a bad timeout is a usage
    // error, not a failure halfway through. The AWS endpoint variables are checked where an AWS
    // client is made (profile_endpoint.ts), before its first request: a command that calls no
    // AWS service does not read them.
    .hook("preAction", async (_root, action) => {
      checkSwitchVariables(cli.io.env);
      awsTimeoutMs(cli.io.env);
      const backend = (action.opts() as { vaultBackend?: unknown }).vaultBackend;
      await narrowFfiPermission(topLevelName(action), cli.io.env, {
        vaultBackend: typeof backend === "string" ? backend : undefined,
      });
    })
    .configureOutput({
      writeOut: (text) => cli.io.stdout(text),
      writeErr: (text) => cli.io.stderr(text),
    });
  houseStyleErrors(program);
  const wanted = new Set(commandsToLoad(args));
  const alone = startsWithCommand(args, wanted);
  for (const [name, entry] of Object.entries(COMMANDS)) {
    // The root neither lists nor suggests commands when one runs: a stub would be built for nothing.
    if (alone && !wanted.has(name)) continue;
    const factory: CommandFactory = wanted.has(name) ? await entry.load() : () => new Command(name);
    const command = factory(cli).description(entry.summary);
    program.addCommand(command);
    inheritSettings(command, program);
    addDocsLink(command, [name]);
  }
  program.addHelpText("after", `\nDocs: README.md and docs/ ${WHERE_DOCS_ARE}`);
  return program;
}

/**
 * Whether `args` name the one command that `wanted` holds with no root flag before it but
 * `--debug`: the root then only hands over to that command (a root `--help` would list them all).
 */
function startsWithCommand(args: readonly string[], wanted: ReadonlySet<string>): boolean {
  if (wanted.size !== 1) return false;
  const at = args.findIndex((arg) => !arg.startsWith("-"));
  return at >= 0 && wanted.has(args[at]) && args.slice(0, at).every((arg) => arg === "--debug");
}

/** Where the relative paths of the help's docs links lead, for a user of the binary too. */
const WHERE_DOCS_ARE = "(in the timebound-iam source repository)";

/**
 * Ends the help of `command` and of every subcommand under it with one line naming its section
 * of `docs/commands.md`, whose headings are the command's words (`## \`mfa login\``, anchor
 * `#mfa-login`).
 */
function addDocsLink(command: CommandUnknownOpts, path: string[]): void {
  command.addHelpText("after", `\nDocs: docs/commands.md#${path.join("-")} ${WHERE_DOCS_ARE}`);
  for (const sub of command.commands) addDocsLink(sub, [...path, sub.name()]);
}

/**
 * Gives `command` and every subcommand under it, at any depth, the settings of its parent
 * (commander copies them only onto a command made with `.command()`, not onto one added with
 * `.addCommand()`): the output, the help flag, and above all `exitOverride`, without which a
 * usage error exits the process with code 1. Each also accepts `--debug`, which main.ts reads,
 * so it may stand anywhere.
 */
function inheritSettings(command: CommandUnknownOpts, parent: CommandUnknownOpts): void {
  command.copyInheritedSettings(parent);
  houseStyleErrors(command);
  if (!command.options.some((option) => option.long === "--debug")) {
    command.option("--debug", "show AWS request ids and stack traces");
  }
  for (const sub of command.commands) inheritSettings(sub, command);
}

/** Makes `command` print commander's usage errors as every other error (`error:`, `hint:`). */
function houseStyleErrors(command: CommandUnknownOpts): void {
  const names: string[] = [];
  for (let c: CommandUnknownOpts | null = command; c; c = c.parent) names.unshift(c.name());
  command.configureOutput({
    outputError: (text, write) =>
      write(formatUsageError(text, { command: names.join(" "), usage: command.usage() })),
  });
}

/**
 * The arguments with `help [COMMAND…]` (as `git help` takes it) turned into `[COMMAND…] --help`,
 * so that `help setup aws` shows the help of `setup aws`; other arguments are returned as they
 * are. Root flags before `help` stay in front; a word that names no command is left for the
 * usual "Unknown command" error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { helpArguments } from "./mod.ts";
 * assert.deepEqual(helpArguments(["help", "exec"]), ["exec", "--help"]);
 * assert.deepEqual(helpArguments(["--debug", "help"]), ["--debug", "--help"]);
 * assert.deepEqual(helpArguments(["exec", "--", "help"]), ["exec", "--", "help"]);
 * assert.deepEqual(helpArguments(["help", "exce"]), ["exce"]);
 * ```
 */
export function helpArguments(args: readonly string[]): string[] {
  const at = args.findIndex((arg) => !arg.startsWith("-"));
  if (at < 0 || args[at] !== "help") return [...args];
  const words = args.slice(at + 1).filter((arg) => !arg.startsWith("-"));
  if (words.length > 0 && !Object.hasOwn(COMMANDS, words[0])) {
    return [...args.slice(0, at), words[0]];
  }
  return [...args.slice(0, at), ...words, "--help"];
}

/** The name of the top-level command that `command` is or is under. */
function topLevelName(command: CommandUnknownOpts): string {
  let top = command;
  while (top.parent?.parent) top = top.parent;
  return top.name();
}
