/**
 * The calls of masked grants in the audit log: one line per call, so the human sees what an agent
 * does as it does it, but at most {@linkcode CALL_LINES_PER_MINUTE} a minute per grant; the calls
 * past that are counted, and one summary line per grant and minute gives their number, how many
 * were refused and the commonest actions. An agent that floods the proxy cannot flood the disk,
 * and no call is lost from the counts. A refused request that named the grant's stand-in key id
 * without a signature verified with its secret is no call: it is only counted
 * (`unverified`), never logged with what it asked for.
 *
 * @module
 */

import { type CallRecord, isRefused } from "../delivery/call_record.ts";
import { resourceWord } from "../delivery/call_tally.ts";
import type { RefusalReason } from "../delivery/proxy_refusal.ts";
import type { AuditEvent, AuditLog } from "./audit_log.ts";

/** Call lines per grant in one minute; the rest go into that minute's summary line. */
export const CALL_LINES_PER_MINUTE = 60;
/** Actions a summary line names by count; the others are added up under `other`. */
const SUMMARY_ACTIONS = 20;
const WINDOW_MS = 60_000;

/** A grant's calls so far, as `list_active_sessions` shows them. */
export interface CallStats {
  /** Every call the proxy answered for the grant, refused ones included. */
  calls: number;
  /** Those refused: by AWS (401/403) or by the proxy itself. */
  refused: number;
  /** Those the proxy itself refused, counted by why. */
  refusalReasons: Partial<Record<RefusalReason, number>>;
  /** Those sent to AWS that got no answer: their outcome is unknown (never refused). */
  unanswered: number;
  /** The latest call. */
  last?: CallRecord;
  /** Refused requests naming the grant's stand-in key id whose signature did not verify. */
  unverified: number;
}

/** One grant's call log. */
export interface GrantCallAudit {
  /** Records one call (never throws; the line is written in the background). */
  record(call: CallRecord): void;
  /** Counts one refused request whose signature did not verify: no line, nothing of it kept. */
  countUnverified(): void;
  /** The counts so far. */
  stats(): CallStats;
  /** Writes the pending summary, if any, and stops the timer. */
  flush(): Promise<void>;
}

/** `s3:GetObject`: a call's service and action, as summaries count them. */
function actionKey(call: CallRecord): string {
  return `${call.service}:${call.action}`;
}

/**
 * A call log for the grant `sessionId`, written to `audit` (and one short line each to `log`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { memoryAuditLog } from "./audit_log.ts";
 * import { createGrantCallAudit } from "./call_audit.ts";
 * const audit = memoryAuditLog();
 * const calls = createGrantCallAudit("timebound-iam-1", { audit, now: () => new Date(0) });
 * calls.record({
 *   time: new Date(0), service: "s3", action: "GetObject", region: "eu-west-1",
 *   resource: "b/k", status: 403, bytesIn: 0, bytesOut: 0,
 * });
 * await calls.flush();
 * assert.equal(audit.events[0].refused, true);
 * assert.equal(calls.stats().refused, 1);
 * ```
 */
