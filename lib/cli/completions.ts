/**
 * Shell completion scripts for bash, zsh, fish and PowerShell, generated from a commander command
 * tree, so a new command, flag or choice completes as soon as it is declared. The scripts embed
 * the tree as data and walk the words typed so far themselves: they never run the program while
 * completing. Two kinds of value are computed by the script: scopes (service prefixes and
 * aliases, then `:` and the levels, then `@`) and AWS profile names (the section names of the AWS
 * config and credentials files, never their contents).
 *
 * @module
 */

import type { CommandUnknownOpts } from "./commander.ts";
import { fishQuote, type Shell, shQuote } from "../delivery/shell_env.ts";
import { type CompletionNode, describeCommandTree, type ScopeWords } from "./completion_tree.ts";
import { renderPowerShell } from "./completions_powershell.ts";

export {
  type CompletionNode,
  type CompletionOption,
  describeCommandTree,
  type ScopeWords,
  type ValueKind,
} from "./completion_tree.ts";

/** The shells that `renderCompletion` writes scripts for (of those `env` writes for). */
export const COMPLETION_SHELLS = [
  "bash",
  "zsh",
  "fish",
  "powershell",
] as const satisfies readonly Shell[];

/** A shell that `renderCompletion` writes a script for. */
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

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
export function renderCompletion(
  root: CommandUnknownOpts,
  shell: CompletionShell,
  scopes: ScopeWords = { services: [], levels: [] },
): string {
  const nodes = describeCommandTree(root);
  const name = root.name();
  const prefix = `_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
  switch (shell) {
    case "bash":
      return renderBash(name, prefix, nodes, scopes);
    case "zsh":
      return renderZsh(name, prefix, nodes, scopes);
    case "fish":
      return renderFish(name, prefix, nodes, scopes);
    case "powershell":
      return renderPowerShell(name, nodes, scopes);
  }
}

/** The keys (`"<path> <flag>"`) of the options whose values are of each kind. */
function kindCases(nodes: CompletionNode[]): string[] {
  return nodes.flatMap((node) => {
    const path = node.path.join(" ");
    return node.options.filter((o) => o.values).map((o) =>
      `    ${o.flags.map((f) => shQuote(path ? `${path} ${f}` : f)).join("|")}) kind=${o.values} ;;`
    );
  });
}

// The functions that complete computed values in bash and zsh: `_scopes VALUE` prints the scope
// lists that extend VALUE (the services after the last comma, then the levels after its colon,
// then an `@` after a whole level); `_profiles` prints the profile names of the AWS config files.
// `split` expands a variable into its words: `$` in bash, `$=` in zsh (which does not split).
function valueFunctions(
  prefix: string,
  nodes: CompletionNode[],
  { scopes, split }: { scopes: ScopeWords; split: "$" | "$=" },
): string {
  return `${prefix}_services=${shQuote(scopes.services.join(" "))}
${prefix}_levels=${shQuote(scopes.levels.join(" "))}

${caseFunction(`${prefix}_kind`, "kind=''", [...kindCases(nodes), "    *) ;;"])}

${prefix}_scopes() {
  local head=\${1%"\${1##*,}"} last=\${1##*,} svc level
  case $last in
    *@*) ;;
    *:*)
      svc=\${last%%:*} level=\${last#*:}
      for level in ${split}${prefix}_levels; do printf '%s\\n' "$head$svc:$level"; done
      level=\${last#*:}
      [[ " $${prefix}_levels " == *" $level "* ]] && printf '%s\\n' "$head$last@"
      ;;
    *) for svc in ${split}${prefix}_services; do printf '%s\\n' "$head$svc:"; done ;;
  esac
}

