/**
 * The scopes a human lets an agent ask for (`serve --allow s3:full,dynamodb:ro`). A level allows
 * the narrower ones too (`full` allows `ro` and `list`, `ro` allows `list`); `*:ro` allows
 * read-only access to every service. No list means anything.
 *
 * @module
 */

import { type Catalog, resolveScopes } from "./catalog.ts";
import { UsageError } from "../core/errors.ts";
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
 * Parses an `--allow` value: scopes as on the command line, plus `*:LEVEL` for every service.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAllowList } from "./allow_list.ts";
 * import { createCatalog } from "./catalog.ts";
 * const catalog = createCatalog([{ prefix: "s3", name: "Amazon S3" }], () => Promise.resolve([]));
 * assert.equal(parseAllowList("*:ro,s3:full", catalog).everyService, "ro");
 * ```
 */
export function parseAllowList(text: string, catalog: Catalog): AllowList {
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
  const parts = [...(everyService ? [`*:${everyService}`] : []), formatScopes(scopes)];
  return { scopes, everyService, text: parts.filter(Boolean).join(",") };
}

/**
 * The levels that `allow` lets an agent ask for on a service, narrowest first (every level when
 * there is no list).
 */
export function allowedLevels(allow: AllowList | undefined, prefix: string): Level[] {
  if (!allow) return [...LEVEL_ORDER];
  const own = allow.scopes.find((scope) => scope.service === prefix)?.level;
  const levels = [own, allow.everyService].filter((level) => level !== undefined);
  const widest = Math.max(-1, ...levels.map((level) => LEVEL_ORDER.indexOf(level)));
  return LEVEL_ORDER.slice(0, widest + 1);
}

/**
 * Throws a usage error naming what is allowed unless every scope is within `allow`.
 */
export function checkAllowed(scopes: readonly Scope[], allow: AllowList | undefined): void {
  if (!allow) return;
  const refused = scopes.filter((scope) =>
    !allowedLevels(allow, scope.service).includes(scope.level)
  );
  if (refused.length === 0) return;
  throw new UsageError(
    `Not allowed by this server: ${formatScopes(refused)}: the allowed scopes are ${allow.text}`,
    {
      hint: "ask within those scopes, or ask the human to restart the server with a wider --allow",
    },
  );
}
