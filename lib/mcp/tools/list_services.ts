/**
 * The `list_services` tool: the AWS services a grant may name, with the levels this server
 * allows for each; a query filters them.
 *
 * @module
 */

import { z } from "zod";
import { allowedLevels } from "../../request/allow_list.ts";
import { findServices } from "../../request/catalog.ts";
import { jsonResult, LEVEL_NAMES, levelName, type ToolContext, toolError } from "../context.ts";

const serviceSchema = z.object({
  name: z.string(),
  prefix: z.string(),
  display_name: z.string(),
  aliases: z.array(z.string()),
  levels: z.array(z.enum(LEVEL_NAMES)),
});

/** Registers `list_services` on the server. */
export function registerListServices(ctx: ToolContext): void {
  ctx.server.registerTool("list_services", {
    title: "List AWS services",
    description:
      "List the AWS services that grant_access accepts (IAM prefix, display name, aliases) and " +
      'the levels this server allows for each. Pass a query (e.g. "logs", "queue") to ' +
      "filter by prefix, alias or name.",
    inputSchema: {
      query: z.string().optional().describe("Only services whose prefix, alias or name has this"),
    },
    outputSchema: { services: z.array(serviceSchema) },
    annotations: {
      title: "List AWS services",
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    },
  }, (args: { query?: string }) => {
    try {
      const services = findServices(ctx.catalog, args.query)
        .map((service) => ({
          name: service.prefix,
          prefix: service.prefix,
          display_name: service.name,
          aliases: service.aliases,
          levels: allowedLevels(ctx.options.allow, service.prefix).map(levelName),
        }))
        .filter((service) => service.levels.length > 0);
      return jsonResult({ services }, services);
    } catch (error) {
      throw toolError(error);
    }
  });
}
