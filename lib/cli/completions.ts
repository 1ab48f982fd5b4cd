/**
 * Shell completion scripts for bash, zsh and fish, generated from a commander command tree, so a
 * new command, flag or choice completes as soon as it is declared. The scripts embed the tree as
 * data and walk the words typed so far themselves: they never run the program while completing.
 *
 * @module
 */

import type { CommandUnknownOpts } from "./commander.ts";
import { fishQuote, type Shell, shQuote } from "../delivery/shell_env.ts";

/** The shells that `renderCompletion` writes scripts for (of those `env` writes for). */
export const COMPLETION_SHELLS = ["bash", "zsh", "fish"] as const satisfies readonly Shell[];

/** A shell that `renderCompletion` writes a script for. */
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

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
 * import { describeCommandTree } from "./completions.ts";
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
      options: help.visibleOptions(command).map((option) => ({
        flags: [option.short, option.long].filter((flag): flag is string => Boolean(flag)),
        description: option.description,
        takesValue: option.required || option.optional,
        choices: option.argChoices ?? [],
      })),
      arguments: command.registeredArguments.map((argument) => argument.argChoices ?? []),
    });
    for (const child of children) visit(child, [...path, child.name()]);
  };
  visit(root, []);
  return nodes;
}

/**
 * Renders the completion script of a command tree for one shell. The script completes
 * subcommands, options, option values with known choices and positional arguments with known
 * choices; elsewhere it leaves the shell's default (file names) in place.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Command } from "@commander-js/extra-typings";
 * import { renderCompletion } from "./completions.ts";
 *
 * const script = renderCompletion(new Command("tool"), "bash");
 * assert.match(script, /^complete -o default -F _tool tool$/m);
 * ```
 */
