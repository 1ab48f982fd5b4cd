/**
 * The scopes a human lets an agent ask for (`serve --allow 's3:full@my-bucket,dynamodb:ro,*:list'`).
 * A level allows the narrower ones too (`full` allows `ro` and `list`, `ro` allows `list`);
 * `*:ro` allows read-only access to every service; a scope with resources allows its level on
 * those resources only (compared on expanded ARNs, wildcards included). No list means anything.
 *
 * A narrower level on allowed resources gets no more than the allowed scope would: the actions
 * that name no resource (`lambda:ListLayers`), which `list` and `ro` on resources keep on every
 * resource, are kept only as far as {@linkcode accountWideLevel} says the list gives them.
 *
 * @module
 */

import { type Catalog, resolveScopes } from "./catalog.ts";
import {
  ANY_TARGET,
  arnCovers,
  type ArnTarget,
  expandResource,
  type NamedResource,
} from "./resource.ts";
import { UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import {
  formatScopes,
  isWider,
  type Level,
  LEVEL_ORDER,
  parseLevel,
  parseScopes,
  type Scope,
} from "./scope.ts";

/** What an agent may ask for. */
export interface AllowList {
  /** The allowed scopes, resolved to IAM prefixes. */
  scopes: Scope[];
  /** The level allowed on every service (`*:LEVEL`), if any. */
  everyService?: Level;
  /** The list as the human wrote it, normalised, for messages. */
  text: string;
}

/**
 * Parses an `--allow` value: scopes as on the command line (resources included), plus
 * `*:LEVEL` for every service. Resources are checked as a grant would check them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAllowList } from "./allow_list.ts";
 * import { createCatalog } from "./catalog.ts";
 * const catalog = createCatalog([{ prefix: "s3", name: "Amazon S3" }], () => Promise.resolve([]));
 * assert.equal((await parseAllowList("*:ro,s3:full", catalog)).everyService, "ro");
 * ```
 */
export async function parseAllowList(text: string, catalog: Catalog): Promise<AllowList> {
  const items = text.split(",").map((item) => item.trim());
  let everyService: Level | undefined;
  const rest: string[] = [];
  for (const item of items) {
    if (item.startsWith("*:")) {
      const level = parseLevel(item.slice(2), item);
      if (!everyService || isWider(level, everyService)) everyService = level;
    } else {
      rest.push(item);
    }
  }
  const scopes = rest.length || !everyService
    ? resolveScopes(parseScopes([rest.join(",")]), catalog)
    : [];
  for (const scope of scopes) {
    const types = await catalog.resourceTypes(scope.service);
    for (const resource of scope.resources ?? []) {
      expandResource(scope.service, resource, types, ANY_TARGET);
    }
  }
  const parts = [...(everyService ? [`*:${everyService}`] : []), formatScopes(scopes)];
  return { scopes, everyService, text: parts.filter(Boolean).join(",") };
}

/**
 * The levels that `allow` lets an agent ask for on every resource of a service, narrowest first
 * (every level when there is no list). Levels allowed only on named resources are in
 * {@linkcode allowedResources}.
 */
export function allowedLevels(allow: AllowList | undefined, prefix: string): Level[] {
  if (!allow) return [...LEVEL_ORDER];
  const own = allow.scopes.filter((scope) => scope.service === prefix && !scope.resources);
  const levels = [...own.map((scope) => scope.level), allow.everyService]
    .filter((level) => level !== undefined);
  const widest = Math.max(-1, ...levels.map((level) => LEVEL_ORDER.indexOf(level)));
  return LEVEL_ORDER.slice(0, widest + 1);
}

/** The scopes of `allow` that name resources of a service, as the human wrote them. */
export function allowedResources(allow: AllowList | undefined, prefix: string): Scope[] {
  return allow?.scopes.filter((scope) => scope.service === prefix && scope.resources) ?? [];
}

/**
 * The widest level whose account-wide actions (those that name no resource, such as
 * `lambda:ListLayers` or `s3:ListAllMyBuckets`) `allow` gives for a service: a level allowed on
 * every resource, or `list` or `ro` on named resources, which keep theirs; `full` on named
 * resources gives none, so `undefined` when that is all there is. Every level when there is no
 * list. A scope that names resources keeps no wider account-wide actions than this.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { accountWideLevel } from "./allow_list.ts";
 * const full = { service: "s3", level: "full" as const, resources: ["my-bucket"] };
 * assert.equal(accountWideLevel({ scopes: [full], text: "s3:full@my-bucket" }, "s3"), undefined);
 * assert.equal(accountWideLevel({ scopes: [full], everyService: "list", text: "" }, "s3"), "list");
 * ```
 */
export function accountWideLevel(allow: AllowList | undefined, prefix: string): Level | undefined {
  const levels = new Set([
    ...allowedLevels(allow, prefix),
    ...allowedResources(allow, prefix).map((scope) => scope.level).filter((l) => l !== "full"),
  ]);
  return LEVEL_ORDER.findLast((level) => levels.has(level));
}

/**
 * What to tell an agent whose grant on named resources keeps fewer account-wide actions (those
 * that name no resource: listing every bucket, every function) than its level would, because
 * `allow` gives no wider ones for the service; `undefined` when no scope lost any. Levels are
 * spelt by `levelName`, as {@linkcode formatScopes} takes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { accountWideNote } from "./allow_list.ts";
 * const allow = { scopes: [{ service: "s3", level: "full" as const, resources: ["b"] }], text: "s3:full@b" };
 * assert.equal(
 *   accountWideNote([{ service: "s3", level: "ro", resources: ["b"] }], allow),
 *   "s3:ro@b has no account-wide actions (those that name no resource): this server allows " +
 *     "s3:full@b",
 * );
 * assert.equal(accountWideNote([{ service: "s3", level: "ro", resources: ["b"] }], undefined), undefined);
 * ```
 */
export function accountWideNote(
  scopes: readonly Scope[],
  allow: AllowList | undefined,
  levelName: (level: Level) => string = (level) => level,
): string | undefined {
  if (!allow) return undefined;
  const notes = scopes.flatMap((scope) => {
    if (!scope.resources || scope.level === "full") return [];
    const limit = accountWideLevel(allow, scope.service);
    if (limit !== undefined && !isWider(scope.level, limit)) return [];
    const kept = limit === undefined
      ? "no account-wide actions"
      : `only ${levelName(limit)}'s account-wide actions`;
    return [`${formatScopes([scope], levelName)} has ${kept}`];
  });
  return notes.length === 0
    ? undefined
    : `${notes.join("; ")} (those that name no resource): this server allows ${allow.text}`;
}

/** What {@linkcode checkAllowed} needs to compare resources. */
export interface AllowCheckOptions {
  /** The catalog, for the services' resource types. */
  catalog: Catalog;
  /**
   * The account, region and partition for bare names; asked for only when a requested resource
   * must be compared with allowed ones.
   */
  target: () => Promise<ArnTarget>;
}

/**
 * Throws a usage error naming what is allowed unless every scope is within `allow`: its level
 * allowed on every resource of the service, or every one of its resources, expanded to ARNs,
 * within the ARNs of an allowed scope of that level or wider.
 *
 * A bare S3 path (`my-bucket/reports/*`) also lists its bucket under the path (`s3:ListBucket`
 * with an `s3:prefix` condition), so it is allowed only where the list allows that listing too:
 * a level on every S3 resource, an allowed bucket, or an allowed bare path that lists as much.
 * An allowed object ARN (`arn:aws:s3:::my-bucket/reports/*`) allows exactly that ARN, which
 * lists nothing: the agent may ask for the ARN, not the bare path.
 */
export async function checkAllowed(
  scopes: readonly Scope[],
  allow: AllowList | undefined,
  options: AllowCheckOptions,
): Promise<void> {
  if (!allow) return;
  const refused: Scope[] = [];
  for (const scope of scopes) {
    if (allowedLevels(allow, scope.service).includes(scope.level)) continue;
    const wide = allowedResources(allow, scope.service)
      .filter((allowed) => !isWider(scope.level, allowed.level));
    if (
      !scope.resources || !wide.length || !await withinResources(scope, wide, allow, options)
    ) {
      refused.push(scope);
    }
  }
  if (refused.length === 0) return;
  throw new UsageError(
    `Not allowed by this server: ${logText(formatScopes(refused), 500)}: the allowed scopes are ${
      logText(allow.text, 500)
    }`,
    {
      hint: "ask within those scopes, or ask the human to restart the server with a wider --allow",
    },
  );
}

async function withinResources(
  scope: Scope,
  allowed: readonly Scope[],
  allow: AllowList,
  options: AllowCheckOptions,
): Promise<boolean> {
  const types = await options.catalog.resourceTypes(scope.service);
  const target = await options.target();
  const expand = (s: Scope) =>
    (s.resources ?? []).map((r) => expandResource(s.service, r, types, target));
  const outer = allowed.flatMap(expand).flatMap((resource) => resource.arns);
  // Every level lists a bucket (s3:ListBucket is a List action), so any allowed level may.
  const lists = allowedLevels(allow, scope.service).length > 0;
  const listers = allowedResources(allow, scope.service).flatMap(expand);
  return expand(scope).every((resource) =>
    resource.arns.every((arn) => outer.some((pattern) => arnCovers(pattern, arn))) &&
    (!resource.listing || lists || listers.some((other) => listsWithin(other, resource.listing!)))
  );
}

/** Whether an allowed resource lets its grant list at least `listing`'s keys of that bucket. */
function listsWithin(
  allowed: NamedResource,
  listing: NonNullable<NamedResource["listing"]>,
): boolean {
  return allowed.arns.some((pattern) => arnCovers(pattern, listing.bucketArn)) ||
    (allowed.listing !== undefined && arnCovers(allowed.listing.bucketArn, listing.bucketArn) &&
      arnCovers(allowed.listing.prefix, listing.prefix));
}