${prefix}_profiles() {
  local config=\${AWS_CONFIG_FILE:-$HOME/.aws/config}
  local credentials=\${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}
  {
    [[ -r $config ]] && sed -n \
      -e 's/^[[:space:]]*\\[[[:space:]]*profile[[:space:]]\\{1,\\}\\([^][:space:]]\\{1,\\}\\)[[:space:]]*\\].*/\\1/p' \
      -e 's/^[[:space:]]*\\[[[:space:]]*\\(default\\)[[:space:]]*\\].*/\\1/p' "$config"
    [[ -r $credentials ]] && sed -n \
      -e 's/^[[:space:]]*\\[[[:space:]]*\\([^][:space:]]\\{1,\\}\\)[[:space:]]*\\].*/\\1/p' "$credentials"
  } 2>/dev/null | sort -u
}`;
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

function renderBash(
  name: string,
  prefix: string,
  nodes: CompletionNode[],
  scopes: ScopeWords,
): string {
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

${valueFunctions(prefix, nodes, { scopes, split: "$" })}

# Completes a computed value: bash splits the word at ":" and "=", so the whole word is read from
# the line and the candidates are cut to what follows the last of those characters.
${prefix}_computed() {
  local line=\${COMP_LINE:0:COMP_POINT} word before flag value keep c kind
  word=\${line##*[[:space:]]}
  before=\${line%"$word"}
  before=\${before%"\${before##*[![:space:]]}"}
  flag=\${before##*[[:space:]]} value=$word
  [[ $word == -*=* ]] && flag=\${word%%=*} value=\${word#*=}
  ${prefix}_kind "\${cmdpath:+$cmdpath }$flag"
  [[ -n $kind ]] || return 1
  keep=\${word%"\${word##*[:=]}"}
  while IFS= read -r c; do
    c=\${word%"$value"}$c
    [[ $c == "$word"* ]] && COMPREPLY+=("\${c#"$keep"}")
  done < <(if [[ $kind == scopes ]]; then ${prefix}_scopes "$value"; else ${prefix}_profiles; fi)
  [[ $kind == scopes && \${COMPREPLY[0]} == *[:@] ]] && compopt -o nospace 2>/dev/null
  return 0
}

${prefix}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev='' flag eq='' value
  local subcommands options valued choices cmdpath npos skip dashdash kind
  local -a words=("\${COMP_WORDS[@]}")
  ((COMP_CWORD > 0)) && prev=\${COMP_WORDS[COMP_CWORD - 1]}
  ${prefix}_walk 1 "$COMP_CWORD"
  COMPREPLY=()
  if [[ -n $dashdash ]]; then
    # After \`--\` comes another program's command line: its name, then the default (files).
    ((dashdash + 1 == COMP_CWORD)) && COMPREPLY=($(compgen -c -- "$cur"))
    return 0
  fi
  if [[ -n $skip ]] && ${prefix}_computed; then
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

function renderZsh(
  name: string,
  prefix: string,
  nodes: CompletionNode[],
  scopes: ScopeWords,
): string {
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

${valueFunctions(prefix, nodes, { scopes, split: "$=" })}

# Adds the computed values of option $1 for the value $2 (after the prefix $3): scopes ending in
# ":" or "@" take no space after them.
${prefix}_computed() {
  local kind
  local -a found
  ${prefix}_kind "\${cmdpath:+$cmdpath }$1"
  [[ -n $kind ]] || return 1
  if [[ $kind == scopes ]]; then
    found=(\${(f)"$(${prefix}_scopes "$2")"})
    compadd -P "$3" -S '' -- \${(M)found:#*[:@]}
    compadd -P "$3" -- \${found:#*[:@]}
  else
    found=(\${(f)"$(${prefix}_profiles)"})
    compadd -P "$3" -- $found
  fi
  return 0
}

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
    ${prefix}_computed "$prev" "$cur" '' && return
    ${prefix}_choices "\${cmdpath:+$cmdpath }$prev"
    if (($#choices)); then compadd -a choices; else _files; fi
    return
  fi
  if [[ $cur == -*=* ]]; then
    ${prefix}_computed "\${cur%%=*}" "\${cur#*=}" "\${cur%%=*}=" && return
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

function renderFish(
  name: string,
  prefix: string,
  nodes: CompletionNode[],
  scopes: ScopeWords,
): string {
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
  const completes = fishCompletes(name, prefixFn, nodes);
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

${fishRuntime(prefixFn, scopes)}complete -c ${name} -e
${completes.join("\n")}
`;
}

/** The `complete` lines of every subcommand: its subcommands, options and arguments. */
function fishCompletes(name: string, prefixFn: string, nodes: CompletionNode[]): string[] {
  return nodes.flatMap((node) => {
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
      const value = !option.takesValue
        ? ""
        : option.values
        ? ` -x -a ${fishQuote(`(${prefixFn}_${option.values})`)}`
        : option.choices.length
        ? ` -x -a ${fishQuote(option.choices.join(" "))}`
        : " -r";
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
}

/**
 * The fish functions that read the command line (walk, scopes, profiles, at), after the node and
 * alias tables.
 */
function fishRuntime(prefixFn: string, scopes: ScopeWords): string {
  return `# Prints the subcommands typed so far and the number of positional arguments after them, or
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

set -g ${prefixFn}_services${fishList([...scopes.services])}
set -g ${prefixFn}_levels${fishList([...scopes.levels])}

# The scope lists that extend the value being typed: the services after its last comma, then
# the levels after a colon, then an @ after a whole level.
function ${prefixFn}_scopes
    set -l value (string replace -r -- '^-[^=]*=' '' (commandline -ct))
    set -l head (string replace -r -- '[^,]*$' '' $value)
    set -l last (string replace -r -- '^.*,' '' $value)
    if string match -q -- '*@*' $last
        return
    else if string match -q -- '*:*' $last
        set -l parts (string split -m1 -- : $last)
        for level in $${prefixFn}_levels
            printf '%s\\n' "$head$parts[1]:$level"
        end
        contains -- $parts[2] $${prefixFn}_levels; and printf '%s\\n' "$head$last@"
    else
        for service in $${prefixFn}_services
            printf '%s\\n' "$head$service:"
        end
    end
end

# The profile names of the AWS config and credentials files (section names only).
function ${prefixFn}_profiles
    set -l config ~/.aws/config
    set -q AWS_CONFIG_FILE; and set config $AWS_CONFIG_FILE
    set -l credentials ~/.aws/credentials
    set -q AWS_SHARED_CREDENTIALS_FILE; and set credentials $AWS_SHARED_CREDENTIALS_FILE
    begin
        test -r $config
        and string replace -rf -- '^\\s*\\[\\s*(?:profile\\s+([^\\]\\s]+)|(default))\\s*\\].*$' '$1$2' <$config
        test -r $credentials
        and string replace -rf -- '^\\s*\\[\\s*([^\\]\\s]+)\\s*\\].*$' '$1' <$credentials
    end 2>/dev/null | sort -u
end

# True when the command line is at this subcommand (and, given, at this positional argument).
function ${prefixFn}_at
    set -l state (${prefixFn}_walk)
    test "$state[1]" = "$argv[1]"; or return 1
    test (count $argv) -lt 2; or test (math $state[2] + 1) = $argv[2]
end

`;
}
