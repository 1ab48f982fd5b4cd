/**
 * The inline session policy that scopes become: `full` is `<prefix>:*`; `ro` is exactly the
 * actions AWS classifies as Read or List, `list` those it classifies as List but for the
 * reviewed actions that return contents (`content_actions.ts`), both written compactly. AWS
 * intersects it with the broker
 * role's own policy, so a session can do nothing the role lacks and nothing outside the scopes.
 *
 * @module
 */

import { type Action, type Catalog, LIST_ACCESS_LEVELS, READ_ACCESS_LEVELS } from "./catalog.ts";
import { type ConditionalRead, conditionalReadsOf, contentActionNames } from "./content_actions.ts";
import { type DeadlineStatement, deadlineStatement, isDeadlineStatement } from "./deadline.ts";
import { UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import { ANY_TARGET, type ArnTarget, expandResource, type NamedResource } from "./resource.ts";
import { formatScopes, type Level, type Scope } from "./scope.ts";

/** AWS's limit on a session policy, in characters without whitespace. */
export const MAX_POLICY_CHARS = 2048;

/** An IAM policy document as timebound-iam writes it. */
export interface PolicyDocument {
  /** Always `2012-10-17`. */
  Version: "2012-10-17";
  /**
   * First an Allow of the actions on every resource (when there are any), then one Allow per
   * scope that names resources, limited to their ARNs, and, for a grant shorter than STS's 15
   * minutes, a Deny of everything after its deadline.
   */
  Statement: Array<AllowStatement | DenyStatement | DeadlineStatement>;
}

/**
 * A statement that denies by name the actions that return contents, where a `list` scope's
 * wildcards cover them (`ec2:Describe*` and `ec2:DescribeInstanceAttribute`).
 */
export interface DenyStatement {
  /** Always `Deny`. */
  Effect: "Deny";
  /** The actions, `prefix:Name`. */
  Action: string[];
  /** Always `*`. */
  Resource: "*";
}

/** A statement that allows what scopes grant. */
export interface AllowStatement {
  /** Always `Allow`. */
  Effect: "Allow";
  /** The action patterns. */
  Action: string[];
  /** `*` (every resource) or the ARN patterns the actions are limited to. */
  Resource: "*" | string[];
  /**
   * For listing an S3 path: the key patterns `s3:ListBucket` may ask for; for a conditional read
   * (`content_actions.ts`): the condition under which the action only reads.
   */
  Condition?:
    | { StringLike: { "s3:prefix": string[] } }
    | { StringEquals: Record<string, string> };
}

/** A statement that allows a Write action only under the condition where it reads. */
export interface ConditionalReadStatement extends AllowStatement {
  /** The condition, e.g. `s3express:SessionMode` `ReadOnly`. */
  Condition: { StringEquals: Record<string, string> };
}

/** What one scope contributed to a session policy. */
export interface PolicyPart {
  /** The scope. */
  scope: Scope;
  /** Its action patterns: on every resource, or only on `resources` when it names some. */
  actions: string[];
  /** For a scope that names resources: each one, expanded to ARNs. */
  resources?: NamedResource[];
  /**
   * For a scope that names resources at the `list` or `ro` level: the level's actions that name
   * no resource at all (`s3:ListAllMyBuckets`), kept on every resource so everyday tools work
   * (none, or only the `list` ones, when {@linkcode PolicyOptions.accountWide} says so).
   */
  accountWide?: string[];
  /** For a scope that names resources: how many of the level's actions can act on them. */
  actionsOnResources?: number;
  /**
   * The actions of the scope's level that the policy leaves out because they return contents
   * or act (`content_actions.ts`): in `list` everywhere, and account-wide for a scope that names
   * resources; `prefix:Name`, sorted. Absent when there are none.
   */
  withheld?: string[];
  /**
   * For an `ro` scope: the Write actions that only read under a condition, each allowed under
   * it (`content_actions.ts`: `s3express:CreateSession` for ReadOnly sessions), on the scope's
   * resources or on every resource. Absent when the service has none.
   */
  conditionalReads?: ConditionalReadStatement[];
  /**
   * The withheld actions that the policy denies by name, because its wildcards for this scope
   * cover them: for a `list` scope on every resource, the only scope of its service, when
   * that is shorter than writing the other actions out.
   */
  denied?: string[];
}

/** A session policy with what each scope contributed. */
export interface SessionPolicy {
  /** The policy document to send as AssumeRole's `Policy`. */
  document: PolicyDocument;
  /** The document as AWS measures it: JSON without whitespace. */
  packed: string;
  /** What each scope contributed, in scope order. */
  parts: PolicyPart[];
  /** After this time the policy denies everything (grants shorter than 15 minutes). */
  deadline?: Date;
  /** The characters of the session tags, which share AWS's packed budget with the policy. */
  tagChars?: number;
}

/** Options for {@linkcode buildSessionPolicy}. */
export interface PolicyOptions {
  /** A time after which the policy denies everything (see {@linkcode withDeadline}). */
  deadline?: Date;
  /** The characters of the session tags, which count against AWS's packed budget too. */
  tagChars?: number;
  /**
   * The account, region and partition that bare resource names expand into; `*` for the
   * account and region when omitted.
   */
  target?: ArnTarget;
  /**
   * For each service, the widest level whose account-wide actions a scope that names resources
   * may keep (the allow list's, under `serve --allow`; see `accountWideLevel`): a scope keeps
   * those of the narrower of its level and this one, and none when this is `undefined`. Every
   * level when omitted.
   */
  accountWide?: (service: string) => Level | undefined;
  /**
   * The packed size the policy must stay within, and what the error calls it: AWS's 2,048
   * characters for a session policy unless given (a role's inline policies hold 10,240).
   */
  limit?: PolicyLimit;
}

/** A limit on a policy's packed size, and the policy's name in the error. */
export interface PolicyLimit {
  /** The most characters without whitespace. */
  chars: number;
  /** `Session policy`, `Role policy`. */
  name: string;
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
  // Each name is split into its words once, and the denied names are sorted, so that "does a
  // denied name start with this prefix" is a binary search: a grant's start pays for this.
  const deniedLower = denied.map((name) => name.toLowerCase()).sort();
  const wordsOf = new Map([...new Set(allowed)].map((name) => [name, camelWords(name)]));
  const prefixOf = (name: string, count: number) => wordsOf.get(name)!.slice(0, count).join("");
  const patterns: string[] = [];
  const cover = (names: readonly string[], words: number) => {
    const groups = new Map<string, string[]>();
    for (const name of names) {
      const key = prefixOf(name, words).toLowerCase();
      const group = groups.get(key);
      if (group) group.push(name);
      else groups.set(key, [name]);
    }
    for (const [key, group] of groups) {
      const exact = group.find((name) => name.toLowerCase() === key);
      if (exact && group.length === 1) {
        patterns.push(exact);
      } else if (!startsAny(deniedLower, key)) {
        patterns.push(`${prefixOf(group[0], words)}*`);
      } else {
        if (exact) patterns.push(exact);
        cover(group.filter((name) => name !== exact), words + 1);
      }
    }
  };
  cover([...wordsOf.keys()], 1);
  return dropCovered(patterns).sort();
}

/** Whether a name of `sorted` (in code-unit order) starts with `prefix`. */
function startsAny(sorted: readonly string[], prefix: string): boolean {
  // The names that start with the prefix come right after where the prefix would be inserted.
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] < prefix) low = middle + 1;
    else high = middle;
  }
  return low < sorted.length && sorted[low].startsWith(prefix);
}

