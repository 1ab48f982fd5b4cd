/**
 * The `list_services` tool: the AWS services a grant may name, with the levels this server
 * allows for each, the resources it limits them to, and the resource forms a scope may name;
 * a query filters them.
 *
 * @module
 */

import { idText } from "../input_schema.ts";
import { z } from "zod";
import { allowedLevels, allowedResources } from "../../request/allow_list.ts";
import { findServices } from "../../request/catalog.ts";
import { describeBareName, readableFormat } from "../../request/resource.ts";
import { formatScopes } from "../../request/scope.ts";
import { jsonResult, LEVEL_NAMES, levelName, type ToolContext, toolError } from "../context.ts";

const serviceSchema = z.object({
  name: z.string(),
  prefix: z.string(),
  display_name: z.string(),
  aliases: z.array(z.string()),
  levels: z.array(z.enum(LEVEL_NAMES)),
  allowed_on_resources: z.array(z.string()).optional(),
  bare_name: z.string().optional(),
  arn_formats: z.array(z.string()).optional(),
  withheld: z.array(z.string()).optional(),
});

/** Registers `list_services` on the server. */
export function registerListServices(ctx: ToolContext): void {
  ctx.server.registerTool("list_services", {
    title: "List AWS services",
    description:
      "List the AWS services that grant_access accepts (IAM prefix, display name, aliases), " +
      "the levels this server allows for each on every resource (levels), the scopes it allows " +
      "only on named resources (allowed_on_resources), the actions that list and the " +
      "account-wide part of grants on named resources leave out because they return contents " +
      "or act (withheld), and what a resource may be: a bare " +
      "name (bare_name) or an ARN (arn_formats, shown when a query is given). Pass a query " +
      '(e.g. "logs", "queue") to filter by prefix, alias or name.',
    inputSchema: {
      query: idText.optional().describe("Only services whose prefix, alias or name has this"),
    },
    outputSchema: { services: z.array(serviceSchema) },
    annotations: {
      title: "List AWS services",
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    },
  }, async (args: { query?: string }) => {
    try {
      const found = findServices(ctx.catalog, args.query);
      const services = [];
      for (const service of found) {
        const levels = allowedLevels(ctx.options.allow, service.prefix).map(levelName);
        const scoped = allowedResources(ctx.options.allow, service.prefix);
        if (!levels.length && !scoped.length) continue;
        const bareName = describeBareName(service.prefix);
        const formats = args.query?.trim()
          ? (await ctx.catalog.resourceTypes(service.prefix)).map((t) => readableFormat(t.arn))
          : undefined;
        services.push({
          name: service.prefix,
          prefix: service.prefix,
          display_name: service.name,
          aliases: service.aliases,
          levels,
          ...(scoped.length
            ? { allowed_on_resources: formatScopes(scoped, levelName).split(",") }
            : {}),
          ...(bareName ? { bare_name: bareName } : {}),
          ...(formats ? { arn_formats: formats } : {}),
          ...(service.withheld.length ? { withheld: service.withheld } : {}),
        });
      }
      return jsonResult({ services }, services);
    } catch (error) {
      throw toolError(error);
    }
  });
}