export function createGrantCallAudit(
  sessionId: string,
  options: { audit: AuditLog; now: () => Date; log?: (line: string) => void },
): GrantCallAudit {
  const { audit } = options;
  const stats: CallStats = {
    calls: 0,
    refused: 0,
    refusalReasons: {},
    unanswered: 0,
    unverified: 0,
  };
  let windowStart = -Infinity;
  let lines = 0;
  let over: Overflow | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending = Promise.resolve();
  const write = (event: AuditEvent) => {
    pending = pending.then(() => audit.record(event)).catch((error) =>
      options.log?.(`cannot write a call to the audit log: ${(error as Error).message}`)
    );
  };
  const summarise = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (over === null) return;
    const sorted = [...over.actions].sort((a, b) => b[1] - a[1]);
    const named = Object.fromEntries(sorted.slice(0, SUMMARY_ACTIONS));
    const rest = sorted.slice(SUMMARY_ACTIONS).reduce((sum, [, n]) => sum + n, 0);
    write({
      event: "calls",
      outcome: "summarised",
      session_id: sessionId,
      since: over.since.toISOString(),
      calls: over.count,
      refused_calls: over.refused,
      ...(over.unanswered ? { unanswered_calls: over.unanswered } : {}),
      ...(Object.keys(over.reasons).length ? { refusal_reasons: over.reasons } : {}),
      actions: rest ? { ...named, other: rest } : named,
      reason: `${over.count} more call${over.count === 1 ? "" : "s"} than the ` +
        `${CALL_LINES_PER_MINUTE} a minute logged one by one`,
    });
    options.log?.(
      `${sessionId}: ${over.count} more calls (${over.refused} refused) since ` +
        `${over.since.toISOString()}, summarised`,
    );
    over = null;
  };
  return {
    record(call) {
      const refused = isRefused(call);
      stats.calls++;
      if (refused) stats.refused++;
      if (call.unanswered) stats.unanswered++;
      count(stats.refusalReasons, call.refusalReason);
      stats.last = call;
      const now = options.now().getTime();
      if (now - windowStart >= WINDOW_MS) {
        summarise();
        windowStart = now;
        lines = 0;
      }
      if (lines < CALL_LINES_PER_MINUTE) {
        lines++;
        write(callEvent(sessionId, call, refused));
        options.log?.(callLine(sessionId, call, refused));
        return;
      }
      over ??= { ...noOverflow(), since: call.time };
      over.count++;
      if (refused) over.refused++;
      if (call.unanswered) over.unanswered++;
      count(over.reasons, call.refusalReason);
      const key = actionKey(call);
      // Bounded: a flood of made-up action names counts under the ones already seen, or other.
      if (over.actions.has(key) || over.actions.size < 200) {
        over.actions.set(key, (over.actions.get(key) ?? 0) + 1);
      } else over.actions.set("other", (over.actions.get("other") ?? 0) + 1);
      if (timer === undefined) {
        const started = setTimeout(summarise, Math.max(0, windowStart + WINDOW_MS - now));
        Deno.unrefTimer(started);
        timer = started;
      }
    },
    countUnverified() {
      stats.unverified++;
    },
    stats: () => ({ ...stats, refusalReasons: { ...stats.refusalReasons } }),
    async flush() {
      summarise();
      await pending;
    },
  };
}

/** The calls of a minute past its per-call lines, counted for its summary line. */
interface Overflow {
  count: number;
  refused: number;
  /** Those sent to AWS that got no answer. */
  unanswered: number;
  since: Date;
  actions: Map<string, number>;
  reasons: Partial<Record<RefusalReason, number>>;
}

/** An {@linkcode Overflow} of no calls yet (its `since` to be set). */
function noOverflow(): Omit<Overflow, "since"> {
  return { count: 0, refused: 0, unanswered: 0, actions: new Map(), reasons: {} };
}

/** Counts one more call refused for `reason` (a closed set: the record stays small). */
function count(counts: Partial<Record<RefusalReason, number>>, reason?: RefusalReason): void {
  if (reason !== undefined) counts[reason] = (counts[reason] ?? 0) + 1;
}

function callEvent(sessionId: string, call: CallRecord, refused: boolean): AuditEvent {
  return {
    event: "call",
    // Sent to AWS with no answer: it reached AWS, and what AWS did is unknown.
    outcome: call.unanswered ? "unknown" : refused ? "refused" : "answered",
    session_id: sessionId,
    call_time: call.time.toISOString(),
    service: call.service,
    action: call.action,
    region: call.region,
    ...(call.resource === undefined ? {} : { resource: call.resource }),
    ...(call.source === undefined ? {} : { source: call.source }),
    status: call.status,
    refused,
    ...(call.errorCode ?? call.refused ? { error_code: call.errorCode ?? call.refused } : {}),
    ...(call.refused === undefined ? {} : { reason: `refused by the proxy: ${call.refused}` }),
    ...(call.refusalReason === undefined ? {} : { refusal_reason: call.refusalReason }),
    ...(call.unanswered === undefined ? {} : { outcome_reason: call.unanswered }),
  };
}

/**
 * The call as the server's log (stderr) shows it: one line, each name one word (quoted when it
 * has spaces, as `--calls` shows it), so that an agent's key cannot forge a source or a status.
 */
function callLine(sessionId: string, call: CallRecord, refused: boolean): string {
  return `${sessionId}: ${call.service}:${call.action}` +
    (call.resource === undefined ? "" : ` ${resourceWord(call.resource)}`) +
    (call.source === undefined ? "" : ` from ${resourceWord(call.source)}`) +
    ` ${call.status}${refused ? ` refused${call.refused ? ` (${call.refused})` : ""}` : ""}` +
    (call.refusalReason ? `: ${call.refusalReason}` : "") +
    (call.unanswered ? ` outcome unknown: ${call.unanswered}` : "");
}
