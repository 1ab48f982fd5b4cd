/**
 * A grant request checked before any AWS call: scopes parsed and resolved against the catalog,
 * the TTL within its bounds, and the session policy (with its deadline, for a grant shorter than
 * 15 minutes) within AWS's size limit. `policy`, `exec`, `env` and `serve` all go through here,
 * so they accept and refuse the same input with the same words.
 *
 * @module
 */

import type { AllowList } from "./allow_list.ts";
import { type Catalog, loadCatalog, resolveScopes } from "./catalog.ts";
import { UsageError } from "../core/errors.ts";
import { type Level, parseScopes, type Scope } from "./scope.ts";
import type { ArnTarget } from "./resource.ts";
import { buildSessionPolicy, type SessionPolicy } from "./session_policy.ts";
import { MAX_TTL_SECONDS, parseTtl, type TtlBounds } from "./ttl.ts";
import { grantDeadline, needsDeadline } from "./deadline.ts";
import { type SessionTag, sessionTags, tagsSize } from "./session_identity.ts";

/** The TTL of a grant that names none, where one is optional (the MCP server): 15 minutes. */
export const DEFAULT_TTL_SECONDS = 15 * 60;

/** A validated request for credentials. */
export interface GrantRequest {
  /** The scopes, resolved to IAM prefixes and merged. */
  scopes: Scope[];
  /** The session length in seconds. */
  ttlSeconds: number;
  /** The session policy the scopes produce. */
  policy: SessionPolicy;
  /** The session tags: who asked (`timebound-iam:client`) and for what (`timebound-iam:scopes`). */
  tags: SessionTag[];
  /** The allow list the policy was built within ({@linkcode PrepareOptions.allow}), if any. */
  allow?: AllowList;
}

/** The raw input of a grant, as typed on the command line. */
export interface GrantInput {
  /** `-s` values; each may hold comma-separated scopes. */
  scopes: readonly string[];
  /** The `-t` value. */
  ttl?: string;
}

/** Options for {@linkcode prepareGrant}. */
export interface PrepareOptions {
  /** The catalog to resolve services with (loaded from the IAM data when omitted). */
  catalog?: Catalog;
  /** TTL bounds (AWS's AssumeRole bounds by default). */
  ttlBounds?: TtlBounds;
  /** Whether a missing TTL is an error (true) or 15 minutes, within the bounds (false). */
  requireTtl?: boolean;
  /**
   * The clock, for the deadline of a grant shorter than 15 minutes; the broker moves the
   * deadline to the time of the request, so this one only sizes the policy.
   */
  now?: () => Date;
  /** Who asks, for the `timebound-iam:client` tag: `cli` unless told (an MCP client's name). */
  client?: string;
  /**
   * The account, region and partition for bare resource names (`s3:ro@my-bucket`); `*` for the
   * account and region when omitted (see {@linkcode forTarget}).
   */
  target?: ArnTarget;
  /**
   * The server's allow list (`serve --allow`), which the policy stays within: a scope that names
   * resources keeps only the account-wide actions (`lambda:ListLayers`) the list gives for its
   * service, so `lambda:ro@my-fn` under `lambda:full@my-fn` gets nothing on every resource. It
   * does not check the scopes: `checkAllowed` does.
   */
  allow?: AllowList;
}

/**
 * Validates a grant's input in the order a user would fix it: scope syntax, TTL, service names,
 * then the policy size. Every failure is a {@linkcode UsageError}.
 */
export async function prepareGrant(
  input: GrantInput,
  options: PrepareOptions = {},
): Promise<GrantRequest> {
  const parsed = parseScopes(input.scopes);
  let ttlSeconds = Math.min(DEFAULT_TTL_SECONDS, options.ttlBounds?.max ?? MAX_TTL_SECONDS);
  if (input.ttl !== undefined) {
    ttlSeconds = parseTtl(input.ttl, options.ttlBounds);
  } else if (options.requireTtl ?? true) {
    throw new UsageError("No TTL given: pass -t DURATION (e.g. -t 15m, 1h)");
  }
  const catalog = options.catalog ?? await loadCatalog();
  const scopes = resolveScopes(parsed, catalog);
  const now = options.now ?? (() => new Date());
  const deadline = needsDeadline(ttlSeconds) ? grantDeadline(now(), ttlSeconds) : undefined;
  const tags = sessionTags({ client: options.client ?? "cli", scopes });
  const { allow } = options;
  const policy = await buildSessionPolicy(scopes, catalog, {
    deadline,
    tagChars: tagsSize(tags),
    target: options.target,
    accountWide: await accountWideWithin(allow),
  });
  return { scopes, ttlSeconds, policy, tags, ...(allow ? { allow } : {}) };
}

/**
 * Whether the request names a resource by a bare name, so that its policy depends on the
 * account and region.
 */
export function hasBareNames(request: GrantRequest): boolean {
  return request.scopes.some((scope) => scope.resources?.some((r) => !r.startsWith("arn:")));
}

/**
 * The request with its policy for the role's account and the grant's region, once they are
 * known: the same request when it names no resource by a bare name, else its policy rebuilt
 * with the same deadline and allow list (and checked against AWS's limit again).
 */
export async function forTarget(
  request: GrantRequest,
  target: ArnTarget,
  catalog: Catalog,
): Promise<GrantRequest> {
  if (!hasBareNames(request)) return request;
  const { deadline, tagChars } = request.policy;
  const accountWide = await accountWideWithin(request.allow);
  return {
    ...request,
    policy: await buildSessionPolicy(request.scopes, catalog, {
      deadline,
      tagChars,
      target,
      accountWide,
    }),
  };
}

/**
 * For `buildSessionPolicy`: the account-wide level `allow` gives each service, if a list (`serve`'s
 * allow list: its module loads only then).
 */
async function accountWideWithin(
  allow: AllowList | undefined,
): Promise<((service: string) => Level | undefined) | undefined> {
  if (!allow) return undefined;
  const { accountWideLevel } = await import("./allow_list.ts");
  return (service: string) => accountWideLevel(allow, service);
}
