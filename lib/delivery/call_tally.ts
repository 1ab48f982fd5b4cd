/**
 * The distinct calls a masked child made, counted: what `exec --masked --calls` shows when the
 * child ends (one line each on stderr, or JSON lines in a file) and what `--learn` learns from.
 * A call is its service, action, resource (and a copy's source) and whether it was refused, or
 * sent to AWS with no answer (its outcome unknown); the count says how often. Past {@linkcode MAX_DISTINCT_CALLS} distinct calls the record is
 * incomplete, and every report of it says so; requests that only named the stand-in key id (their
 * signature did not verify) are counted apart, never listed.
 *
 * @module
 */

import { type CallRecord, isRefused, type UnansweredReason } from "./call_record.ts";
import type { RefusalReason } from "./proxy_refusal.ts";

/** One distinct call and how often it was made. */
export interface TalliedCall {
  /** The signing name, e.g. `s3`. */
  service: string;
  /** The operation, e.g. `GetObject`. */
  action: string;
  /** The resource where the request named it. */
  resource?: string;
  /** A copy's source object (`bucket/key`), where its signed header named it. */
  source?: string;
  /** How many times. */
  count: number;
  /** Refused by AWS (401, 403, AccessDenied…) or by the proxy. */
  refused: boolean;
  /** The error code of the last refused one: AWS's, or the proxy's. */
  errorCode?: string;
  /** Whether the proxy itself refused it (it never reached AWS). */
  byProxy?: boolean;
  /** Why the proxy refused it. */
  refusalReason?: RefusalReason;
  /** Why no answer came, for a call sent to AWS whose outcome is unknown (it reached AWS). */
  unanswered?: UnansweredReason;
}

/** Distinct calls kept; past that, calls are only counted (`dropped`). */
export const MAX_DISTINCT_CALLS = 10_000;

/** What a record holds besides its calls: what it could not, or would not, list. */
export interface UnlistedCounts {
  /** Calls past {@linkcode MAX_DISTINCT_CALLS} distinct ones, counted only. */
  readonly dropped: number;
  /** Refused requests naming the stand-in key id whose signature did not verify. */
  readonly unverified?: number;
}

/** The calls of one child, counted as they come. */
export interface CallTally extends UnlistedCounts {
  /** Counts one call. */
  record(call: CallRecord): void;
  /** Counts one refused request whose signature did not verify (nothing of it is kept). */
  countUnverified(): void;
  /** The distinct calls, in the order first made. */
  calls(): TalliedCall[];
  /** Every call counted, the dropped ones included. */
  readonly total: number;
  /** Refused requests naming the stand-in key id whose signature did not verify. */
  readonly unverified: number;
}

/**
 * A new, empty tally.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCallTally } from "./call_tally.ts";
 * const tally = createCallTally();
 * const call = {
 *   time: new Date(0), service: "s3", action: "GetObject", region: "eu-west-1",
 *   resource: "b/k", status: 200, bytesIn: 0, bytesOut: 5,
 * };
 * tally.record(call);
 * tally.record(call);
 * assert.equal(tally.calls()[0].count, 2);
 * ```
 */
export function createCallTally(): CallTally {
  const byKey = new Map<string, TalliedCall>();
  let total = 0;
  let dropped = 0;
  let unverified = 0;
  return {
    record(call) {
      total++;
      const refused = isRefused(call);
      // A call the proxy refused is not the same call as one AWS answered, nor as one the proxy
      // refused for another reason: each gets its line.
      const key = JSON.stringify([
        call.service,
        call.action,
        call.resource ?? null,
        call.source ?? null,
        refused,
        call.refused !== undefined,
        call.refusalReason ?? null,
        call.unanswered ?? null,
      ]);
      let entry = byKey.get(key);
      if (entry === undefined) {
        if (byKey.size >= MAX_DISTINCT_CALLS) {
          dropped++;
          return;
        }
        entry = {
          service: call.service,
          action: call.action,
          ...(call.resource === undefined ? {} : { resource: call.resource }),
          ...(call.source === undefined ? {} : { source: call.source }),
          count: 0,
          refused,
          ...(call.refused === undefined ? {} : { byProxy: true }),
          ...(call.refusalReason === undefined ? {} : { refusalReason: call.refusalReason }),
          ...(call.unanswered === undefined ? {} : { unanswered: call.unanswered }),
        };
        byKey.set(key, entry);
      }
      entry.count++;
      const code = call.refused ?? call.errorCode;
      if (refused && code !== undefined) entry.errorCode = code;
    },
    countUnverified() {
      unverified++;
    },
    calls: () => [...byKey.values()].map((entry) => ({ ...entry })),
    get total() {
      return total;
    },
    get dropped() {
      return dropped;
    },
    get unverified() {
      return unverified;
    },
  };
}

/**
 * The calls as `--calls` shows them on stderr: a heading, then one line each — service,
 * action, resource (`-` when none), count, `from SOURCE` for a copy whose source is known,
 * `refused (CODE)` for a refused one, followed by `: REASON` when the proxy refused it, and
 * `outcome unknown: REASON` for one sent to AWS that got no answer — and last
 * {@linkcode unlistedLines}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderCallLines } from "./call_tally.ts";
 * const call = { service: "s3", action: "GetObject", resource: "b/k", count: 2, refused: false };
 * assert.equal(
 *   renderCallLines([call], { dropped: 0 }),
 *   "calls: 2 (1 distinct)\n  s3 GetObject b/k 2\n",
 * );
 * ```
 */
