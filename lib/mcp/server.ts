/**
 * The timebound-iam MCP server: a factory that wires the tools to their dependencies. It knows
 * nothing of stdio or the command line; `serve` connects it to a transport, tests to an
 * in-memory one.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport";
import { oneHandshake } from "./one_handshake.ts";
import type { AuditLog } from "./audit_log.ts";
import type { Grant } from "../aws/broker.ts";
import type { PoolGrantRequest } from "../grant/granters.ts";
import type { Catalog } from "../request/catalog.ts";
import type { ArnTarget } from "../request/resource.ts";
import type { AskMfaCode } from "../aws/base_credentials.ts";
import type { EnvFileDirectory } from "../delivery/env_files.ts";
import { formatScopes } from "../request/scope.ts";
import { createSessionStore, type SessionStore } from "./session_store.ts";
import { formatTtl } from "../request/ttl.ts";
import { DEFAULT_TTL_SECONDS } from "../request/grant_request.ts";
import { VERSION } from "../core/version.ts";
import type { ServerOptions, ToolContext } from "./context.ts";
import type { Masking } from "./masking.ts";
import { GRANT_CALLS_PER_MINUTE, registerGrantAccess } from "./tools/grant_access.ts";
import { registerListActiveSessions } from "./tools/list_active_sessions.ts";
import { registerListServices } from "./tools/list_services.ts";
import { registerRevokeSession } from "./tools/revoke_session.ts";

export type { ServerOptions } from "./context.ts";

/** What the server needs from the outside world. */
export interface ServerDeps {
  /** The service catalog. */
  catalog: Catalog;
  /** Assumes the broker role: `serve`'s granters, a fake in tests. */
  grant: (request: PoolGrantRequest) => Promise<Grant>;
  /**
   * The account, region and partition where bare resource names of a profile's grants expand:
   * `serve`'s granters, a fake in tests.
   */
  identify: (profile?: string, askMfaCode?: AskMfaCode) => Promise<ArnTarget>;
  /** The clock (expiry, `ttl_remaining`). */
  now: () => Date;
  /** This server's private env file directory; the server removes it on close. */
  envFiles: EnvFileDirectory;
  /** The audit log. */
  audit: AuditLog;
  /** The guardrails the human set. */
  options: ServerOptions;
  /** Writes one line to the log (stderr); nothing by default. */
  log?: (line: string) => void;
  /** How often expired sessions are swept, in milliseconds (default 15 s). */
  sweepIntervalMs?: number;
  /**
   * The signing proxy of `serve --masked`: every grant's file then holds stand-in keys. The
   * server closes it on close.
   */
  masking?: Masking;
}

/** A server and what it owns. */
export interface TimeboundServer {
  /** The MCP server (connect it through {@linkcode TimeboundServer.connect}). */
  mcp: McpServer;
  /** Connects the server to a transport, which may carry one handshake only. */
  connect(transport: Transport): Promise<void>;
  /** The live sessions. */
  sessions: SessionStore;
  /** Closes the transport, forgets every session and removes the env file directory. */
  close(): Promise<void>;
}

/**
 * Creates the MCP server with its four tools: `grant_access`, `list_active_sessions`,
 * `list_services` and `revoke_session`.
 */
export function createServer(deps: ServerDeps): TimeboundServer {
  const log = deps.log ?? (() => {});
  const mcp = new McpServer(
    { name: "timebound-iam", title: "timebound-iam", version: VERSION },
    { instructions: instructions(deps.options, { masked: deps.masking !== undefined }) },
  );
  const sessions = createSessionStore(deps.envFiles, {
    now: deps.now,
    sweepIntervalMs: deps.sweepIntervalMs,
    onExpire(session) {
      log(`expired ${session.id}: removed ${session.file}`);
      deps.masking?.end(session.id).catch(() => {});
      deps.audit.record({
        event: "expiry",
        outcome: "expired",
        scopes: formatScopes(session.scopes),
        session_id: session.id,
        profile: session.profile,
        expires_at: session.expiresAt.toISOString(),
      }).catch(() => {});
    },
  });
  const ctx: ToolContext = {
    server: mcp,
    catalog: deps.catalog,
    grant: deps.grant,
    identify: deps.identify,
    now: deps.now,
    sessions,
    audit: deps.audit,
    options: deps.options,
    log,
    masking: deps.masking,
  };
  const grantAccess = registerGrantAccess(ctx);
  registerListActiveSessions(ctx);
  registerListServices(ctx);
  registerRevokeSession(ctx);
  let closing: Promise<void> | undefined;
  return {
    mcp,
    sessions,
    connect: (transport) => mcp.connect(oneHandshake(transport)),
    close() {
      closing ??= (async () => {
        try {
          await mcp.close();
        } finally {
          try {
            await grantAccess.close();
          } finally {
            try {
              await sessions.close();
            } finally {
              await deps.masking?.close();
            }
          }
        }
      })();
      return closing;
    },
  };
}

/** What an agent reads about the server when it connects (`masked`: under `serve --masked`). */
export function instructions(options: ServerOptions, context: { masked?: boolean } = {}): string {
  const limits = [
    `TTL: 1m to ${formatTtl(options.maxTtlSeconds)} (default ${
      formatTtl(Math.min(DEFAULT_TTL_SECONDS, options.maxTtlSeconds))
    }).`,
    options.allow
      ? `Allowed scopes: ${options.allow.text} (full on a service includes read_only, ` +
        "read_only includes list)."
      : "Any service and level may be asked for; the broker role's own policy still applies.",
    options.approve === "never"
      ? ""
      : options.approve === "full"
      ? "Grants with full access wait for the human's approval."
      : "Every grant waits for the human's approval.",
    `At most ${GRANT_CALLS_PER_MINUTE} grant_access calls a minute.`,
  ].filter(Boolean).join(" ");
  return `timebound-iam gives you short-lived AWS credentials limited to the services you name.

Use it for every AWS call; never use other credentials (~/.aws, AWS_PROFILE, environment keys).
1. Call grant_access with the services and level you need (list when names are enough,
   read_only unless you must change something) and the shortest ttl that will do, e.g.
   {"services": ["s3"], "level": "read_only", "ttl": "15m"}. For mixed levels pass scopes:
   "s3:ro,dynamodb:full,ec2:list". To stay on named resources, add them after @ in scopes
   ("s3:full@my-bucket/uploads/*", "dynamodb:ro@Orders", any ARN) or pass resources:
   {"s3": ["my-bucket"]}; list_services shows what a resource may be.
2. Run each AWS command with the credentials file it returns:
   env $(cat CREDENTIAL_FILE) aws s3 ls
   The result has the path only; never print or copy the file's contents.
3. list_active_sessions shows your sessions and their ttl_remaining; reuse one that still has
   time. When credentials expire or are refused (AccessDenied, ExpiredToken), ask for a new
   grant or tell the human; do not fall back to other credentials.
4. revoke_session deletes a session's file when you are done.${
    context.masked
      ? `
Credentials here are masked: the file holds stand-in keys and AWS_ENDPOINT_URL, a signing
proxy on this machine that logs every call for the human. Use a client that honours
AWS_ENDPOINT_URL (AWS CLI v2 >= 2.13 or v1 >= 1.29, boto3 >= 1.28, the JS SDK v3); presigned
URLs are refused; after revoke_session or the TTL the next call gets ExpiredToken.`
      : ""
  }
list_services shows the service names you can ask for (query filters them).
Limits set by the human: ${limits}`;
}
