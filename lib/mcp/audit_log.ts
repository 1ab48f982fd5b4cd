/**
 * The audit log of the MCP server: one JSON line per grant, refusal and revocation, appended to
 * a 0600 file. It records who asked (the MCP client's name and version), what (scopes, TTL),
 * the session id and the outcome; never a secret.
 *
 * @module
 */

/** One audit record, as written (plus `time`). */
export interface AuditEvent {
  /** What happened. */
  event: "grant" | "refusal" | "revocation" | "expiry";
  /** `granted`, `refused`, `declined`, `failed`, `revoked`, `expired`. */
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
  /** Why a grant was refused or failed: the message the agent got. */
  reason?: string;
}

/** Where audit events go. */
export interface AuditLog {
  /** The file's path, or `undefined` for a log kept elsewhere (tests). */
  readonly path?: string;
  /** Appends one event; `time` is added. */
  record(event: AuditEvent): Promise<void>;
  /** Closes the file. */
  close(): void;
}

/**
 * The default audit log path: `$XDG_STATE_HOME/timebound-iam/audit.jsonl`, else
 * `~/.local/state/timebound-iam/audit.jsonl`.
 *
 * @example
 * ```ts
 * import { defaultAuditLogPath } from "./audit_log.ts";
 * console.assert(defaultAuditLogPath({ HOME: "/home/me" }) ===
 *   "/home/me/.local/state/timebound-iam/audit.jsonl");
 * ```
 */
export function defaultAuditLogPath(env: Readonly<Record<string, string>>): string {
  const state = env.XDG_STATE_HOME ||
    `${env.HOME || env.USERPROFILE || "."}/.local/state`;
  return `${state}/timebound-iam/audit.jsonl`;
}

/**
 * Opens (creating it 0600, and its directory 0700, if needed) the audit log at `path` for
 * appending. Lines are written whole, with one `write` each, so concurrent grants never
 * interleave.
 */
export async function openAuditLog(
  path: string,
  options: { now?: () => Date } = {},
): Promise<AuditLog> {
  const now = options.now ?? (() => new Date());
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true, mode: 0o700 });
  const file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
  if (Deno.build.os !== "windows") await Deno.chmod(path, 0o600);
  const encoder = new TextEncoder();
  let queue = Promise.resolve();
  return {
    path,
    record(event) {
      const line = encoder.encode(`${JSON.stringify({ time: now().toISOString(), ...event })}\n`);
      const next = queue.then(async () => {
        let written = 0;
        while (written < line.length) written += await file.write(line.subarray(written));
      });
      queue = next.catch(() => {});
      return next;
    },
    close() {
      file.close();
    },
  };
}

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
      events.push({ time: now().toISOString(), ...event });
      return Promise.resolve();
    },
    close() {},
  };
}
