/**
 * The `revoke_session` tool: deletes a session's env file and forgets the session. AWS keeps
 * the keys valid until they expire, and the result says so.
 *
 * @module
 */

import { idText } from "../input_schema.ts";
import { z } from "zod";
import { UsageError } from "../../core/errors.ts";
import { logText } from "../../core/log_text.ts";
import { callCounts, clientOf, jsonResult, type ToolContext, toolError } from "../context.ts";
import { formatScopes } from "../../request/scope.ts";

const SESSION_ID = /^timebound-iam-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Registers `revoke_session` on the server. */
export function registerRevokeSession(ctx: ToolContext): void {
  ctx.server.registerTool("revoke_session", {
    title: "Revoke a credential session",
    description:
      "Delete a session's credential file and forget the session, when the work is done. AWS " +
      "keeps the keys themselves valid until they expire, unless the server masks them (then " +
      "the next call is refused).",
    inputSchema: {
      session_id: idText.describe("The session id from grant_access or list_active_sessions"),
    },
    outputSchema: {
      session_id: z.string(),
      revoked: z.boolean(),
      credential_file_removed: z.string(),
      expires_at: z.string(),
      note: z.string(),
      masked: z.boolean().optional().describe("true when the server masked the session"),
      calls: z.number().optional().describe(
        "masked only: the calls made with it, refused ones included",
      ),
      refused_calls: z.number().optional().describe(
        "masked only: the calls refused (AccessDenied from AWS, or by the proxy)",
      ),
      refusal_reasons: z.record(z.string(), z.number()).optional().describe(
        "masked only: the calls the signing proxy itself refused, counted by why",
      ),
      unanswered_calls: z.number().optional().describe(
        "masked only: the calls sent to AWS that got no answer (AWS may have carried them out)",
      ),
      unverified_requests: z.number().optional().describe(
        "masked only: requests refused because their signature did not verify with the " +
          "stand-in secret (counted, not calls)",
      ),
    },
    annotations: {
      title: "Revoke a credential session",
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
      openWorldHint: false,
    },
  }, async (args: { session_id: string }) => {
    try {
      const id = args.session_id.trim();
      if (!SESSION_ID.test(id)) {
        throw new UsageError(
          `Invalid session id "${logText(args.session_id, 100)}": expected timebound-iam-<uuid>`,
          { hint: "list_active_sessions shows the ids" },
        );
      }
      const session = await ctx.sessions.remove(id);
      // Masked: the proxy refuses the very next call and forgets the real session.
      if (session) await ctx.masking?.end(id);
      const calls = ctx.masking?.stats(id);
      if (!session) {
        throw new UsageError(
          `No active session "${id}": it expired, was revoked or never existed`,
          {
            hint: "list_active_sessions shows the ids",
          },
        );
      }
      // Masked: what the session did, as list_active_sessions says it.
      const counted = calls ? callCounts(calls) : {};
      await ctx.audit.record({
        event: "revocation",
        outcome: "revoked",
        client: clientOf(ctx),
        scopes: formatScopes(session.scopes),
        session_id: id,
        profile: session.profile,
        expires_at: session.expiresAt.toISOString(),
        ...counted,
      });
      ctx.log(`revoked ${id}`);
      const expiresAt = session.expiresAt.toISOString();
      return jsonResult({
        session_id: id,
        revoked: true,
        credential_file_removed: session.file,
        expires_at: expiresAt,
        note: ctx.masking
          ? "The credential file is deleted and the signing proxy refuses every later call " +
            "with ExpiredToken: the stand-in keys are worthless now, and the real session " +
            "never left this server."
          : `The credential file is deleted and the session forgotten, but AWS keeps these ` +
            `keys valid until ${expiresAt}: anything that already read them can use them until ` +
            "then. To cut them off sooner, revoke the broker role's active sessions in IAM.",
        ...counted,
      });
    } catch (error) {
      throw toolError(error);
    }
  });
}
