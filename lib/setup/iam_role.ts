/**
 * The broker role in IAM: read what exists, work out the changes that make it match a
 * {@linkcode BrokerRolePlan}, and make them. Reading first is what makes `setup aws --apply`
 * idempotent: a role that already matches gets no write call at all.
 *
 * @module
 */

import type { IAMClient } from "@aws-sdk/client-iam";
import { explainAwsError, type IamOperation } from "../aws/aws_errors.ts";
import {
  type BrokerRolePlan,
  PERMISSION_POLICY_NAME,
  ROLE_DESCRIPTION,
  samePolicy,
} from "./broker_role.ts";
import { formatTtl } from "../request/ttl.ts";
import { formatScopes } from "../request/scope.ts";
import { type IamModule, iamModule } from "../aws/sdk.ts";

/** The broker role as IAM has it; `exists: false` when there is no such role. */
export interface RoleState {
  /** Whether the role exists. */
  exists: boolean;
  /** Its ARN (with its path), when it exists. */
  arn?: string;
  /** Its trust policy, parsed. */
  trust?: unknown;
  /** Its MaxSessionDuration, in seconds. */
  maxSessionSeconds?: number;
  /** Its inline permission policy named {@linkcode PERMISSION_POLICY_NAME}, parsed, if any. */
  permissions?: unknown;
  /** Its description, if any. */
  description?: string;
}

/** One change that brings the role in line with the plan. */
export type RoleChange =
  | { kind: "create" }
  | { kind: "trust" }
  | { kind: "max-session"; from: number; to: number }
  | { kind: "description" }
  | { kind: "permissions"; replace: boolean };

/** Who calls IAM, for error messages. */
export interface IamCaller {
  /** The caller's ARN. */
  callerArn?: string;
  /** The profile in use, if any. */
  profile?: string;
}

/**
 * Reads the role and its permission policy (`iam:GetRole`, `iam:GetRolePolicy`; only the first
 * with `withPolicy: false`). A missing role or policy is a state, not an error; anything else
 * AWS refuses comes back explained.
 */
export async function readBrokerRole(
  client: IAMClient,
  roleName: string,
  caller: IamCaller & { withPolicy?: boolean } = {},
): Promise<RoleState> {
  const { GetRoleCommand, GetRolePolicyCommand } = await iamModule();
  const role = await read(
    () => client.send(new GetRoleCommand({ RoleName: roleName })),
    "GetRole",
    roleName,
    caller,
  );
  if (!role?.Role) return { exists: false };
  const policy = caller.withPolicy === false ? undefined : await read(
    () =>
      client.send(
        new GetRolePolicyCommand({ RoleName: roleName, PolicyName: PERMISSION_POLICY_NAME }),
      ),
    "GetRolePolicy",
    roleName,
    caller,
  );
  return {
    exists: true,
    arn: role.Role.Arn,
    trust: parseDocument(role.Role.AssumeRolePolicyDocument),
    maxSessionSeconds: role.Role.MaxSessionDuration ?? 3600,
    permissions: policy ? parseDocument(policy.PolicyDocument) : undefined,
    description: role.Role.Description,
  };
}

/**
 * The changes that make `current` match `plan`, in the order they must be made; none when it
 * already matches.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planRoleChanges } from "./iam_role.ts";
 * import { buildPermissionPolicy, buildTrustPolicy } from "./broker_role.ts";
 * const plan = {
 *   roleName: "timebound-iam-broker",
 *   roleArn: "arn:aws:iam::123456789012:role/timebound-iam-broker",
 *   trust: buildTrustPolicy("arn:aws:iam::123456789012:user/dev", { mode: "caller" }),
 *   permissions: buildPermissionPolicy(["s3"]),
 *   maxSessionSeconds: 14400,
 *   scopes: [],
 *   description: "",
 * };
 * assert.equal(planRoleChanges({ exists: false }, plan).length, 2);
 * ```
 */
export function planRoleChanges(current: RoleState, plan: BrokerRolePlan): RoleChange[] {
  if (!current.exists) return [{ kind: "create" }, { kind: "permissions", replace: false }];
  const changes: RoleChange[] = [];
  if (!samePolicy(current.trust, plan.trust.document)) changes.push({ kind: "trust" });
  const from = current.maxSessionSeconds ?? 3600;
  if (from !== plan.maxSessionSeconds) {
    changes.push({ kind: "max-session", from, to: plan.maxSessionSeconds });
  }
  // The description names the scopes; one a user wrote is kept while no scopes need naming.
  const ours = current.description?.startsWith(ROLE_DESCRIPTION) ?? false;
  if (current.description !== plan.description && (ours || plan.description !== ROLE_DESCRIPTION)) {
    changes.push({ kind: "description" });
  }
  if (!samePolicy(current.permissions, plan.permissions)) {
    changes.push({ kind: "permissions", replace: current.permissions !== undefined });
  }
  return changes;
}

