/**
 * The `list_active_sessions` tool: the sessions this server granted that have not expired or
 * been revoked, with the time they have left.
 *
 * @module
 */

import { z } from "zod";
import {
  describeSession,
  jsonResult,
  sessionSchema,
  type ToolContext,
  toolError,
} from "../context.ts";

/** Registers `list_active_sessions` on the server. */
export function registerListActiveSessions(ctx: ToolContext): void {
  ctx.server.registerTool("list_active_sessions", {
    title: "List active credential sessions",
    description: "List the credential sessions granted by this server that are still valid: id, " +
      "services, level, expiry, time remaining and env file (and, for masked credentials, the " +
      "calls made so far and the latest one). Reuse a session's " +
      "credential_file while it has enough time left instead of asking for a new grant.",
    inputSchema: {},
    outputSchema: { sessions: z.array(sessionSchema) },
    annotations: {
      title: "List active credential sessions",
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    },
  }, async () => {
    try {
      const now = ctx.now();
      const sessions = (await ctx.sessions.list()).map((s) =>
        describeSession(s, now, ctx.masking?.stats(s.id))
      );
      return jsonResult({ sessions }, sessions);
    } catch (error) {
      throw toolError(error);
    }
  });
}
