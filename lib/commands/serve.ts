/**
 * `timebound-iam serve`: an MCP stdio server through which agents ask for scoped, short-lived
 * credentials, within the guardrails that the human sets on the command line.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { type Cli, profileOption, regionOption, roleArnOption } from "../cli.ts";

/** Builds the `serve` command. */
export function serveCommand(_cli: Cli): Command<unknown[], Record<string, unknown>> {
  return new Command("serve")
    .description("serve MCP on stdio: agents ask for scoped, expiring credentials")
    .addOption(profileOption())
    .addOption(regionOption())
    .addOption(roleArnOption());
}
