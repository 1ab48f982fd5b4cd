/**
 * Scopes such as `s3:ro` or `dynamodb:full`: what a grant may touch. This module parses their
 * syntax only; {@linkcode resolveScopes} in `catalog.ts` checks the services.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import { checkResourceText } from "./resource.ts";

/**
 * How much of a service a scope allows: its List actions (names and metadata), its Read and List
 * actions, or every action. Narrowest first.
 */
export type Level = "list" | "ro" | "full";

/** The levels from narrowest to widest; a wider level includes the narrower ones. */
export const LEVEL_ORDER: readonly Level[] = ["list", "ro", "full"];

/** One parsed scope: the service as written (lower-cased), the level and named resources. */
export interface Scope {
  /** The service as the user wrote it, lower-cased: an IAM prefix or an alias. */
  service: string;
  /** The access level. */
  level: Level;
  /**
   * The resources named after `@` (bare names or ARNs, as written); absent means every
   * resource. `resource.ts` expands them to ARNs.
   */
  resources?: string[];
}

// A Map, not an object: a level such as "constructor" must not find Object.prototype's.
const LEVELS: ReadonlyMap<string, Level> = new Map([
  ["list", "list"],
  ["ro", "ro"],
  ["read_only", "ro"],
  ["readonly", "ro"],
  ["full", "full"],
]);

/** Every spelling of a level that a scope accepts, as completions offer them. */
export const LEVEL_NAMES: readonly string[] = [...LEVELS.keys()];

const SERVICE_NAME = /^[a-z0-9][a-z0-9._-]*$/;

/**
 * Parses a level name (`list`, `ro`, `read_only`, `readonly` or `full`, any case).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLevel } from "./scope.ts";
 * assert.equal(parseLevel("READ_ONLY"), "ro");
 * ```
 */
export function parseLevel(text: string, context?: string): Level {
  const level = LEVELS.get(text.trim().toLowerCase());
  if (level) return level;
  const where = context ? ` in "${logText(context, 100)}"` : "";
  const what = text.trim()
    ? `Unknown level "${logText(text, 40)}"${where}`
    : `Missing level${where}`;
  throw new UsageError(`${what}: use list, ro, read_only, readonly or full`);
}

/**
 * Parses scope arguments. Each value may hold several comma-separated scopes, so repeated flags
 * and comma-separated lists are equivalent. The result keeps the order of first appearance.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseScopes } from "./scope.ts";
 * const scopes = parseScopes(["s3:ro,dynamodb:full", "logs:ro"]);
 * assert.deepEqual(scopes, [
 *   { service: "s3", level: "ro" },
 *   { service: "dynamodb", level: "full" },
 *   { service: "logs", level: "ro" },
 * ]);
 * ```
 */
export function parseScopes(values: readonly string[]): Scope[] {
  const scopes: Scope[] = [];
  for (const value of values) {
    for (const raw of value.split(",")) {
      const item = raw.trim();
      if (!item) {
        if (value.trim() === "") break;
        throw new UsageError(
          `Invalid scope list "${logText(value, 100)}": empty item between commas`,
        );
      }
      scopes.push(parseScope(item));
    }
  }
  if (scopes.length === 0) {
    throw new UsageError("No scope given: pass -s SERVICE:LEVEL (e.g. -s s3:ro)");
  }
  return scopes;
}

function parseScope(item: string): Scope {
  const colon = item.indexOf(":");
  if (colon < 0) {
    throw new UsageError(
      `Invalid scope "${logText(item, 100)}": expected service:level (e.g. s3:ro)`,
    );
  }
  const service = item.slice(0, colon).trim().toLowerCase();
  const at = item.indexOf("@", colon);
  const levelText = item.slice(colon + 1, at < 0 ? undefined : at).trim();
  if (!service) {
    throw new UsageError(
      `Invalid scope "${logText(item, 100)}": missing service before ":" (e.g. s3:ro)`,
    );
  }
  if (!SERVICE_NAME.test(service)) {
    throw new UsageError(
      `Invalid scope "${logText(item, 100)}": "${logText(service, 64)}" is not a service name`,
    );
  }
  const level = parseLevel(levelText, item);
  if (at < 0) return { service, level };
  const resource = item.slice(at + 1).trim();
  checkResourceText(resource, item);
  return { service, level, resources: [resource] };
}

/**
 * Merges scopes that name the same service and level (their resources together; a scope
 * without resources covers every resource), then drops a scope that a wider or equal level on
 * every resource of the same service already covers (`s3:full` covers `s3:ro@my-bucket`).
 * Callers pass scopes whose `service` is already the canonical IAM prefix. The result keeps the
 * position of each service's first scope.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergeScopes } from "./scope.ts";
 * const merged = mergeScopes([{ service: "s3", level: "ro" }, { service: "s3", level: "full" }]);
 * assert.deepEqual(merged, [{ service: "s3", level: "full" }]);
 * ```
 */
export function mergeScopes(scopes: readonly Scope[]): Scope[] {
  const groups = new Map<string, Scope>();
  for (const scope of scopes) {
    const key = `${scope.service}:${scope.level}`;
    const seen = groups.get(key);
    if (!seen) {
      groups.set(key, copyScope(scope));
    } else if (!seen.resources || !scope.resources) {
      delete seen.resources;
    } else {
      seen.resources = [...new Set([...seen.resources, ...scope.resources])];
    }
  }
  const all = [...groups.values()];
  const services = [...new Set(all.map((scope) => scope.service))];
  return services.flatMap((service) => {
    const own = all.filter((scope) => scope.service === service);
    return own.filter((scope) =>
      !own.some((other) =>
        other !== scope && !other.resources && !isWider(scope.level, other.level)
      )
    );
  });
}

function copyScope(scope: Scope): Scope {
  return scope.resources
    ? { service: scope.service, level: scope.level, resources: [...scope.resources] }
    : { service: scope.service, level: scope.level };
}

/** Whether level `a` allows more than level `b`. */
export function isWider(a: Level, b: Level): boolean {
  return LEVEL_ORDER.indexOf(a) > LEVEL_ORDER.indexOf(b);
}

/**
 * Formats scopes back into the command-line form, e.g. `s3:ro,dynamodb:full@Orders`: a scope
 * with several resources is repeated, once per resource.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatScopes } from "./scope.ts";
 * assert.equal(formatScopes([{ service: "s3", level: "ro", resources: ["a", "b"] }]), "s3:ro@a,s3:ro@b");
 * ```
 */
export function formatScopes(
  scopes: readonly Scope[],
  levelName: (level: Level) => string = (level) => level,
): string {
  return scopes.flatMap((scope) => {
    const head = `${scope.service}:${levelName(scope.level)}`;
    return scope.resources ? scope.resources.map((r) => `${head}@${r}`) : [head];
  }).join(",");
}