/** One line that tells a user what a change does. */
export function describeRoleChange(change: RoleChange, plan: BrokerRolePlan): string {
  switch (change.kind) {
    case "create":
      return `create role ${plan.roleName} (MaxSessionDuration ${
        formatTtl(plan.maxSessionSeconds)
      }, trusting ${plan.trust.principal})`;
    case "trust":
      return `replace the trust policy of ${plan.roleName}: trust ${plan.trust.principal}`;
    case "max-session":
      return `change MaxSessionDuration of ${plan.roleName} from ${formatTtl(change.from)} to ${
        formatTtl(change.to)
      }`;
    case "description":
      return `set the description of ${plan.roleName}: ${plan.description}`;
    case "permissions": {
      const what = plan.scopes.every((s) => s.level === "full" && !s.resources)
        ? plan.permissions.Statement[0].Action.join(", ")
        : formatScopes(plan.scopes).replaceAll(",", ", ");
      return `${change.replace ? "replace" : "add"} the permission policy ` +
        `${PERMISSION_POLICY_NAME}: ${what}`;
    }
  }
}

/** How one kind of change is made: the IAM operation, and the call that makes it. */
interface ChangeCall<Change extends RoleChange> {
  operation: IamOperation;
  call(iam: IamModule, client: IAMClient, plan: BrokerRolePlan, change: Change): Promise<unknown>;
}

const CHANGE_CALLS: { [K in RoleChange["kind"]]: ChangeCall<Extract<RoleChange, { kind: K }>> } = {
  create: {
    operation: "CreateRole",
    call: (iam, client, plan) =>
      client.send(
        new iam.CreateRoleCommand({
          RoleName: plan.roleName,
          AssumeRolePolicyDocument: JSON.stringify(plan.trust.document),
          MaxSessionDuration: plan.maxSessionSeconds,
          Description: plan.description,
        }),
      ),
  },
  trust: {
    operation: "UpdateAssumeRolePolicy",
    call: (iam, client, plan) =>
      client.send(
        new iam.UpdateAssumeRolePolicyCommand({
          RoleName: plan.roleName,
          PolicyDocument: JSON.stringify(plan.trust.document),
        }),
      ),
  },
  "max-session": {
    operation: "UpdateRole",
    call: (iam, client, plan, change) =>
      client.send(
        new iam.UpdateRoleCommand({ RoleName: plan.roleName, MaxSessionDuration: change.to }),
      ),
  },
  description: {
    operation: "UpdateRole",
    call: (iam, client, plan) =>
      client.send(
        new iam.UpdateRoleCommand({ RoleName: plan.roleName, Description: plan.description }),
      ),
  },
  permissions: {
    operation: "PutRolePolicy",
    call: (iam, client, plan) =>
      client.send(
        new iam.PutRolePolicyCommand({
          RoleName: plan.roleName,
          PolicyName: PERMISSION_POLICY_NAME,
          PolicyDocument: JSON.stringify(plan.permissions),
        }),
      ),
  },
};

/**
 * Makes the changes, in order (`iam:CreateRole`, `UpdateAssumeRolePolicy`, …); the first that
 * AWS refuses stops the rest and comes back explained.
 */
export async function applyRoleChanges(
  client: IAMClient,
  plan: BrokerRolePlan,
  options: { changes: readonly RoleChange[]; caller?: IamCaller },
): Promise<void> {
  const iam = await iamModule();
  for (const change of options.changes) {
    const { operation, call } = CHANGE_CALLS[change.kind] as ChangeCall<RoleChange>;
    try {
      await call(iam, client, plan, change);
    } catch (error) {
      throw await explain(error, operation, plan.roleName, options.caller ?? {});
    }
  }
}

/** Creates an IAM client over the base credentials (one place builds it, in `lib/aws/`). */
export { createIamClient } from "../aws/credential_source.ts";

/** Runs a read; a missing role or policy (`NoSuchEntityException`) is `undefined`. */
async function read<T>(
  call: () => Promise<T>,
  operation: IamOperation,
  roleName: string,
  caller: IamCaller,
): Promise<T | undefined> {
  const { NoSuchEntityException } = await iamModule();
  try {
    return await call();
  } catch (error) {
    if (error instanceof NoSuchEntityException) return undefined;
    throw await explain(error, operation, roleName, caller);
  }
}

function explain(error: unknown, operation: IamOperation, roleName: string, caller: IamCaller) {
  return explainAwsError(error, {
    operation,
    roleName,
    callerArn: caller.callerArn,
    profile: caller.profile,
  });
}

function parseDocument(encoded: string | undefined): unknown {
  if (encoded === undefined) return undefined;
  try {
    return JSON.parse(decodeURIComponent(encoded));
  } catch {
    // Not JSON (or not URL-encoded): compare as text, which never matches a plan.
    return encoded;
  }
}
