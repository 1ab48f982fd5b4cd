/**
 * commander's own usage errors (an unknown option or command, a value outside the choices, a
 * missing argument) in the house style of every other error: `error: <Message>` with the value
 * quoted, then `hint: <what to do>` (the closest name, the usage, where the help is).
 *
 * @module
 */

import { logText } from "../core/log_text.ts";

const LINE_MAX = 1000;

/** What the rewritten error is about: the command that refused, for the hint. */
export interface UsageContext {
  /** The command's full name, e.g. `timebound-iam mfa login`. */
  command: string;
  /** Its usage line after the name, e.g. `[options] <shell>`. */
  usage: string;
}

/** A rewritten error: the message after `error: `, and the hint after `hint: `. */
export interface UsageText {
  /** One line, capitalised, value quoted. */
  message: string;
  /** What to do about it. */
  hint: string;
}

/** Each commander message (without its `error: ` prefix), and its rewrite. */
const RULES: ReadonlyArray<
  [RegExp, (match: RegExpExecArray, context: UsageContext, did: string) => UsageText]
> = [
  [/^unknown option '(.*)'$/s, (m, c, did) => ({
    message: `Unknown option "${m[1]}" for ${c.command}`,
    hint: `${did}${c.command} --help lists its options`,
  })],
  [/^unknown command '(.*)'$/s, (m, c, did) => ({
    message: `Unknown command "${m[1]}"`,
    hint: `${did}${c.command} help lists the commands`,
  })],
  [/^option '(.*?)' argument '(.*)' is invalid\. Allowed choices are (.*)\.$/s, (m, c) => ({
    message: `Invalid value "${m[2]}" for ${longFlag(m[1])}: use ${either(m[3])}`,
    hint: `${c.command} --help says what each value does`,
  })],
  [/^option '(.*?)' value '(.*)' from env '(.*)' is invalid\. Allowed choices are (.*)\.$/s, (
    m,
  ) => ({
    message: `Invalid value "${m[2]}" in ${m[3]}: use ${either(m[4])}`,
    hint: `set ${m[3]} to one of them, or unset it`,
  })],
  [
    /^command-argument value '(.*)' is invalid for argument '(.*?)'\. Allowed choices are (.*)\.$/s,
    (
      m,
      c,
    ) => ({
      message: `Invalid ${m[2]} "${m[1]}": use ${either(m[3])}`,
      hint: `usage: ${c.command} ${c.usage}`,
    }),
  ],
  [/^missing required argument '(.*)'$/s, (m, c) => ({
    message: `Missing argument "${m[1]}"`,
    hint: `usage: ${c.command} ${c.usage}`,
  })],
  [/^option '(.*?)' argument missing$/s, (m, c) => ({
    message: `Missing value for ${longFlag(m[1])}: ${m[1]}`,
    hint: `${c.command} --help says what it takes`,
  })],
  [/^required option '(.*?)' not specified$/s, (m, c) => ({
    message: `Missing option ${longFlag(m[1])}: ${m[1]}`,
    hint: `usage: ${c.command} ${c.usage}`,
  })],
  [
    /^(?:option|environment variable) '(.*?)' cannot be used with (?:option|environment variable) '(.*?)'$/s,
    (
      m,
      c,
    ) => ({
      message: `Conflicting options: ${longFlag(m[1])} cannot be used with ${longFlag(m[2])}`,
      hint: `${c.command} --help says what each does`,
    }),
  ],
  [/^too many arguments(?: for '.*?')?\. Expected (\d+) arguments? but got \d+: (.*)\.$/s, (
    m,
    c,
  ) => ({
    message: `Unexpected argument "${m[2].split(", ")[Number(m[1])] ?? m[2]}"`,
    hint: `usage: ${c.command} ${c.usage}`,
  })],
];

/** `-t, --ttl <ttl>` → `--ttl`; a name without a long form stays as it is. */
function longFlag(flags: string): string {
  return /--[\w-]+/.exec(flags)?.[0] ?? flags.split(/[ ,]/)[0];
}

/** `bash, zsh, fish` → `bash, zsh or fish`. */
function either(list: string): string {
  const items = list.split(", ");
  return items.length < 2 ? list : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}

/**
 * Rewrites the text commander prints for a usage error (`error: unknown option '--x'` and, for
 * a typo, `(Did you mean --y?)` on the next line) into the house style. A message no rule knows
 * keeps its words, capitalised.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rewriteUsageError } from "./usage_errors.ts";
 * const context = { command: "timebound-iam exec", usage: "[options] [command...]" };
 * assert.deepEqual(rewriteUsageError("error: unknown option '--ttll'\n(Did you mean --ttl?)\n", context), {
 *   message: 'Unknown option "--ttll" for timebound-iam exec',
 *   hint: "did you mean --ttl? timebound-iam exec --help lists its options",
 * });
 * ```
 */
export function rewriteUsageError(text: string, context: UsageContext): UsageText {
  const suggestion = /\n\(Did you mean (?:one of )?(.*)\?\)\s*$/s.exec(text);
  const did = suggestion ? `did you mean ${suggestion[1].replace(/, (?=[^,]*$)/, " or ")}? ` : "";
  const core = (suggestion ? text.slice(0, suggestion.index) : text).trim()
    .replace(/^error: /, "");
  for (const [pattern, rewrite] of RULES) {
    const match = pattern.exec(core);
    if (match) return rewrite(match, context, did);
  }
  return {
    message: core.charAt(0).toUpperCase() + core.slice(1).replace(/\.$/, ""),
    hint: `${did}${context.command} --help`,
  };
}

/**
 * The lines to print for commander's error `text`: `error: …` and `hint: …`, each one line
 * whatever the input held (newlines, escape codes, megabytes).
 */
export function formatUsageError(text: string, context: UsageContext): string {
  const { message, hint } = rewriteUsageError(text, context);
  return `error: ${logText(message, LINE_MAX)}\nhint: ${logText(hint, LINE_MAX)}\n`;
}