/** Drops patterns that a shorter wildcard already covers (`ListThing*` under `List*`). */
function dropCovered(patterns: readonly string[]): string[] {
  const stems = patterns.filter((p) => p.endsWith("*")).map((p) => p.slice(0, -1).toLowerCase());
  return patterns.filter((pattern) => {
    const own = pattern.toLowerCase().replace(/\*$/, "");
    return !stems.some((stem) => stem !== own && own.startsWith(stem));
  });
}

/** The CamelCase words of an action name; joined, they are the whole name. */
function camelWords(name: string): string[] {
  // Every character is in one of the three kinds of word, so the words make up the whole name.
  return name.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+|[^A-Za-z0-9]+/g) ?? [];
}

/**
 * The action patterns for one scope: `<prefix>:*` for `full`; for `ro`, the compact form of the
 * service's Read and List actions; for `list`, of its List actions but those that return
 * contents (`content_actions.ts`), which no wildcard covers.
 */
export async function scopeActions(scope: Scope, catalog: Catalog): Promise<string[]> {
  const { level } = scope;
  if (level === "full") return [`${scope.service}:*`];
  const actions = await catalog.actions(scope.service);
  const content = contentActionNames(scope.service);
  const [granted, other] = partition(
    actions,
    (a) => inLevel(a, level) && !(level === "list" && content.has(a.name.toLowerCase())),
  );
  return prefixed(
    scope.service,
    compactActions(granted.map((a) => a.name), other.map((a) => a.name)),
  );
}

