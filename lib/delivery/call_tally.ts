/**
 * The distinct calls a masked child made, counted: what `exec --masked --calls` shows when the
 * child ends (one line each on stderr, or JSON lines in a file) and what `--learn` learns from.
 * A call is its service, action, resource (and a copy's source) and whether it was refused; the
 * count says how often.
 *
 * @module
 */

import { type CallRecord, isRefused } from "./call_record.ts";
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
}

/** Distinct calls kept; past that, calls are only counted (`dropped`). */
export const MAX_DISTINCT_CALLS = 10_000;

/** The calls of one child, counted as they come. */
export interface CallTally {
  /** Counts one call. */
  record(call: CallRecord): void;
  /** The distinct calls, in the order first made. */
  calls(): TalliedCall[];
  /** Every call counted, the dropped ones included. */
  readonly total: number;
  /** Calls past {@linkcode MAX_DISTINCT_CALLS} distinct ones, counted only. */
  readonly dropped: number;
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
        };
        byKey.set(key, entry);
      }
      entry.count++;
      const code = call.refused ?? call.errorCode;
      if (refused && code !== undefined) entry.errorCode = code;
    },
    calls: () => [...byKey.values()].map((entry) => ({ ...entry })),
    get total() {
      return total;
    },
    get dropped() {
      return dropped;
    },
  };
}

/**
 * The calls as `--calls` shows them on stderr: a heading, then one line each — service,
 * action, resource (`-` when none), count, `from SOURCE` for a copy whose source is known, and
 * `refused (CODE)` for a refused one, followed by `: REASON` when the proxy refused it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderCallLines } from "./call_tally.ts";
 * assert.equal(
 *   renderCallLines([{ service: "s3", action: "GetObject", resource: "b/k", count: 2, refused: false }], 0),
 *   "calls: 2 (1 distinct)\n  s3 GetObject b/k 2\n",
 * );
 * ```
 */
export function renderCallLines(calls: readonly TalliedCall[], dropped: number): string {
  const total = calls.reduce((sum, call) => sum + call.count, 0) + dropped;
  const lines = calls.map((call) =>
    `  ${call.service} ${call.action} ${resourceWord(call.resource)} ${call.count}` +
    (call.source === undefined ? "" : ` from ${resourceWord(call.source)}`) +
    (call.refused ? ` refused${call.errorCode ? ` (${call.errorCode})` : ""}` : "") +
    (call.refusalReason ? `: ${call.refusalReason}` : "")
  );
  if (dropped) lines.push(`  (${dropped} more calls past ${MAX_DISTINCT_CALLS} distinct ones)`);
  return `calls: ${total} (${calls.length} distinct)\n${lines.map((l) => `${l}\n`).join("")}`;
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

/** The calls as `--calls=FILE` writes them: one JSON object a line. */
export function renderCallJson(calls: readonly TalliedCall[]): string {
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
      })
    }\n`
  ).join("");
}
