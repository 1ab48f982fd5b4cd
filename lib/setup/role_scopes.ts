/**
 * The broker role's permission policy from scopes, in the language and with the engine of a
 * grant's session policy (`s3:ro@my-bucket`, `dynamodb:full@Orders`: levels and resources, the
 * same exactness), and the way back: which scopes a role was set up with, read from its
 * description and believed only when rebuilding them gives exactly the policy the role has.
 *
 * @module
 */

import {
  buildPermissionPolicy,
  type PermissionPolicyDocument,
  ROLE_DESCRIPTION,
  samePolicy,
} from "./broker_role.ts";
import { type Catalog, resolveScopes } from "../request/catalog.ts";
import type { ArnTarget } from "../request/resource.ts";
import { buildSessionPolicy } from "../request/session_policy.ts";
import { formatScopes, type Level, parseScopes, type Scope } from "../request/scope.ts";

/** IAM's limit on a role's inline policies, in characters without whitespace. */
export const ROLE_POLICY_MAX_CHARS = 10_240;

/** IAM's limit on a role's description. */
const DESCRIPTION_MAX_CHARS = 1000;

/** What the description says before the scopes. */
const SCOPES_MARK = "; scopes: ";

/** Whether every scope is a whole service (`full` on every resource): `--services` alone. */
export function wholeServices(scopes: readonly Scope[]): boolean {
  return scopes.every((scope) => scope.level === "full" && !scope.resources);
}

/**
 * The role's permission policy for resolved scopes: `<prefix>:*` per service when every scope is
 * a whole service (as `--services` has always written it), else the policy a grant of these
 * scopes would get as its session policy, within IAM's 10,240 characters for a role.
 */
export async function buildRolePolicy(
  scopes: readonly Scope[],
  catalog: Catalog,
  target: ArnTarget,
): Promise<PermissionPolicyDocument> {
  if (wholeServices(scopes)) return buildPermissionPolicy(scopes.map((scope) => scope.service));
  const sorted = [...scopes].sort((a, b) => a.service.localeCompare(b.service));
  const policy = await buildSessionPolicy(sorted, catalog, {
    target,
    limit: { chars: ROLE_POLICY_MAX_CHARS, name: "Role policy" },
  });
  return policy.document as PermissionPolicyDocument;
}

/**
 * The role's description: timebound-iam's, with the scopes when they are more than whole
 * services (and fit IAM's 1,000 characters), so that a later `setup aws` and `doctor` can say
 * what the role was set up with.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { roleDescription } from "./role_scopes.ts";
 * assert.match(roleDescription([{ service: "s3", level: "ro", resources: ["b"] }]), /; scopes: s3:ro@b$/);
 * ```
 */
export function roleDescription(scopes: readonly Scope[]): string {
  if (wholeServices(scopes)) return ROLE_DESCRIPTION;
  const text = `${ROLE_DESCRIPTION}${SCOPES_MARK}${formatScopes(scopes)}`;
  return text.length <= DESCRIPTION_MAX_CHARS ? text : ROLE_DESCRIPTION;
}

/** What the way back reads of an existing role. */
export interface RoleDocuments {
  /** The inline permission policy, parsed. */
  permissions?: unknown;
  /** The role's description. */
  description?: string;
}

/**
 * The scopes an existing role was set up with: whole services for a policy of `<prefix>:*`
 * actions on every resource; the scopes its description names when they rebuild exactly its
 * policy; `undefined` for any other policy (written by hand, or changed since).
 */
export async function roleScopes(
  role: RoleDocuments,
  catalog: Catalog,
  target: ArnTarget,
): Promise<Scope[] | undefined> {
  const whole = wholeServicePrefixes(role.permissions);
  if (whole) return whole.map((service) => ({ service, level: "full" }));
  const at = role.description?.indexOf(SCOPES_MARK) ?? -1;
  if (!role.description?.startsWith(ROLE_DESCRIPTION) || at < 0) return undefined;
  try {
    const scopes = resolveScopes(
      parseScopes([role.description.slice(at + SCOPES_MARK.length)]),
      catalog,
    );
    const rebuilt = await buildRolePolicy(scopes, catalog, target);
    return samePolicy(rebuilt, role.permissions) ? scopes : undefined;
  } catch {
    return undefined;
  }
}

function wholeServicePrefixes(policy: unknown): string[] | undefined {
  const statements = (policy as { Statement?: unknown } | undefined)?.Statement;
  if (!Array.isArray(statements) || statements.length !== 1) return undefined;
  const [statement] = statements as Array<
    { Effect?: unknown; Action?: unknown; Resource?: unknown }
  >;
  if (statement.Effect !== "Allow" || statement.Resource !== "*") return undefined;
  const prefixes = [statement.Action ?? []].flat().map((action) =>
    typeof action === "string" ? /^([a-z0-9-]+):\*$/.exec(action)?.[1] : undefined
  );
  return prefixes.length && prefixes.every((p) => p !== undefined)
    ? prefixes as string[]
    : undefined;
}

/**
 * The scopes of a read-only view of the role: each scope at `ro` (or `list`, if narrower), on
 * the same resources. For the `credential_process` profile that `setup aws` suggests.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readOnlyScopes } from "./role_scopes.ts";
 * const scopes = readOnlyScopes([{ service: "dynamodb", level: "full", resources: ["Orders"] }]);
 * assert.deepEqual(scopes, [{ service: "dynamodb", level: "ro", resources: ["Orders"] }]);
 * ```
 */
export function readOnlyScopes(scopes: readonly Scope[]): Scope[] {
  return scopes.map((scope) => ({
    ...scope,
    level: (scope.level === "list" ? "list" : "ro") satisfies Level,
  }));
}