export function renderCompletion(root: CommandUnknownOpts, shell: CompletionShell): string {
  const nodes = describeCommandTree(root);
  const name = root.name();
  const prefix = `_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
  switch (shell) {
    case "bash":
      return renderBash(name, prefix, nodes);
    case "zsh":
      return renderZsh(name, prefix, nodes);
    case "fish":
      return renderFish(name, prefix, nodes);
  }
}

/** A value's choices in a script: keyed by `"<path> <flag>"` or `"<path> <n>"` for argument n. */
function choiceKeys(node: CompletionNode): { keys: string[]; words: string[] }[] {
  const path = node.path.join(" ");
  const key = (word: string) => path ? `${path} ${word}` : word;
  return [
    ...node.options.filter((o) => o.choices.length).map((o) => ({
      keys: o.flags.map(key),
      words: o.choices,
    })),
    ...node.arguments.flatMap((choices, i) =>
      choices.length ? [{ keys: [key(`<${i + 1}>`)], words: choices }] : []
    ),
  ];
}

function fishList(words: string[]): string {
  return words.map((word) => ` ${fishQuote(word)}`).join("");
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function valued(node: CompletionNode): string[] {
  return node.options.filter((o) => o.takesValue).flatMap((o) => o.flags);
}

// The word walk shared by bash and zsh: `$1` is the index of the first word after the program
// name and `$2` the index of the word being completed, in the array `words`. It sets `cmdpath`,
// the subcommands typed so far; `npos`, the positional arguments of that subcommand typed so
// far; `skip`, set when the word before the cursor is an option waiting for its value; and
// `dashdash`, the index of a bare `--` (what follows is another program's command line).
function walkFunction(prefix: string): string {
  return `${prefix}_walk() {
  local i w
  cmdpath='' npos=0 skip='' dashdash=''
  ${prefix}_node ''
  for ((i = $1; i < $2; i++)); do
    w=\${words[i]}
    # bash splits \`--shell=fish\` and \`s3:ro\` in three words: the third belongs to the first.
    if [[ $w == '=' || $w == ':' ]]; then skip=1; continue; fi
    if [[ -n $skip ]]; then skip=''; continue; fi
    case $w in
      --) dashdash=$i; return ;;
      -*=*) ;;
      -*) [[ " $valued " == *" $w "* ]] && skip=1 ;;
      *)
        if [[ " $subcommands " == *" $w "* ]]; then
          cmdpath=$(${prefix}_canonical "\${cmdpath:+$cmdpath }$w")
          npos=0
          ${prefix}_node "$cmdpath"
        else
          npos=$((npos + 1))
        fi
        ;;
    esac
  done
}`;
}

function canonicalFunction(prefix: string, nodes: CompletionNode[]): string {
  // Aliases resolve to the command's name, so the tables are keyed by names only.
  const cases = nodes.flatMap((node) => {
    const path = node.path.join(" ");
    return node.commands.flatMap((child) =>
      child.names.slice(1).map((alias) => {
        const from = path ? `${path} ${alias}` : alias;
        const to = path ? `${path} ${child.names[0]}` : child.names[0];
        return `    ${shQuote(from)}) echo ${shQuote(to)} ;;`;
      })
    );
  });
  return caseFunction(`${prefix}_canonical`, "", [...cases, `    *) echo "$1" ;;`]);
}

// A shell function that does what the case of its argument `$1` says, after `reset` (if any).
function caseFunction(name: string, reset: string, cases: string[]): string {
  return `${name}() {
${reset ? `  ${reset}\n` : ""}  case $1 in
${cases.join("\n")}
  esac
}`;
}

/** What a bash or zsh script's tables hold, written in that shell's syntax. */
interface ShTables {
  /** Empties the variables a node sets. */
  nodeReset: string;
  /** One case per node: its subcommands, options and options that take a value. */
  nodeCases: string[];
  /** Empties `choices`. */
  choicesReset: string;
  /** One case per option or argument with choices. */
  choiceCases: string[];
}

// The functions that bash and zsh scripts share, apart from their tables' syntax: `_node` and
// `_choices` look up the tables, `_canonical` resolves aliases and `_walk` reads the words typed.
function shFunctions(prefix: string, nodes: CompletionNode[], tables: ShTables): string {
  return [
    caseFunction(`${prefix}_node`, tables.nodeReset, tables.nodeCases),
    caseFunction(`${prefix}_choices`, tables.choicesReset, [...tables.choiceCases, "    *) ;;"]),
    canonicalFunction(prefix, nodes),
    walkFunction(prefix),
  ].join("\n\n");
}

function renderBash(name: string, prefix: string, nodes: CompletionNode[]): string {
  const nodeCases = nodes.map((node) => {
    const commands = node.commands.flatMap((c) => c.names).join(" ");
    const options = node.options.flatMap((o) => o.flags).join(" ");
    return `    ${shQuote(node.path.join(" "))})
      subcommands=${shQuote(commands)} options=${shQuote(options)} valued=${
      shQuote(valued(node).join(" "))
    } ;;`;
  });
  const choiceCases = nodes.flatMap(choiceKeys).map(({ keys, words }) =>
    `    ${keys.map(shQuote).join("|")}) choices=${shQuote(words.join(" "))} ;;`
  );
  const functions = shFunctions(prefix, nodes, {
    nodeReset: "subcommands='' options='' valued=''",
    nodeCases,
    choicesReset: "choices=''",
    choiceCases,
  });
  return `# bash completion for ${name}, generated by \`${name} completions bash\`.
# Load it with: source <(${name} completions bash)

${functions}

