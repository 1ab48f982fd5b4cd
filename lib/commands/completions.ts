/**
 * `timebound-iam completions`: print the completion script for a shell (bash, zsh, fish, PowerShell), generated from the
 * command tree so that every command and flag completes as soon as it exists.
 *
 * @module
 */

import { Argument, Command, type CommandUnknownOpts } from "../cli/commander.ts";
import type { Cli } from "../cli/options.ts";
import { COMPLETION_SHELLS, type CompletionShell, renderCompletion } from "../cli/completions.ts";
import { loadCatalog, SERVICE_ALIASES } from "../request/catalog.ts";
import { LEVEL_NAMES } from "../request/scope.ts";

/** Builds the `completions` command; its action reaches the whole tree through its parents. */
export function completionsCommand(cli: Cli): Command<[CompletionShell]> {
  return new Command("completions")
    .addArgument(new Argument("<shell>", "the shell to complete in").choices(COMPLETION_SHELLS))
    .addHelpText(
      "after",
      `
Examples:
  source <(timebound-iam completions bash)       # in ~/.bashrc
  source <(timebound-iam completions zsh)        # in ~/.zshrc, after compinit
  timebound-iam completions fish > ~/.config/fish/completions/timebound-iam.fish
  timebound-iam completions powershell | Out-String | Invoke-Expression   # in $PROFILE

Scope values complete too: -s s3<Tab> gives s3:, then the levels, then @; --profile completes
the profile names of the AWS config and credentials files.`,
    )
    .action(async (shell, _options, command) => {
      const catalog = await loadCatalog();
      const services = [...catalog.services.map((s) => s.prefix), ...Object.keys(SERVICE_ALIASES)]
        .sort();
      cli.io.stdout(renderCompletion(rootOf(command), shell, { services, levels: LEVEL_NAMES }));
    });
}

function rootOf(command: CommandUnknownOpts): CommandUnknownOpts {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}
