/**
 * What every tool of the MCP server shares: the dependencies handed to `createServer`, the live
 * sessions, who the client is, and how a failure becomes the message an agent reads.
 *
 * @module
 */
// Types only: the SDK's "./*" export maps `mcp.js` to a missing `mcp.js.d.ts` under Deno.
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp";
import type { AllowList } from "../request/allow_list.ts";
import type { ApproveMode } from "../request/approval.ts";
import type { AuditLog } from "./audit_log.ts";
import type { Grant } from "../aws/broker.ts";
import type { PoolGrantRequest } from "../grant/granters.ts";
import type { Catalog } from "../request/catalog.ts";
import type { ArnTarget } from "../request/resource.ts";
import type { AskMfaCode } from "../aws/base_credentials.ts";
import { UserError } from "../core/errors.ts";
import { logText, messageLine } from "../core/log_text.ts";
import { formatScopes, type Level } from "../request/scope.ts";
import type { Session, SessionStore } from "./session_store.ts";
import type { CallStats } from "./call_audit.ts";
import type { Masking } from "./masking.ts";
import { formatTtl } from "../request/ttl.ts";
import { z } from "zod";
import { isRefused } from "../delivery/call_record.ts";

/** A session as tools describe it to agents: never a secret, only the env file's path. */
export const sessionSchema = z.object({
  id: z.string(),
  services: z.array(z.string()),
  level: z.enum(["list", "read_only", "full", "mixed"]),
  scopes: z.string(),
  profile: z.string().optional(),
  region: z.string(),
  expires_at: z.string(),
  ttl_remaining: z.string(),
  ttl_remaining_seconds: z.number(),
  credential_file: z.string(),
  masked: z.boolean().optional().describe(
    "true when the file holds stand-in keys for the signing proxy, not the session itself",
  ),
  calls: z.number().optional().describe(
    "masked only: the calls made so far, refused ones included",
  ),
  refused_calls: z.number().optional().describe(
    "masked only: the calls refused (AccessDenied from AWS, or by the proxy)",
  ),
  refusal_reasons: z.record(z.string(), z.number()).optional().describe(
    "masked only: the calls the signing proxy itself refused, counted by why (e.g. " +
      '"credential-minting action refused under --masked")',
  ),
  unanswered_calls: z.number().optional().describe(
    "masked only: the calls sent to AWS that got no answer (the proxy's idle timeout passed, " +
      "or it closed first): AWS may have carried them out; not refused",
  ),
  unverified_requests: z.number().optional().describe(
    "masked only: requests refused because their signature did not verify with the grant's " +
      "stand-in secret (a wrong secret or token: anyone who saw the key id can send them); " +
      "counted, not calls",
  ),
  last_call: z.object({
    time: z.string(),
    service: z.string(),
    action: z.string(),
    resource: z.string().optional(),
    source: z.string().optional(),
    status: z.number(),
    refused: z.boolean(),
    refusal_reason: z.string().optional(),
    outcome_reason: z.string().optional().describe(
      "a call sent to AWS that got no answer: why none came (its outcome is unknown)",
    ),
  }).optional().describe("masked only: the latest call"),
});

/** The description of one session, as {@linkcode sessionSchema} validates it. */
export type SessionDescription = z.infer<typeof sessionSchema>;

/** The guardrails the human sets on the command line. */
export interface ServerOptions {
  /** What the agent may ask for (`--allow`); anything when omitted. */
  allow?: AllowList;
  /** The longest TTL the agent may ask for, in seconds (`--max-ttl`). */
  maxTtlSeconds: number;
  /** When to ask the human (`--approve`). */
  approve: ApproveMode;
  /**
   * The profile the server uses (`--profile`, `AWS_PROFILE`… as the human started it; `undefined`
   * for the default chain). The agent may name it or one of `allowProfiles`, nothing else.
   */
  profile?: string;
  /** Other profiles the agent may name (`--allow-profiles`). */
  allowProfiles?: ReadonlySet<string>;
}

/** What a tool handler works with. */
export interface ToolContext {
  /** The MCP server, for the client's identity and elicitation. */
  server: McpServer;
  /** The service catalog. */
  catalog: Catalog;
  /** Assumes the broker role (`serve`'s granters, or a fake). */
  grant: (request: PoolGrantRequest) => Promise<Grant>;
  /** Where bare resource names of a profile's grants expand (`serve`'s granters). */
  identify: (profile?: string, askMfaCode?: AskMfaCode) => Promise<ArnTarget>;
  /** The clock. */
  now: () => Date;
  /** The live sessions. */
  sessions: SessionStore;
  /** The audit log. */
  audit: AuditLog;
  /** The guardrails. */
  options: ServerOptions;
  /** Writes one line to the server's log (stderr). */
  log: (line: string) => void;
  /** The signing proxy of `serve --masked`; absent when grants hold the session itself. */
  masking?: Masking;
}