${prefix}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev='' flag eq='' value
  local subcommands options valued choices cmdpath npos skip dashdash
  local -a words=("\${COMP_WORDS[@]}")
  ((COMP_CWORD > 0)) && prev=\${COMP_WORDS[COMP_CWORD - 1]}
  ${prefix}_walk 1 "$COMP_CWORD"
  COMPREPLY=()
  if [[ -n $dashdash ]]; then
    # After \`--\` comes another program's command line: its name, then the default (files).
    ((dashdash + 1 == COMP_CWORD)) && COMPREPLY=($(compgen -c -- "$cur"))
    return 0
  fi
  if [[ -n $skip ]]; then
    flag=$prev
    # bash splits \`--shell=fi\` at "=", so the option is two words back.
    [[ $prev == = ]] && flag=\${COMP_WORDS[COMP_CWORD - 2]}
    [[ $cur == = ]] && cur='' eq='='
    ${prefix}_choices "\${cmdpath:+$cmdpath }$flag"
    [[ -n $choices ]] && COMPREPLY=($(compgen -P "$eq" -W "$choices" -- "$cur"))
    return 0
  fi
  case $cur in
    -*)
      COMPREPLY=($(compgen -W "$options" -- "$cur"))
      ;;
    *)
      ${prefix}_choices "\${cmdpath:+$cmdpath }<$((npos + 1))>"
      value=$choices
      ((npos == 0)) && value="$subcommands $choices"
      COMPREPLY=($(compgen -W "$value" -- "$cur"))
      ;;
  esac
  return 0
}

complete -o default -F ${prefix} ${name}
`;
}

function renderZsh(name: string, prefix: string, nodes: CompletionNode[]): string {
  const describe = (names: string[], description: string) =>
    names.map((n) => shQuote(`${n.replaceAll(":", "\\:")}:${oneLine(description)}`)).join(" ");
  const nodeCases = nodes.map((node) => {
    const commands = node.commands.flatMap((c) => c.names).join(" ");
    const described = node.commands.map((c) => describe(c.names, c.description)).join(" ");
    const options = node.options.map((o) => describe(o.flags, o.description)).join(" ");
    return `    ${shQuote(node.path.join(" "))})
      subcommands=${shQuote(commands)} valued=${shQuote(valued(node).join(" "))}
      command_list=(${described})
      option_list=(${options}) ;;`;
  });
  const choiceCases = nodes.flatMap(choiceKeys).map(({ keys, words }) =>
    `    ${keys.map(shQuote).join("|")}) choices=(${words.map(shQuote).join(" ")}) ;;`
  );
  const functions = shFunctions(prefix, nodes, {
    nodeReset: "subcommands='' valued='' command_list=() option_list=()",
    nodeCases,
    choicesReset: "choices=()",
    choiceCases,
  });
  return `#compdef ${name}
# zsh completion for ${name}, generated by \`${name} completions zsh\`.
# Load it with: source <(${name} completions zsh)  (after compinit), or save it as ${prefix}
# in a directory of your $fpath.

${functions}