/**
 * Builds the session policy for resolved scopes (canonical prefixes; see `resolveScopes`) and
 * checks it against AWS's 2,048-character limit before any call is made. Over the limit, the
 * error gives the size and the scopes that cost most. A scope that names resources allows its
 * level's actions on their ARNs only; at the `list` and `ro` levels it also keeps, on every
 * resource, the level's actions that name no resource at all (within `accountWide`). With a
 * `deadline`, the policy also denies everything after it (see {@linkcode withDeadline}), and that
 * statement counts too, as do the session tags' `tagChars` (AWS packs the policy and the tags
 * together).
 */
export async function buildSessionPolicy(
  scopes: readonly Scope[],
  catalog: Catalog,
  options: PolicyOptions = {},
): Promise<SessionPolicy> {
  const target = options.target ?? ANY_TARGET;
  const parts = await Promise.all(
    scopes.map((scope) =>
      policyPart(scope, catalog, {
        target,
        accountWide: options.accountWide,
        sole: scopes.filter((other) => other.service === scope.service).length === 1,
      })
    ),
  );
  const denied = [...new Set(parts.flatMap((part) => part.denied ?? []))];
  const everywhere = [
    ...new Set(parts.flatMap((part) => part.resources ? part.accountWide ?? [] : part.actions)),
  ];
  const statements: AllowStatement[] = [
    ...(everywhere.length ? [allow(everywhere, "*")] : []),
    ...parts.flatMap(({ actions, resources, conditionalReads }) => [
      ...resources
        ? [
          allow(actions, [...new Set(resources.flatMap((r) => r.arns))]),
          ...pathListings(resources),
        ]
        : [],
      ...conditionalReads ?? [],
    ]),
  ];
  const document: PolicyDocument = {
    Version: "2012-10-17",
    Statement: denied.length
      ? [...statements, { Effect: "Deny", Action: denied, Resource: "*" }]
      : statements,
  };
  const built = { document, packed: JSON.stringify(document), parts, tagChars: options.tagChars };
  const policy = options.deadline ? withDeadline(built, options.deadline) : built;
  checkPolicySize(policy, options.limit);
  for (const part of parts) checkNotEmpty(part);
  return policy;
}

/** How {@linkcode policyPart} builds one scope's part. */
interface PartOptions {
  target: ArnTarget;
  accountWide?: (service: string) => Level | undefined;
  /** Whether the scope is the only one of its service (a Deny by name then hits no other). */
  sole: boolean;
}

