/**
 * Shell statements that set or unset variables, quoted so that `eval` (or `source`, or
 * `Invoke-Expression`) sees each value as one literal string whatever it contains.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";

/** The shells `env` writes for. `sh` covers bash, zsh, dash and ksh. */
export type Shell = "sh" | "bash" | "zsh" | "fish" | "powershell";

/** Every accepted `--shell` value. */
export const SHELLS: readonly Shell[] = ["bash", "zsh", "sh", "fish", "powershell"];

/**
 * Parses a `--shell` value (`pwsh` is accepted for PowerShell).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseShell } from "./shell_env.ts";
 * assert.equal(parseShell("pwsh"), "powershell");
 * ```
 */
export function parseShell(text: string): Shell {
  const name = text.trim().toLowerCase();
  if (name === "pwsh") return "powershell";
  if ((SHELLS as readonly string[]).includes(name)) return name as Shell;
  throw new UsageError(`Unknown shell "${text}": use ${SHELLS.join(", ")}`);
}

/**
 * Statements that set each variable, one per line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderExports } from "./shell_env.ts";
 * assert.equal(renderExports({ A: "it's" }, "bash"), "export A='it'\\''s'\n");
 * ```
 */
export function renderExports(vars: Readonly<Record<string, string>>, shell: Shell): string {
  return Object.entries(vars).map(([name, value]) => {
    switch (shell) {
      case "fish":
        return `set -gx ${name} ${fishQuote(value)};`;
      case "powershell":
        return `$Env:${name} = ${powershellQuote(value)}`;
      default:
        return `export ${name}=${shQuote(value)}`;
    }
  }).map((line) => `${line}\n`).join("");
}

/**
 * Statements that remove each variable; removing one that is not set is not an error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderUnsets } from "./shell_env.ts";
 * assert.equal(renderUnsets(["A", "B"], "zsh"), "unset A B\n");
 * ```
 */
export function renderUnsets(names: readonly string[], shell: Shell): string {
  switch (shell) {
    case "fish":
      return names.map((name) => `set -e ${name};\n`).join("");
    case "powershell":
      return names.map((name) => `Remove-Item Env:${name} -ErrorAction SilentlyContinue\n`)
        .join("");
    default:
      return `unset ${names.join(" ")}\n`;
  }
}

/**
 * Quotes a word for a POSIX shell: single quotes, each `'` written as `'\''`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shQuote } from "./shell_env.ts";
 * assert.equal(shQuote("it's $HOME"), "'it'\\''s $HOME'");
 * ```
 */
export function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * Quotes a word for fish: single quotes, with each backslash and `'` escaped by a backslash.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fishQuote } from "./shell_env.ts";
 * assert.equal(fishQuote("it's \\ $HOME"), "'it\\'s \\\\ $HOME'");
 * ```
 */
export function fishQuote(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

/** Quotes a word for PowerShell: single quotes, each quote (typographic ones too) doubled. */
export function powershellQuote(value: string): string {
  return `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, "$&$&")}'`;
}
