/**
 * The interactive shell of `timebound-iam shell`: the start-up files that give bash, zsh, fish
 * or PowerShell a prompt counting down the credentials' time (`[s3:ro 12m]`, a warning colour
 * near the end, `expired` after), a `timebound-iam refresh` that renews them in place, and an
 * `aws` function that renews first once they have expired, as aws-session's shell does. The
 * user's own start-up files are read first and never changed: bash gets `--rcfile`, zsh a
 * temporary `ZDOTDIR`, fish `--init-command`, PowerShell `-NoExit -Command`.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { fishQuote, powershellQuote, shQuote } from "./shell_env.ts";

/** The shells `shell` can start. */
export type SessionShell = "bash" | "zsh" | "fish" | "powershell";

/** Every shell `shell` can start. */
export const SESSION_SHELLS: readonly SessionShell[] = ["bash", "zsh", "fish", "powershell"];

/** The variable holding the shell's renewal endpoint (keys mode only). */
export const REFRESH_URI_VARIABLE = "TIMEBOUND_IAM_REFRESH_URI";
/** The variable holding the token of the shell's renewal endpoint. */
export const REFRESH_TOKEN_VARIABLE = "TIMEBOUND_IAM_REFRESH_TOKEN";
/** With `--refresh`: until when the endpoint renews (the prompt counts down to it). */
export const RENEWS_UNTIL_VARIABLE = "TIMEBOUND_IAM_RENEWS_UNTIL";
/** Where the user's own `ZDOTDIR` travels while zsh reads ours. */
const USER_ZDOTDIR_VARIABLE = "TIMEBOUND_IAM_USER_ZDOTDIR";

/**
 * Picks the shell: the `--shell` value, else the name of `$SHELL`, else PowerShell on Windows
 * and bash elsewhere. `pwsh` is PowerShell.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chooseSessionShell } from "./shell_session.ts";
 * assert.ok(chooseSessionShell(undefined, { SHELL: "/usr/bin/zsh" }) === "zsh");
 * ```
 */
export function chooseSessionShell(
  flag: string | undefined,
  env: Readonly<Record<string, string>>,
  options: { os?: string } = {},
): SessionShell {
  const os = options.os ?? Deno.build.os;
  const given = flag ?? env.SHELL?.split(/[\\/]/).pop();
  if (!given) return os === "windows" ? "powershell" : "bash";
  const name = given.trim().toLowerCase().replace(/\.exe$/, "");
  if (name === "pwsh") return "powershell";
  if ((SESSION_SHELLS as readonly string[]).includes(name)) return name as SessionShell;
  throw new UsageError(
    `Cannot start shell "${given}"${flag ? "" : " (from SHELL)"}: use ${SESSION_SHELLS.join(", ")}`,
    { hint: "pass --shell bash (or zsh, fish, powershell)" },
  );
}

/**
 * Whether the prompt uses colours: `TIMEBOUND_IAM_COLORS=1` or `0` decides; otherwise not when
 * `NO_COLOR` is set, and only on a terminal whose `TERM` is not `dumb`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { useColors } from "./shell_session.ts";
 * assert.ok(!useColors({ NO_COLOR: "1", TERM: "xterm" }, true));
 * assert.ok(useColors({ TIMEBOUND_IAM_COLORS: "1" }, false));
 * ```
 */
export function useColors(env: Readonly<Record<string, string>>, isTerminal: boolean): boolean {
  if (env.TIMEBOUND_IAM_COLORS === "1") return true;
  if (env.TIMEBOUND_IAM_COLORS === "0") return false;
  if (env.NO_COLOR) return false;
  return isTerminal && !!env.TERM && env.TERM !== "dumb";
}

/** What the start-up files need to know. */
export interface SessionSettings {
  /** What the prompt shows before the time, e.g. `s3:ro,sqs:full`. */
  label: string;
  /** From how many seconds left the prompt warns. */
  warnSeconds: number;
  /** Whether the prompt is coloured. */
  colors: boolean;
  /** The program to call for `refresh` (a path, or a name on PATH). */
  program: string;
}