async function policyPart(
  scope: Scope,
  catalog: Catalog,
  { target, accountWide: accountWideLevel, sole }: PartOptions,
): Promise<PolicyPart> {
  const actions = await scopeActions(scope, catalog);
  const all = await catalog.actions(scope.service);
  const content = contentActionNames(scope.service);
  const isContent = (a: Action) => content.has(a.name.toLowerCase());
  const { level } = scope;
  const reads = level === "ro" ? conditionalReadsOf(scope.service) : [];
  if (!scope.resources) {
    const withheld = all.filter((a) => level === "list" && isContent(a) && inLevel(a, level));
    const part = {
      scope,
      actions,
      ...withheldOf(scope, withheld),
      ...conditionalReadsOn(reads, "*"),
    };
    return sole && part.withheld ? shorterWithDeny(part, all) : part;
  }
  const types = await catalog.resourceTypes(scope.service);
  const resources = scope.resources.map((r) => expandResource(scope.service, r, types, target));
  const named = new Set(resources.flatMap((r) => r.types));
  const readNames = new Set(reads.map((r) => r.action.split(":")[1].toLowerCase()));
  const inScope = all.filter((a) =>
    level === "full" || (inLevel(a, level) && !(level === "list" && isContent(a))) ||
    readNames.has(a.name.toLowerCase())
  );
  const actionsOnResources = inScope.filter((a) => a.resourceTypes?.some((t) => named.has(t)))
    .length;
  if (level === "full") return { scope, actions, resources, actionsOnResources };
  // The account-wide actions of the narrower of the scope's level (`list` or `ro` here) and the
  // caller's limit, or none; never those that return contents or act.
  const limit = accountWideLevel ? accountWideLevel(scope.service) : level;
  const wide = limit === "list" ? "list" : limit && level;
  const [accountWide, other] = partition(
    all,
    (a) => wide !== undefined && inLevel(a, wide) && !a.resourceTypes?.length && !isContent(a),
  );
  const withheld = all.filter((a) =>
    isContent(a) && inLevel(a, level) && (level === "list" || !a.resourceTypes?.length)
  );
  return {
    scope,
    actions,
    resources,
    accountWide: prefixed(
      scope.service,
      compactActions(accountWide.map((a) => a.name), other.map((a) => a.name)),
    ),
    actionsOnResources,
    ...withheldOf(scope, withheld),
    ...conditionalReadsOn(reads, [...new Set(resources.flatMap((r) => r.arns))]),
  };
}

/** The `conditionalReads` field of a part: each read under its condition; nothing when none. */
function conditionalReadsOn(
  reads: readonly ConditionalRead[],
  resource: "*" | string[],
): { conditionalReads?: ConditionalReadStatement[] } {
  if (!reads.length) return {};
  return {
    conditionalReads: reads.map(({ action, condition }) => ({
      ...allow([action], resource),
      Condition: condition,
    })),
  };
}

/**
 * One line that says which actions a scope's policy leaves out because they return contents or
 * act (see {@linkcode PolicyPart.withheld}), or `undefined` when it leaves none out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withheldNote } from "./session_policy.ts";
 * const scope = { service: "lambda", level: "list" as const };
 * assert.equal(
 *   withheldNote({ scope, actions: [], withheld: ["lambda:ListFunctions"] }),
 *   "lambda:list leaves out lambda:ListFunctions (returns contents or acts)",
 * );
 * ```
 */
export function withheldNote(part: PolicyPart): string | undefined {
  const withheld = part.withheld ?? [];
  if (!withheld.length) return undefined;
  const where = part.resources && part.scope.level !== "list" ? " account-wide" : "";
  return `${formatScopes([part.scope])} leaves out${where} ${withheld.join(", ")} (${
    withheld.length === 1 ? "returns contents or acts" : "they return contents or act"
  })`;
}

/**
 * A `list` part written with the level's wildcards and a Deny of its withheld actions by name,
 * when that is shorter than the actions written out around them (`ec2:list`'s `Describe*`
 * would otherwise be spelled out in full, past AWS's limit).
 */
function shorterWithDeny(part: PolicyPart, all: readonly Action[]): PolicyPart {
  const level = part.scope.level as Exclude<Level, "full">;
  const [granted, other] = partition(all, (a) => inLevel(a, level));
  const wide = prefixed(
    part.scope.service,
    compactActions(granted.map((a) => a.name), other.map((a) => a.name)),
  );
  const denied = part.withheld ?? [];
  // The Deny statement's own keys cost about as much as the quotes and commas counted here.
  const withDeny = JSON.stringify(wide).length + JSON.stringify(denied).length + 40;
  return withDeny < JSON.stringify(part.actions).length ? { ...part, actions: wide, denied } : part;
}

