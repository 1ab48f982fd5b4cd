/**
 * The audit log of the MCP server: one JSON line per grant, refusal and revocation, appended to
 * a 0600 file. It records who asked (the MCP client's name and version), what (scopes, TTL),
 * the session id and the outcome; never a secret. Under `serve --masked` it also holds each
 * grant's calls (see `call_audit.ts`): service, action, resource and status, never a body.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import { logText, messageLine } from "../core/log_text.ts";
import { openPrivateDir } from "../core/private_dir.ts";

/** One audit record, as written (plus `time`). */
export interface AuditEvent {
  /** What happened. */
  event: "grant" | "refusal" | "revocation" | "expiry" | "call" | "calls";
  /**
   * `granted`, `refused`, `rate-limited`, `declined`, `failed`, `revoked`, `expired`; for a call
   * `answered`, `refused`, or `unknown` (sent to AWS, no answer came); `summarised` for the calls
   * of a minute past the per-call lines.
   */
  outcome: string;
  /** The MCP client that asked, from the handshake. */
  client?: { name?: string; version?: string };
  /** The scopes asked for, e.g. `s3:ro,dynamodb:full` (as resolved when known). */
  scopes?: string;
  /** The TTL asked for, as given, or the granted TTL. */
  ttl?: string;
  /** The session id (`timebound-iam-<uuid>`), once there is one. */
  session_id?: string;
  /** The profile of the base credentials, if one was named. */
  profile?: string;
  /** When the credentials expire. */
  expires_at?: string;
  /** The SourceIdentity the session carries in CloudTrail, if any. */
  source_identity?: string;
  /** The base credentials' own name (differs from `source_identity` under `--source-identity`). */
  caller_name?: string;
  /** Why a grant was refused or failed: the message the agent got. */
  reason?: string;
  /** How many calls one `rate-limited` line stands for; refused calls in a `calls` summary. */
  refused_calls?: number;
  /** Whether the grant's calls go through the signing proxy (stand-in keys in its file). */
  masked?: boolean;
  /** A call: when it arrived. */
  call_time?: string;
  /** A call: the service's signing name. */
  service?: string;
  /** A call: the operation. */
  action?: string;
  /** A call: the signing region. */
  region?: string;
  /** A call: the bucket/key, table, function… where the request names it. */
  resource?: string;
  /** A call: a copy's source object (`bucket/key`), where its signed header named it. */
  source?: string;
  /** A call: the HTTP status the client got. */
  status?: number;
  /** A call: refused by AWS (401/403, AccessDenied…) or by the proxy. */
  refused?: boolean;
  /** A call: AWS's error code, or the proxy's for a call it refused. */
  error_code?: string;
  /** A call the proxy refused: why, for a human (`credential-minting action refused…`). */
  refusal_reason?: string;
  /** A call sent to AWS that got no answer (`outcome` `unknown`): why none came. */
  outcome_reason?: string;
  /**
   * A masked grant's revocation: requests refused because their signature did not verify with its
   * stand-in secret (counted only, never logged one by one).
   */
  unverified_requests?: number;
  /**
   * A masked grant's counts, or a `calls` summary: the calls sent to AWS that got no answer
   * (their outcome unknown).
   */
  unanswered_calls?: number;
  /** A `calls` summary: the calls the proxy refused, counted by why. */
  refusal_reasons?: Record<string, number>;
  /** A `calls` summary: when its first call came. */
  since?: string;
  /** A `calls` summary: how many calls it stands for. */
  calls?: number;
  /** A `calls` summary: the calls by `service:action`. */
  actions?: Record<string, number>;
}

/** Where audit events go. */
export interface AuditLog {
  /** The file's path, or `undefined` for a log kept elsewhere (tests). */
  readonly path?: string;
  /** Appends one event; `time` is added. */
  record(event: AuditEvent): Promise<void>;
  /** Closes the file, after the lines still being written. */
  close(): Promise<void>;
}

/**
 * The default audit log path: `$XDG_STATE_HOME/timebound-iam/audit.jsonl`, else
 * `~/.local/state/timebound-iam/audit.jsonl`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { defaultAuditLogPath } from "./audit_log.ts";
 * assert.equal(
 *   defaultAuditLogPath({ HOME: "/home/me" }),
 *   join("/home/me", ".local", "state", "timebound-iam", "audit.jsonl"),
 * );
 * ```
 */
export function defaultAuditLogPath(env: Readonly<Record<string, string>>): string {
  const state = env.XDG_STATE_HOME || join(env.HOME || env.USERPROFILE || ".", ".local", "state");
  return join(state, "timebound-iam", "audit.jsonl");
}

/**
 * Opens (creating it 0600, and its directory 0700, if needed) the audit log at `path` for
 * appending. The directory must be a private one of the user's (see
 * {@linkcode openPrivateDir}); the file is opened without following a symlink and must be a
 * regular file of the user's, so a planted symlink, FIFO or other user's file is refused with one
 * line. Lines are written whole, with one `write` each, so concurrent grants never interleave.
 */
export async function openAuditLog(
  path: string,
  options: { now?: () => Date } = {},
): Promise<AuditLog> {
  const now = options.now ?? (() => new Date());
  // `audit.jsonl` alone names a file in the working directory, whose name is ".".
  const absolute = resolve(path);
  const dir = await openPrivateDir(dirname(absolute));
  const file = await dir.openAppend(basename(absolute));
  let queue = Promise.resolve();
  return {
    path,
    record(event) {
      const line = `${JSON.stringify({ time: now().toISOString(), ...boundEvent(event) })}\n`;
      const next = queue.then(() => file.append(line));
      queue = next.catch(() => {});
      return next;
    },
    async close() {
      await queue;
      await file.close();
    },
  };
}

/**
 * The event as the log keeps it: every text field neutralised and cut (see `logText`), so a
 * client's name or an agent's argument cannot forge lines or fill the disk. `reason` is a
 * message put together here, whose quoted input is escaped already: it keeps those escapes
 * (`messageLine`), and reads as the message the client got.
 */
function boundEvent(event: AuditEvent): AuditEvent {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    const text = key === "reason" ? messageLine : logText;
    out[key] = typeof value === "string" ? text(value, AUDIT_TEXT_MAX) : value;
  }
  if (event.actions) {
    out.actions = Object.fromEntries(
      Object.entries(event.actions).map(([k, v]) => [logText(k, 100), v]),
    );
  }
  if (event.client) {
    out.client = Object.fromEntries(
      Object.entries(event.client).map(([k, v]) => [k, v === undefined ? v : logText(v, 100)]),
    );
  }
  return out as unknown as AuditEvent;
}

const AUDIT_TEXT_MAX = 500;

/**
 * An audit log kept in memory, for tests and for a server run without a file.
 */
export function memoryAuditLog(
  options: { now?: () => Date } = {},
): AuditLog & { events: Array<AuditEvent & { time: string }> } {
  const now = options.now ?? (() => new Date());
  const events: Array<AuditEvent & { time: string }> = [];
  return {
    events,
    record(event) {
      events.push({ time: now().toISOString(), ...boundEvent(event) });
      return Promise.resolve();
    },
    close() {
      return Promise.resolve();
    },
  };
}