/** A shell ready to start: its files (name → text), its arguments and its extra variables. */
export interface SessionLaunch {
  /** Files to write into the private directory, by name. */
  files: Record<string, string>;
  /** The program's arguments, given the directory's path. */
  args: string[];
  /** Variables to add to the shell's environment. */
  env: Record<string, string>;
}

/**
 * The files, arguments and variables that start `shell` in the private directory `dir` with the
 * timebound prompt and functions. `parentEnv` is read for `ZDOTDIR`.
 */
export function prepareSessionShell(
  shell: SessionShell,
  dir: string,
  settings: SessionSettings,
  parentEnv: Readonly<Record<string, string>>,
): SessionLaunch {
  settings = { ...settings, label: promptLabel(settings.label) };
  switch (shell) {
    case "bash":
      return {
        files: { bashrc: bashRc(settings) },
        args: ["--rcfile", `${dir}/bashrc`, "-i"],
        env: {},
      };
    case "zsh":
      return {
        files: { ".zshenv": zshEnv(), ".zshrc": zshRc(settings) },
        args: ["-i"],
        env: {
          ZDOTDIR: dir,
          ...(parentEnv.ZDOTDIR ? { [USER_ZDOTDIR_VARIABLE]: parentEnv.ZDOTDIR } : {}),
        },
      };
    case "fish":
      return {
        files: { "init.fish": fishInit(settings) },
        args: ["--interactive", "--init-command", `source ${fishQuote(`${dir}/init.fish`)}`],
        env: {},
      };
    case "powershell":
      return {
        files: { "init.ps1": powershellInit(settings) },
        args: ["-NoLogo", "-NoExit", "-Command", `. ${powershellQuote(`${dir}/init.ps1`)}`],
        env: {},
      };
  }
}

/** The longest label the prompt shows. */
const LABEL_MAX = 60;

/**
 * The scopes as the prompt shows them. A scope may name resources in any printable characters,
 * and a prompt is code: zsh with `prompt_subst` runs `$(…)` and backquotes in it at every prompt,
 * and each shell has its own escapes. So only characters that mean nothing to any of them are
 * shown; every other one becomes `?`, and a long list ends in `...`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { promptLabel } from "./shell_session.ts";
 * assert.equal(promptLabel("s3:ro@my-bucket/$(id)`id`"), "s3:ro@my-bucket/??id??id?");
 * assert.equal(promptLabel("s3:ro,sqs:full"), "s3:ro,sqs:full");
 * ```
 */