/** The `withheld` field of a part: the actions' full names, sorted; nothing when none. */
function withheldOf(scope: Scope, actions: readonly Action[]): { withheld?: string[] } {
  if (!actions.length) return {};
  return { withheld: prefixed(scope.service, actions.map((a) => a.name).sort()) };
}

/** Refuses a scope that would allow nothing: no action of its level, or none on its resources. */
function checkNotEmpty(part: PolicyPart): void {
  const { scope } = part;
  const { service, level } = scope;
  const levelWord = level === "list" ? "List" : "Read or List";
  if (part.actions.length === 0) {
    throw new UsageError(
      `Scope "${service}:${level}" allows nothing: AWS classifies no ${service} action as ${levelWord}`,
      { hint: `ask for ${service}:${level === "list" ? "ro" : "full"} instead` },
    );
  }
  if (part.resources && part.actionsOnResources === 0) {
    const label = formatScopes([scope]);
    throw new UsageError(
      `Scope "${logText(label, 200)}" allows nothing on its resources: no ${
        level === "full" ? "" : `${levelWord} `
      }action of ${service} acts on them`,
      { hint: level === "full" ? "name another resource" : `ask for ${service}:full on them` },
    );
  }
}

/**
 * For S3 objects under a path: `s3:ListBucket` on their bucket, for keys under the path only
 * (every level includes ListBucket, an AWS List action).
 */
function pathListings(resources: readonly NamedResource[]): AllowStatement[] {
  const byBucket = new Map<string, string[]>();
  for (const { listing } of resources) {
    if (listing) {
      byBucket.set(listing.bucketArn, [...byBucket.get(listing.bucketArn) ?? [], listing.prefix]);
    }
  }
  return [...byBucket].map(([bucketArn, prefixes]) => ({
    ...allow(["s3:ListBucket"], [bucketArn]),
    Condition: { StringLike: { "s3:prefix": prefixes } },
  }));
}

function allow(actions: string[], resource: "*" | string[]): AllowStatement {
  return { Effect: "Allow", Action: actions, Resource: resource };
}

/** Whether AWS's access level of `action` is one that `list` or `ro` grants (`full` is all). */
function inLevel(action: Action, level: Exclude<Level, "full">): boolean {
  return (level === "list" ? LIST_ACCESS_LEVELS : READ_ACCESS_LEVELS).has(action.accessLevel);
}

function prefixed(service: string, patterns: readonly string[]): string[] {
  return patterns.map((pattern) => `${service}:${pattern}`);
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
export function checkPolicySize(
  policy: SessionPolicy,
  limit: PolicyLimit = { chars: MAX_POLICY_CHARS, name: "Session policy" },
): void {
  const size = policy.packed.length + (policy.tagChars ?? 0);
  if (size <= limit.chars) return;
  const costs = policy.parts
    .map((part) => ({ scope: part.scope, cost: partCost(part) }))
    .sort((a, b) => b.cost - a.cost);
  const heaviest = costs.slice(0, 3)
    .map(({ scope, cost }) => `${formatScopes([scope])} (${formatCount(cost)})`)
    .join(", ");
  throw new UsageError(
    `${limit.name} is ${formatCount(size)} characters, over AWS's limit of ` +
      `${formatCount(limit.chars)}: the largest scopes are ${heaviest}` +
      (policy.tagChars ? `; the session tags take ${formatCount(policy.tagChars)}` : ""),
    { hint: "ask for fewer scopes, or grant them in separate sessions" },
  );
}

/** The characters a scope adds to the packed policy, about. */
function partCost(part: PolicyPart): number {
  const arns =
    part.resources?.flatMap((r) =>
      r.listing ? [...r.arns, r.listing.bucketArn, r.listing.prefix] : r.arns
    ) ?? [];
  const reads = part.conditionalReads ? JSON.stringify(part.conditionalReads).length - 1 : 0;
  return [part.actions, part.accountWide ?? [], part.denied ?? [], arns]
    .filter((list) => list.length)
    .reduce((sum, list) => sum + JSON.stringify(list).length - 1, reads);
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
