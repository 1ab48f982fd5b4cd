/**
 * `timebound-iam services`: list the services a scope can name, with their aliases.
 *
 * @module
 */

import { Command } from "../cli/commander.ts";
import type { Cli } from "../cli/options.ts";
import { findServices, loadCatalog } from "../request/catalog.ts";
import { RuntimeError } from "../core/errors.ts";

/** Builds the `services` command. */
export function servicesCommand(cli: Cli): Command<unknown[], Record<string, unknown>> {
  return new Command("services")
    .argument("[query]", "show only services whose prefix, alias or name contains this")
    .option("--json", "print JSON instead of a table")
    .action(async (query, options) => {
      const services = findServices(await loadCatalog(), query);
      if (options.json) {
        cli.io.stdout(`${JSON.stringify(services, null, 2)}\n`);
        return;
      }
      const width = Math.max(6, ...services.map((s) => s.prefix.length));
      const lines = services.map((s) => {
        const aliases = s.aliases.length ? ` (also ${s.aliases.join(", ")})` : "";
        const withheld = s.withheld.length
          ? `; list and grants on named resources leave out ${s.withheld.join(", ")}`
          : "";
        return `${s.prefix.padEnd(width)}  ${s.name}${aliases}${withheld}`;
      });
      if (!lines.length) {
        throw new RuntimeError(`No service matches "${query}"`, {
          hint: '"timebound-iam services" lists every service',
        });
      }
      cli.io.stdout(`${lines.join("\n")}\n`);
    });
}