/** The client's name and version from the MCP handshake. */
export function clientOf(ctx: ToolContext): { name?: string; version?: string } {
  const info = ctx.server.server.getClientVersion();
  return { name: info?.name, version: info?.version };
}

/** The client as logs and questions name it: its name and version, or "the client". */
export function clientName(client: { name?: string; version?: string }): string {
  return client.name
    ? logText(`${client.name}${client.version ? ` ${client.version}` : ""}`, 100)
    : "the client";
}

/** The levels as the MCP tools spell them. */
export const LEVEL_NAMES = ["list", "read_only", "full"] as const;

/** A level as the MCP tools spell it. */
export function levelName(level: Level): typeof LEVEL_NAMES[number] {
  return level === "ro" ? "read_only" : level;
}

/**
 * A session as `grant_access` and `list_active_sessions` describe it: never a secret. `calls`
 * (a masked grant's) adds its call count and latest call.
 */
export function describeSession(
  session: Session,
  now: Date,
  calls?: CallStats,
): SessionDescription {
  const levels = new Set(session.scopes.map((scope) => levelName(scope.level)));
  const remaining = Math.max(0, Math.floor((session.expiresAt.getTime() - now.getTime()) / 1000));
  return {
    id: session.id,
    services: session.scopes.map((scope) => scope.service),
    level: levels.size === 1 ? [...levels][0] : "mixed",
    scopes: formatScopes(session.scopes, levelName),
    ...(session.profile ? { profile: session.profile } : {}),
    region: session.region,
    expires_at: session.expiresAt.toISOString(),
    ttl_remaining: formatTtl(remaining),
    ttl_remaining_seconds: remaining,
    credential_file: session.file,
    ...(calls ? describeCalls(calls) : {}),
  };
}

/**
 * A masked session's counts, as `list_active_sessions`, `revoke_session` and the audit log's
 * revocation line give them: the calls, the refused ones, and the proxy's refusals by reason.
 */
export function callCounts(stats: CallStats): {
  masked: true;
  calls: number;
  refused_calls: number;
  refusal_reasons?: Record<string, number>;
  unanswered_calls?: number;
  unverified_requests?: number;
} {
  return {
    masked: true,
    calls: stats.calls,
    refused_calls: stats.refused,
    ...(Object.keys(stats.refusalReasons).length
      ? { refusal_reasons: stats.refusalReasons as Record<string, number> }
      : {}),
    ...(stats.unanswered ? { unanswered_calls: stats.unanswered } : {}),
    ...(stats.unverified ? { unverified_requests: stats.unverified } : {}),
  };
}

function describeCalls(stats: CallStats): Partial<SessionDescription> {
  const last = stats.last;
  return {
    ...callCounts(stats),
    ...(last
      ? {
        last_call: {
          time: last.time.toISOString(),
          service: last.service,
          action: last.action,
          ...(last.resource === undefined ? {} : { resource: last.resource }),
          ...(last.source === undefined ? {} : { source: last.source }),
          status: last.status,
          refused: isRefused(last),
          ...(last.refusalReason === undefined ? {} : { refusal_reason: last.refusalReason }),
          ...(last.unanswered === undefined ? {} : { outcome_reason: last.unanswered }),
        },
      }
      : {}),
  };
}

/**
 * The error a tool throws for the SDK to turn into an `isError` result: a {@linkcode UserError}'s
 * message with its hint on the next line (or, when they name the human's setup, the words it has
 * for agents); anything else as an unexpected failure.
 */
export function toolError(error: unknown): Error {
  // The message may quote the agent's input: one bounded line each, control characters escaped.
  if (error instanceof UserError) {
    // The human's other profiles, roles and accounts stay in the server's log.
    const { message: text, hint } = error.forAgents ?? error;
    const message = messageLine(text, 1000);
    return new Error(hint ? `${message}\nhint: ${messageLine(hint, 1000)}` : message);
  }
  const text = error instanceof Error ? error.message : String(error);
  return new Error(`Unexpected failure: ${logText(text.split("\n")[0], 1000)}`);
}

/** A tool result: the value as JSON text, and as structured content. */
export function jsonResult<T extends Record<string, unknown>>(
  structured: T,
  text: unknown = structured,
): { content: Array<{ type: "text"; text: string }>; structuredContent: T } {
  return {
    content: [{ type: "text", text: JSON.stringify(text, null, 2) }],
    structuredContent: structured,
  };
}