export function renderCallLines(calls: readonly TalliedCall[], counts: UnlistedCounts): string {
  const total = calls.reduce((sum, call) => sum + call.count, 0) + counts.dropped;
  const lines = calls.map((call) =>
    `  ${call.service} ${call.action} ${resourceWord(call.resource)} ${call.count}` +
    (call.source === undefined ? "" : ` from ${resourceWord(call.source)}`) +
    (call.refused ? ` refused${call.errorCode ? ` (${call.errorCode})` : ""}` : "") +
    (call.refusalReason ? `: ${call.refusalReason}` : "") +
    (call.unanswered ? ` outcome unknown: ${call.unanswered}` : "")
  );
  return `calls: ${total} (${calls.length} distinct)\n` +
    [...lines, ...unlistedLines(counts)].map((l) => `${l}\n`).join("");
}

/**
 * What the record leaves out, one indented line each, as `--calls` ends with them (on stderr,
 * after the list or after `written to FILE`): the calls past {@linkcode MAX_DISTINCT_CALLS}
 * distinct ones, which make the record incomplete, and the refused requests that named the
 * stand-in key id without a signature verified with its secret, counted and never listed (anyone
 * who saw the key id, in a debug log say, can send one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unlistedLines } from "./call_tally.ts";
 * assert.deepEqual(unlistedLines({ dropped: 2, unverified: 1 }), [
 *   "  (incomplete: 2 calls not recorded after 10,000 distinct ones)",
 *   "  (1 request not verified as signed with the stand-in key was refused, not listed)",
 * ]);
 * ```
 */
export function unlistedLines(counts: UnlistedCounts): string[] {
  const lines: string[] = [];
  if (counts.dropped) lines.push(`  (${incompleteText(counts.dropped)})`);
  const unverified = counts.unverified ?? 0;
  if (unverified) {
    lines.push(
      `  (${unverified} request${unverified === 1 ? "" : "s"} not verified as signed with the ` +
        `stand-in key ${unverified === 1 ? "was" : "were"} refused, not listed)`,
    );
  }
  return lines;
}

/**
 * Why a record is incomplete: `incomplete: N calls not recorded after 10,000 distinct ones`, as
 * `--calls` and `--learn` say it.
 */
export function incompleteText(dropped: number): string {
  return `incomplete: ${dropped} call${dropped === 1 ? "" : "s"} not recorded after ` +
    `${MAX_DISTINCT_CALLS.toLocaleString("en-US")} distinct ones`;
}

/**
 * A resource as one word: as it is, or JSON-quoted when it has spaces or quotes, so that a name
 * (a key the client chose) cannot read as more of the line (` from other/key`, ` 200`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resourceWord } from "./call_tally.ts";
 * assert.equal(resourceWord("b/k"), "b/k");
 * assert.equal(resourceWord("b/k from b/secret"), '"b/k from b/secret"');
 * ```
 */
export function resourceWord(resource: string | undefined): string {
  if (resource === undefined || resource === "") return "-";
  return /^[^\s"']+$/.test(resource) ? resource : JSON.stringify(resource);
}

/**
 * The calls as `--calls=FILE` writes them: one JSON object a line (`"outcome":"unknown"` with
 * `outcome_reason` for a call sent to AWS that got no answer), then, when the record leaves
 * something out, one last line without `service`: `"incomplete": true` with `calls_not_recorded`
 * (past {@linkcode MAX_DISTINCT_CALLS} distinct calls) and `distinct_calls_kept`, and
 * `unverified_requests_refused` (requests that named the stand-in key id without a signature
 * verified with its secret).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderCallJson } from "./call_tally.ts";
 * assert.equal(
 *   renderCallJson([], { dropped: 0, unverified: 3 }),
 *   '{"unverified_requests_refused":3}\n',
 * );
 * ```
 */
export function renderCallJson(
  calls: readonly TalliedCall[],
  counts: UnlistedCounts = { dropped: 0 },
): string {
  const unverified = counts.unverified ?? 0;
  const trailer = counts.dropped || unverified
    ? `${
      JSON.stringify({
        ...(counts.dropped
          ? {
            incomplete: true,
            calls_not_recorded: counts.dropped,
            distinct_calls_kept: MAX_DISTINCT_CALLS,
          }
          : {}),
        ...(unverified ? { unverified_requests_refused: unverified } : {}),
      })
    }\n`
    : "";
  return calls.map((call) =>
    `${
      JSON.stringify({
        service: call.service,
        action: call.action,
        ...(call.resource === undefined ? {} : { resource: call.resource }),
        ...(call.source === undefined ? {} : { source: call.source }),
        count: call.count,
        refused: call.refused,
        ...(call.errorCode === undefined ? {} : { error_code: call.errorCode }),
        ...(call.byProxy ? { refused_by: "proxy" } : {}),
        ...(call.refusalReason ? { refusal_reason: call.refusalReason } : {}),
        ...(call.unanswered ? { outcome: "unknown", outcome_reason: call.unanswered } : {}),
      })
    }\n`
  ).join("") + trailer;
}