export function promptLabel(scopes: string): string {
  const shown = scopes.replace(/[^A-Za-z0-9:,@._/*?=+-]/g, "?");
  return shown.length > LABEL_MAX ? `${shown.slice(0, LABEL_MAX - 3)}...` : shown;
}

/** The program that runs a shell (`pwsh` for PowerShell). */
export function shellProgram(shell: SessionShell): string {
  return shell === "powershell" ? "pwsh" : shell;
}

/** The helpers bash and zsh share: settings, time left, its format, refresh and `aws`. */
function posixFunctions(settings: SessionSettings, shell: "bash" | "zsh"): string {
  return `__tbi_label=${shQuote(settings.label)}
__tbi_warn=${settings.warnSeconds}
__tbi_colors=${settings.colors ? 1 : 0}
__tbi_program=${shQuote(settings.program)}
__tbi_iso=
__tbi_expiry=0
# Seconds since the epoch of an ISO time: GNU date, else BSD date (macOS).
__tbi_epoch() {
  date -u -d "$1" +%s 2>/dev/null ||
    date -u -j -f '%Y-%m-%dT%H:%M:%S' "\${1%%.*}" +%s 2>/dev/null || echo 0
}
# Seconds the credentials have left (or, with --refresh, the renewing).
__tbi_left() {
  local iso="\${AWS_CREDENTIAL_EXPIRATION:-$${RENEWS_UNTIL_VARIABLE}}"
  if [ "$iso" != "$__tbi_iso" ]; then
    __tbi_expiry=$(__tbi_epoch "$iso")
    __tbi_iso=$iso
  fi
  echo $(( __tbi_expiry - $(date +%s) ))
}
__tbi_format() {
  if [ "$1" -ge 3600 ]; then printf '%dh%02dm' $(( $1 / 3600 )) $(( $1 % 3600 / 60 ))
  elif [ "$1" -ge 60 ]; then printf '%dm' $(( $1 / 60 ))
  else printf '%ds' "$1"
  fi
}
# Sets __tbi_text and __tbi_color for the prompt.
__tbi_status() {
  local left
  left=$(__tbi_left)
  __tbi_color= __tbi_reset=
  if [ "$left" -le 0 ]; then
    __tbi_text="[$__tbi_label expired]"
    [ "$__tbi_colors" = 1 ] && __tbi_color=$'\\e[31m'
  elif [ "$left" -le "$__tbi_warn" ]; then
    __tbi_text="[$__tbi_label $(__tbi_format "$left")]"
    [ "$__tbi_colors" = 1 ] && __tbi_color=$'\\e[33m'
  else
    __tbi_text="[$__tbi_label $(__tbi_format "$left")]"
    [ "$__tbi_colors" = 1 ] && __tbi_color=$'\\e[36m'
  fi
  [ "$__tbi_colors" = 1 ] && __tbi_reset=$'\\e[0m'
  return 0
}
__tbi_refresh() {
  local out
  out=$(command "$__tbi_program" refresh --shell ${shell}) || return
  eval "$out"
}
timebound-iam() {
  if [ "$1" = refresh ]; then __tbi_refresh; else command "$__tbi_program" "$@"; fi
}
# As aws-session's: renew first once the credentials have expired.
aws() {
  if [ -n "$${REFRESH_URI_VARIABLE}" ] && [ "$(__tbi_left)" -le 0 ]; then
    __tbi_refresh || return
  fi
  command aws "$@"
}
`;
}

function bashRc(settings: SessionSettings): string {
  return `# timebound-iam shell: your ~/.bashrc first (it is not changed), then the prompt.
if [ -f ~/.bashrc ]; then . ~/.bashrc; fi
${
    posixFunctions(settings, "bash")
  }__tbi_prefix='\\[\${__tbi_color}\\]\${__tbi_text}\\[\${__tbi_reset}\\] '
__tbi_prompt() {
  __tbi_status
  case "$PS1" in "$__tbi_prefix"*) ;; *) PS1="$__tbi_prefix$PS1" ;; esac
}
PROMPT_COMMAND="__tbi_prompt\${PROMPT_COMMAND:+; $PROMPT_COMMAND}"
`;
}

function zshEnv(): string {
  return `# timebound-iam shell: your .zshenv (it is not changed), then back to our .zshrc.
__tbi_dir=$ZDOTDIR
ZDOTDIR=\${${USER_ZDOTDIR_VARIABLE}:-$HOME}
unset ${USER_ZDOTDIR_VARIABLE}
[ -f "$ZDOTDIR/.zshenv" ] && . "$ZDOTDIR/.zshenv"
__tbi_user_zdotdir=$ZDOTDIR
ZDOTDIR=$__tbi_dir
`;
}

function zshRc(settings: SessionSettings): string {
  return `# timebound-iam shell: your .zshrc first (it is not changed), then the prompt.
ZDOTDIR=$__tbi_user_zdotdir
[ -f "$ZDOTDIR/.zshrc" ] && . "$ZDOTDIR/.zshrc"
${posixFunctions(settings, "zsh")}__tbi_last=
__tbi_prompt() {
  __tbi_status
  PROMPT=\${PROMPT#"$__tbi_last"}
  __tbi_last="%{$__tbi_color%}\${__tbi_text//\\%/%%}%{$__tbi_reset%} "
  PROMPT="$__tbi_last$PROMPT"
}
precmd_functions+=(__tbi_prompt)
`;
}

function fishInit(settings: SessionSettings): string {
  return `# timebound-iam shell: after your config.fish (it is not changed), the prompt.
set -g __tbi_label ${fishQuote(settings.label)}
set -g __tbi_warn ${settings.warnSeconds}
set -g __tbi_colors ${settings.colors ? 1 : 0}
set -g __tbi_program ${fishQuote(settings.program)}
set -g __tbi_iso ''
set -g __tbi_expiry 0
function __tbi_epoch
    date -u -d $argv[1] +%s 2>/dev/null
    or date -u -j -f '%Y-%m-%dT%H:%M:%S' (string split -m1 . -- $argv[1])[1] +%s 2>/dev/null
    or echo 0
end
function __tbi_left
    set -l iso $AWS_CREDENTIAL_EXPIRATION
    test -n "$iso"; or set iso $${RENEWS_UNTIL_VARIABLE}
    if test "$iso" != "$__tbi_iso"
        set -g __tbi_expiry (__tbi_epoch $iso)
        set -g __tbi_iso $iso
    end
    math $__tbi_expiry - (date +%s)
end
function __tbi_format
    set -l s $argv[1]
    if test $s -ge 3600
        printf '%dh%02dm' (math -s0 $s / 3600) (math -s0 $s % 3600 / 60)
    else if test $s -ge 60
        printf '%dm' (math -s0 $s / 60)
    else
        printf '%ds' $s
    end
end
if functions -q fish_prompt
    functions -c fish_prompt __tbi_user_prompt
end
function fish_prompt
    set -l left (__tbi_left)
    set -l color ''
    set -l text "[$__tbi_label "(__tbi_format $left)"]"
    if test $left -le 0
        set text "[$__tbi_label expired]"
        set color (printf '\\e[31m')
    else if test $left -le $__tbi_warn
        set color (printf '\\e[33m')
    else
        set color (printf '\\e[36m')
    end
    if test $__tbi_colors = 1
        printf '%s%s%s ' $color $text (printf '\\e[0m')
    else
        printf '%s ' $text
    end
    if functions -q __tbi_user_prompt
        __tbi_user_prompt
    end
end
function __tbi_refresh
    set -l out (command $__tbi_program refresh --shell fish)
    or return 1
    printf '%s\\n' $out | source
end
function timebound-iam
    if test "$argv[1]" = refresh
        __tbi_refresh
    else
        command $__tbi_program $argv
    end
end
function aws
    if set -q ${REFRESH_URI_VARIABLE}; and test (__tbi_left) -le 0
        __tbi_refresh; or return 1
    end
    command aws $argv
end
`;
}

function powershellInit(settings: SessionSettings): string {
  return `# timebound-iam shell: after your profile (it is not changed), the prompt.
$global:TbiLabel = ${powershellQuote(settings.label)}
$global:TbiWarn = ${settings.warnSeconds}
$global:TbiColors = $${settings.colors ? "true" : "false"}
$global:TbiProgram = ${powershellQuote(settings.program)}
$global:TbiUserPrompt = $function:prompt
function global:TbiLeft {
  $iso = if ($Env:AWS_CREDENTIAL_EXPIRATION) { $Env:AWS_CREDENTIAL_EXPIRATION } else { $Env:${RENEWS_UNTIL_VARIABLE} }
  [int]([DateTimeOffset]::Parse($iso) - [DateTimeOffset]::UtcNow).TotalSeconds
}
function global:TbiFormat([int]$s) {
  if ($s -ge 3600) { '{0}h{1:d2}m' -f [math]::Floor($s / 3600), [math]::Floor(($s % 3600) / 60) }
  elseif ($s -ge 60) { '{0}m' -f [math]::Floor($s / 60) }
  else { '{0}s' -f $s }
}
function global:prompt {
  $left = TbiLeft
  $e = [char]27
  if ($left -le 0) { $text = "[$TbiLabel expired]"; $color = "$e[31m" }
  elseif ($left -le $TbiWarn) { $text = "[$TbiLabel $(TbiFormat $left)]"; $color = "$e[33m" }
  else { $text = "[$TbiLabel $(TbiFormat $left)]"; $color = "$e[36m" }
  $prefix = if ($TbiColors) { "$color$text$e[0m " } else { "$text " }
  $prefix + (& $TbiUserPrompt)
}
function global:TbiRefresh {
  $out = & $TbiProgram refresh --shell powershell
  if ($LASTEXITCODE -eq 0) { $out | Out-String | Invoke-Expression }
}
function global:timebound-iam {
  if ($args.Count -gt 0 -and $args[0] -eq 'refresh') { TbiRefresh } else { & $TbiProgram @args }
}
function global:aws {
  if ($Env:${REFRESH_URI_VARIABLE} -and (TbiLeft) -le 0) { TbiRefresh }
  $cmd = Get-Command aws -CommandType Application | Select-Object -First 1
  & $cmd @args
}
`;
}
