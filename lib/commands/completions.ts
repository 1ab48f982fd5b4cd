/**
 * `timebound-iam completions`: print the completion script for a shell, generated from the
 * command tree so that every command and flag completes as soon as it exists.
 *
 * @module
 */

import { Argument, Command, type CommandUnknownOpts } from "../cli/commander.ts";
import type { Cli } from "../cli/context.ts";
import { COMPLETION_SHELLS, type CompletionShell, renderCompletion } from "../cli/completions.ts";

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
  timebound-iam completions fish > ~/.config/fish/completions/timebound-iam.fish`,
    )
    .action((shell, _options, command) => {
      cli.io.stdout(renderCompletion(rootOf(command), shell));
    });
}

function rootOf(command: CommandUnknownOpts): CommandUnknownOpts {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}
