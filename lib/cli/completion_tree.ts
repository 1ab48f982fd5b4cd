/**
 * The command tree as completion scripts see it: each command's subcommands, options, choices
 * and the values a script computes (scopes, AWS profile names).
 *
 * @module
 */

import type { CommandUnknownOpts } from "./commander.ts";

/** A value that a completion script computes: a scope list, or an AWS profile name. */
export type ValueKind = "scopes" | "profiles";

/** The options whose values are scopes or profile names, by their long flag. */
const VALUE_KINDS: Readonly<Record<string, ValueKind>> = {
  "--scope": "scopes",
  "--scopes": "scopes",
  "--allow": "scopes",
  "--profile": "profiles",
};

/** What a script completes scope values from. */
export interface ScopeWords {
  /** Every service prefix and alias. */
  services: readonly string[];
  /** Every spelling of a level. */
  levels: readonly string[];
}

/** One option of a command, as a completion script sees it. */
export interface CompletionOption {
  /** Its spellings, short first: `["-s", "--scope"]`. */
  flags: string[];
  /** The help text. */
  description: string;
  /** Whether the next word is its value (`--ttl 1h`). */
  takesValue: boolean;
  /** The values it accepts, when commander knows them (`.choices()`); empty otherwise. */
  choices: string[];
  /** What its value is, when the script computes the candidates (scopes, profile names). */
  values?: ValueKind;
}

/** One command of the tree, as a completion script sees it. */
export interface CompletionNode {
  /** The subcommand names from the root: `[]` for the root, `["setup", "aws"]`. */
  path: string[];
  /** The help text. */
  description: string;
  /** The direct subcommands: every name (with aliases) and the help text. */
  commands: { names: string[]; description: string }[];
  /** The options, including `--help` (and `--version` on the root). */
  options: CompletionOption[];
  /** The choices of each positional argument, in order (empty when it takes any value). */
  arguments: string[][];
}

/**
 * Flattens a command tree into the nodes that completion scripts need, root first, depth-first.
 * Hidden commands and options are left out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Command } from "@commander-js/extra-typings";
 * import { describeCommandTree } from "./completion_tree.ts";
 *
 * const root = new Command("tool").option("--debug");
 * root.command("run").option("-t, --ttl <duration>");
 * const [, run] = describeCommandTree(root);
 * assert.equal(run.options[0].flags.join(" "), "-t --ttl");
 * ```
 */
export function describeCommandTree(root: CommandUnknownOpts): CompletionNode[] {
  const nodes: CompletionNode[] = [];
  const visit = (command: CommandUnknownOpts, path: string[]) => {
    const help = command.createHelp();
    const children = help.visibleCommands(command);
    nodes.push({
      path,
      description: command.description(),
      commands: children.map((child) => ({
        names: [child.name(), ...child.aliases()],
        description: child.summary() || child.description(),
      })),
      options: help.visibleOptions(command).map((option) => {
        const kind = option.long && Object.hasOwn(VALUE_KINDS, option.long)
          ? VALUE_KINDS[option.long]
          : undefined;
        return {
          flags: [option.short, option.long].filter((flag): flag is string => Boolean(flag)),
          description: option.description,
          takesValue: option.required || option.optional,
          choices: option.argChoices ?? [],
          ...(kind && (option.required || option.optional) ? { values: kind } : {}),
        };
      }),
      arguments: command.registeredArguments.map((argument) => argument.argChoices ?? []),
    });
    for (const child of children) visit(child, [...path, child.name()]);
  };
  visit(root, []);
  return nodes;
}
