/**
 * The inline session policy that scopes become: `full` is `<prefix>:*`; `ro` is exactly the
 * actions AWS classifies as Read or List, `list` exactly those it classifies as List, both
 * written compactly. AWS intersects it with the broker
 * role's own policy, so a session can do nothing the role lacks and nothing outside the scopes.
 *
 * @module
 */

import { type Action, type Catalog, LIST_ACCESS_LEVELS, READ_ACCESS_LEVELS } from "./catalog.ts";
import { type DeadlineStatement, deadlineStatement, isDeadlineStatement } from "./deadline.ts";
import { UsageError } from "../core/errors.ts";
import type { Scope } from "./scope.ts";

/** AWS's limit on a session policy, in characters without whitespace. */
export const MAX_POLICY_CHARS = 2048;

/** An IAM policy document as timebound-iam writes it. */
export interface PolicyDocument {
  /** Always `2012-10-17`. */
  Version: "2012-10-17";
  /**
   * One Allow statement over every action the scopes grant and, for a grant shorter than STS's
   * 15 minutes, a Deny of everything after its deadline.
   */
  Statement: Array<AllowStatement | DeadlineStatement>;
}

/** The statement that allows what the scopes grant. */
export interface AllowStatement {
  /** Always `Allow`. */
  Effect: "Allow";
  /** The action patterns. */
  Action: string[];
  /** Every resource. */
  Resource: "*";
}

/** A session policy with what each scope contributed. */
export interface SessionPolicy {
  /** The policy document to send as AssumeRole's `Policy`. */
  document: PolicyDocument;
  /** The document as AWS measures it: JSON without whitespace. */
  packed: string;
  /** The action patterns each scope contributed, in scope order. */
  parts: Array<{ scope: Scope; actions: string[] }>;
  /** After this time the policy denies everything (grants shorter than 15 minutes). */
  deadline?: Date;
  /** The characters of the session tags, which share AWS's packed budget with the policy. */
  tagChars?: number;
}

/**
 * The compact action patterns that allow exactly the `allowed` actions of one service and none
 * of the others. A wildcard stands only for a run of whole CamelCase words (`Get*`,
 * `ListTagsFor*`) that no other action of the service starts with; every other allowed action
 * is written out. IAM matches actions case-insensitively, and so does this.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compactActions } from "./session_policy.ts";
 * const patterns = compactActions(["GetObject", "GetBucketAcl"], ["PutObject"]);
 * assert.equal(patterns.join(), "Get*");
 * ```
 */
export function compactActions(allowed: readonly string[], denied: readonly string[]): string[] {
  const deniedLower = denied.map((name) => name.toLowerCase());
  const patterns: string[] = [];
  const cover = (names: readonly string[], words: number) => {
    const groups = new Map<string, string[]>();
    for (const name of names) {
      const prefix = wordPrefix(name, words);
      const key = prefix.toLowerCase();
      groups.set(key, [...(groups.get(key) ?? []), name]);
    }
    for (const [key, group] of groups) {
      const exact = group.find((name) => name.toLowerCase() === key);
      if (exact && group.length === 1) {
        patterns.push(exact);
      } else if (!deniedLower.some((name) => name.startsWith(key))) {
        patterns.push(`${wordPrefix(group[0], words)}*`);
      } else {
        if (exact) patterns.push(exact);
        cover(group.filter((name) => name !== exact), words + 1);
      }
    }
  };
  cover([...new Set(allowed)], 1);
  return dropCovered(patterns).sort();
}

/** Drops patterns that a shorter wildcard already covers (`ListThing*` under `List*`). */
function dropCovered(patterns: readonly string[]): string[] {
  const stems = patterns.filter((p) => p.endsWith("*")).map((p) => p.slice(0, -1).toLowerCase());
  return patterns.filter((pattern) => {
    const own = pattern.toLowerCase().replace(/\*$/, "");
    return !stems.some((stem) => stem !== own && own.startsWith(stem));
  });
}

/** The first `count` CamelCase words of an action name (the whole name if it has fewer). */
function wordPrefix(name: string, count: number): string {
  const words = name.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+|[^A-Za-z0-9]+/g) ?? [name];
  return words.slice(0, count).join("");
}