${prefix}() {
  local cur=\${words[CURRENT]} prev=\${words[CURRENT - 1]}
  # Not \`commands\`: zsh keeps its table of PATH programs under that name.
  local subcommands valued cmdpath npos skip dashdash
  local -a command_list option_list choices
  ${prefix}_walk 2 "$CURRENT"
  if [[ -n $dashdash ]]; then
    # After \`--\` comes another program's command line: complete it as such.
    shift $dashdash words
    ((CURRENT -= dashdash))
    _normal
    return
  fi
  if [[ -n $skip ]]; then
    ${prefix}_choices "\${cmdpath:+$cmdpath }$prev"
    if (($#choices)); then compadd -a choices; else _files; fi
    return
  fi
  if [[ $cur == -*=* ]]; then
    ${prefix}_choices "\${cmdpath:+$cmdpath }\${cur%%=*}"
    (($#choices)) && compadd -P "\${cur%%=*}=" -a choices
    return
  fi
  if [[ $cur == -* ]]; then
    _describe -t options option option_list
    return
  fi
  ${prefix}_choices "\${cmdpath:+$cmdpath }<$((npos + 1))>"
  if ((npos == 0 && $#command_list)); then
    _describe -t commands command command_list
  fi
  if (($#choices)); then compadd -a choices; elif ((npos > 0 || ! $#command_list)); then _files; fi
}

if [[ \${funcstack[1]} == ${prefix} ]]; then
  ${prefix} "$@"
else
  compdef ${prefix} ${name}
fi
`;
}

function renderFish(name: string, prefix: string, nodes: CompletionNode[]): string {
  const prefixFn = prefix.replace(/^_/, "__");
  const nodeCases = nodes.map((node) =>
    `        case ${fishQuote(node.path.join(" "))}
            set -g ${prefixFn}_commands${fishList(node.commands.flatMap((c) => c.names))}
            set -g ${prefixFn}_valued${fishList(valued(node))}`
  );
  const aliasCases = nodes.flatMap((node) => {
    const path = node.path.join(" ");
    return node.commands.flatMap((child) =>
      child.names.slice(1).map((alias) =>
        `        case ${fishQuote(path ? `${path} ${alias}` : alias)}
            echo ${fishQuote(path ? `${path} ${child.names[0]}` : child.names[0])}`
      )
    );
  });
  const completes = nodes.flatMap((node) => {
    const at = `-n ${fishQuote(`${prefixFn}_at ${fishQuote(node.path.join(" "))}`)}`;
    const lines = node.commands.flatMap((child) =>
      child.names.map((n) =>
        `complete -c ${name} ${at} -f -a ${fishQuote(n)} -d ${
          fishQuote(oneLine(child.description))
        }`
      )
    );
    for (const option of node.options) {
      const flags = option.flags.map((flag) =>
        flag.startsWith("--") ? `-l ${fishQuote(flag.slice(2))}` : `-s ${fishQuote(flag.slice(1))}`
      );
      const value = option.takesValue
        ? option.choices.length ? ` -x -a ${fishQuote(option.choices.join(" "))}` : " -r"
        : "";
      lines.push(
        `complete -c ${name} ${at} ${flags.join(" ")}${value} -d ${
          fishQuote(oneLine(option.description))
        }`,
      );
    }
    node.arguments.forEach((choices, i) => {
      if (!choices.length) return;
      const position = `${prefixFn}_at ${fishQuote(node.path.join(" "))} ${i + 1}`;
      lines.push(
        `complete -c ${name} -n ${fishQuote(position)} -f -a ${fishQuote(choices.join(" "))}`,
      );
    });
    return lines;
  });
  return `# fish completion for ${name}, generated by \`${name} completions fish\`.
# Load it with: ${name} completions fish | source
# or save it as ~/.config/fish/completions/${name}.fish

function ${prefixFn}_node
    set -g ${prefixFn}_commands
    set -g ${prefixFn}_valued
    switch $argv[1]
${nodeCases.join("\n")}
    end
end

function ${prefixFn}_canonical
    switch $argv[1]
${[...aliasCases, "        case '*'\n            echo $argv[1]"].join("\n")}
    end
end

# Prints the subcommands typed so far and the number of positional arguments after them, or
# "--" after a bare \`--\` (what follows is another program's command line).
function ${prefixFn}_walk
    set -l words (commandline -opc)
    set -e words[1]
    set -l cmdpath ''
    set -l npos 0
    set -l skip 0
    ${prefixFn}_node ''
    for w in $words
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case --
                printf '%s\\n' --
                return
            case '-*=*'
            case '-*'
                contains -- $w $${prefixFn}_valued; and set skip 1
            case '*'
                if contains -- $w $${prefixFn}_commands
                    set cmdpath (${prefixFn}_canonical (string trim -- "$cmdpath $w"))
                    set npos 0
                    ${prefixFn}_node $cmdpath
                else
                    set npos (math $npos + 1)
                end
        end
    end
    echo $cmdpath
    echo $npos
end

# True when the command line is at this subcommand (and, given, at this positional argument).
function ${prefixFn}_at
    set -l state (${prefixFn}_walk)
    test "$state[1]" = "$argv[1]"; or return 1
    test (count $argv) -lt 2; or test (math $state[2] + 1) = $argv[2]
end

complete -c ${name} -e
${completes.join("\n")}
`;
}