/**
 * The action patterns for one scope: `<prefix>:*` for `full`; for `ro`, the compact form of the
 * service's Read and List actions; for `list`, of its List actions only.
 */
export async function scopeActions(scope: Scope, catalog: Catalog): Promise<string[]> {
  if (scope.level === "full") return [`${scope.service}:*`];
  const levels = scope.level === "list" ? LIST_ACCESS_LEVELS : READ_ACCESS_LEVELS;
  const actions = await catalog.actions(scope.service);
  const [granted, other] = partition(actions, (a) => levels.has(a.accessLevel));
  return compactActions(granted.map((a) => a.name), other.map((a) => a.name))
    .map((pattern) => `${scope.service}:${pattern}`);
}

/**
 * Builds the session policy for resolved scopes (canonical prefixes; see `resolveScopes`) and
 * checks it against AWS's 2,048-character limit before any call is made. Over the limit, the
 * error gives the size and the scopes that cost most. With a `deadline`, the policy also
 * denies everything after it (see {@linkcode withDeadline}), and that statement counts too, as
 * do the session tags' `tagChars` (AWS packs the policy and the tags together).
 */
export async function buildSessionPolicy(
  scopes: readonly Scope[],
  catalog: Catalog,
  options: { deadline?: Date; tagChars?: number } = {},
): Promise<SessionPolicy> {
  const parts = await Promise.all(
    scopes.map(async (scope) => ({ scope, actions: await scopeActions(scope, catalog) })),
  );
  const document: PolicyDocument = {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: parts.flatMap((p) => p.actions), Resource: "*" }],
  };
  const built = { document, packed: JSON.stringify(document), parts, tagChars: options.tagChars };
  const policy = options.deadline ? withDeadline(built, options.deadline) : built;
  checkPolicySize(policy);
  const empty = parts.find((part) => part.actions.length === 0);
  if (empty) {
    const { service, level } = empty.scope;
    throw new UsageError(
      `Scope "${service}:${level}" allows nothing: AWS classifies no ${service} action as ` +
        (level === "list" ? "List" : "Read or List"),
      { hint: `ask for ${service}:${level === "list" ? "ro" : "full"} instead` },
    );
  }
  return policy;
}

/**
 * The same policy with its deadline set (or moved) to `deadline`: every statement but a
 * previous deadline's, plus a Deny of everything after `deadline`. The deadline's statement has
 * the same size whatever the time, so a policy that passed the size check still does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withDeadline } from "./session_policy.ts";
 * const policy = withDeadline({
 *   document: { Version: "2012-10-17", Statement: [] }, packed: "", parts: [],
 * }, new Date("2030-01-01T00:05:00Z"));
 * assert.ok(policy.packed.includes('"aws:CurrentTime":"2030-01-01T00:05:00Z"'));
 * ```
 */
export function withDeadline(policy: SessionPolicy, deadline: Date): SessionPolicy {
  const kept = policy.document.Statement.filter((s) => !isDeadlineStatement(s));
  const document: PolicyDocument = {
    ...policy.document,
    Statement: [...kept, deadlineStatement(deadline)],
  };
  return { ...policy, document, packed: JSON.stringify(document), deadline };
}

/**
 * Throws a usage error when the policy is over AWS's limit, naming the scopes that cost most.
 */
export function checkPolicySize(policy: SessionPolicy): void {
  const size = policy.packed.length + (policy.tagChars ?? 0);
  if (size <= MAX_POLICY_CHARS) return;
  const costs = policy.parts
    .map(({ scope, actions }) => ({ scope, cost: JSON.stringify(actions).length - 1 }))
    .sort((a, b) => b.cost - a.cost);
  const heaviest = costs.slice(0, 3)
    .map(({ scope, cost }) => `${scope.service}:${scope.level} (${formatCount(cost)})`)
    .join(", ");
  throw new UsageError(
    `Session policy is ${formatCount(size)} characters, over AWS's limit of ` +
      `${formatCount(MAX_POLICY_CHARS)}: the largest scopes are ${heaviest}` +
      (policy.tagChars ? `; the session tags take ${formatCount(policy.tagChars)}` : ""),
    { hint: "ask for fewer scopes, or grant them in separate sessions" },
  );
}

function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

function partition<T>(items: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}

export type { Action };
