/**
 * The IAM role actions of the local AWS endpoint — `CreateRole`, `GetRole`, `UpdateRole`,
 * `UpdateAssumeRolePolicy`, `DeleteRole`, `PutRolePolicy`, `GetRolePolicy`,
 * `ListRolePolicies`, `DeleteRolePolicy` — acting on the caller's account, with AWS's response
 * shapes (policy documents come back URL-encoded) and error codes.
 *
 * @module
 */

import { type ActionContext, type ActionHandler, awsTimestamp } from "./action.ts";
import { AwsError, validationError, violation } from "./aws_error.ts";
import { parsePolicyDocument, policyChars } from "./policy_document.ts";
import type { LocalAwsState, Role } from "./state.ts";
import { IAM_MFA_ACTIONS } from "./mfa.ts";
import { IAM_ACCESS_KEY_ACTIONS } from "./access_keys.ts";
import type { XmlValue } from "./xml.ts";

/** The XML namespace of IAM responses. */
export const IAM_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/";

/** The query-protocol version of IAM. */
export const IAM_VERSION = "2010-05-08";

const NAME_PATTERN = /^[\w+=,.@-]+$/;
const INVALID_JSON = "This policy contains invalid Json";
const ROLE_INLINE_POLICY_LIMIT = 10_240;

/** A role as IAM's XML shows it (`<Role>`). */
export function roleXml(role: Role): XmlValue {
  return {
    Path: role.path,
    RoleName: role.roleName,
    RoleId: role.roleId,
    Arn: role.arn,
    CreateDate: awsTimestamp(role.createDate),
    AssumeRolePolicyDocument: encodeURIComponent(role.trustPolicy),
    Description: role.description,
    MaxSessionDuration: role.maxSessionDuration,
  };
}

function checkName(field: string, value: string | undefined, violations: string[]): void {
  if (value === undefined) violations.push(violation(field, undefined, "not be null"));
  else if (value.length < 1 || value.length > 64) {
    violations.push(violation(field, value, "have length less than or equal to 64"));
  } else if (!NAME_PATTERN.test(value)) {
    violations.push(violation(field, value, "satisfy regular expression pattern: [\\w+=,.@-]+"));
  }
}

function checkMaxSessionDuration(value: string | undefined, violations: string[]): void {
  if (value === undefined) return;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 3600) {
    violations.push(
      violation("maxSessionDuration", value, "have value greater than or equal to 3600"),
    );
  } else if (seconds > 43200) {
    violations.push(
      violation("maxSessionDuration", value, "have value less than or equal to 43200"),
    );
  }
}

function checkDocument(field: string, value: string | undefined, violations: string[]): void {
  if (value === undefined) violations.push(violation(field, undefined, "not be null"));
}

function throwIfAny(violations: string[]): void {
  if (violations.length > 0) throw validationError(violations);
}

function existingRole(state: LocalAwsState, accountId: string, roleName: string): Role {
  const role = state.findRole(accountId, roleName);
  if (role === undefined) {
    throw new AwsError("NoSuchEntity", `The role with name ${roleName} cannot be found.`, 404);
  }
  return role;
}

/** `CreateRole`: a new role in the caller's account; `EntityAlreadyExists` (409) if taken. */
export function createRole({ state, caller, params }: ActionContext): XmlValue {
  const violations: string[] = [];
  checkName("roleName", params.RoleName, violations);
  checkDocument("assumeRolePolicyDocument", params.AssumeRolePolicyDocument, violations);
  checkMaxSessionDuration(params.MaxSessionDuration, violations);
  throwIfAny(violations);
  if (state.findRole(caller.accountId, params.RoleName) !== undefined) {
    throw new AwsError(
      "EntityAlreadyExists",
      `Role with name ${params.RoleName} already exists.`,
      409,
    );
  }
  parsePolicyDocument(params.AssumeRolePolicyDocument, INVALID_JSON);
  const role = state.addRole({
    accountId: caller.accountId,
    roleName: params.RoleName,
    path: params.Path,
    maxSessionDuration: params.MaxSessionDuration === undefined
      ? undefined
      : Number(params.MaxSessionDuration),
    trustPolicy: params.AssumeRolePolicyDocument,
    description: params.Description,
  });
  return { Role: roleXml(role) };
}

/** `GetRole`: the role, or `NoSuchEntity` (404). */
export function getRole({ state, caller, params }: ActionContext): XmlValue {
  const violations: string[] = [];
  checkName("roleName", params.RoleName, violations);
  throwIfAny(violations);
  return { Role: roleXml(existingRole(state, caller.accountId, params.RoleName)) };
}

/** `UpdateRole`: change MaxSessionDuration (3600..43200) and/or the description. */
export function updateRole({ state, caller, params }: ActionContext): XmlValue {
  const violations: string[] = [];
  checkName("roleName", params.RoleName, violations);
  checkMaxSessionDuration(params.MaxSessionDuration, violations);
  throwIfAny(violations);
  const role = existingRole(state, caller.accountId, params.RoleName);
  if (params.MaxSessionDuration !== undefined) {
    role.maxSessionDuration = Number(params.MaxSessionDuration);
  }
  if (params.Description !== undefined) role.description = params.Description;
  return {};
}

/** `UpdateAssumeRolePolicy`: replace the role's trust policy. */
export function updateAssumeRolePolicy({ state, caller, params }: ActionContext): XmlValue {
  const violations: string[] = [];
  checkName("roleName", params.RoleName, violations);
  checkDocument("policyDocument", params.PolicyDocument, violations);
  throwIfAny(violations);
  const role = existingRole(state, caller.accountId, params.RoleName);
  parsePolicyDocument(params.PolicyDocument, INVALID_JSON);
  role.trustPolicy = params.PolicyDocument;
  return undefined;
}

/** `DeleteRole`: `DeleteConflict` (409) while it still has inline policies. */
export function deleteRole({ state, caller, params }: ActionContext): XmlValue {
  const violations: string[] = [];
  checkName("roleName", params.RoleName, violations);
  throwIfAny(violations);
  const role = existingRole(state, caller.accountId, params.RoleName);
  if (role.inlinePolicies.size > 0) {
    throw new AwsError("DeleteConflict", "Cannot delete entity, must delete policies first.", 409);
  }
  state.roles.delete(`${role.accountId}/${role.roleName}`);
  return undefined;
}

/** `PutRolePolicy`: add or replace an inline policy (10,240 characters in all per role). */
export function putRolePolicy({ state, caller, params }: ActionContext): XmlValue {
  const violations: string[] = [];
  checkName("roleName", params.RoleName, violations);
  checkName("policyName", params.PolicyName, violations);
  checkDocument("policyDocument", params.PolicyDocument, violations);
  throwIfAny(violations);
  const role = existingRole(state, caller.accountId, params.RoleName);
  parsePolicyDocument(params.PolicyDocument, INVALID_JSON);
  const others = [...role.inlinePolicies].filter(([name]) => name !== params.PolicyName);
  const total = others.reduce((sum, [, doc]) => sum + policyChars(doc), 0) +
    policyChars(params.PolicyDocument);
  if (total > ROLE_INLINE_POLICY_LIMIT) {
    throw new AwsError(
      "LimitExceeded",
      `Maximum policy size of ${ROLE_INLINE_POLICY_LIMIT} bytes exceeded for role ${role.roleName}`,
      409,
    );
  }
  role.inlinePolicies.set(params.PolicyName, params.PolicyDocument);
  return undefined;
}

function existingPolicy(role: Role, policyName: string): string {
  const document = role.inlinePolicies.get(policyName);
  if (document === undefined) {
    throw new AwsError(
      "NoSuchEntity",
      `The role policy with name ${policyName} cannot be found.`,
      404,
    );
  }
  return document;
}

/** `GetRolePolicy`: the inline policy, its document URL-encoded as AWS returns it. */
export function getRolePolicy({ state, caller, params }: ActionContext): XmlValue {
  const violations: string[] = [];
  checkName("roleName", params.RoleName, violations);
  checkName("policyName", params.PolicyName, violations);
  throwIfAny(violations);
  const role = existingRole(state, caller.accountId, params.RoleName);
  const document = existingPolicy(role, params.PolicyName);
  return {
    RoleName: role.roleName,
    PolicyName: params.PolicyName,
    PolicyDocument: encodeURIComponent(document),
  };
}

/** `ListRolePolicies`: the names of the role's inline policies, sorted, in one page. */
export function listRolePolicies({ state, caller, params }: ActionContext): XmlValue {
  const violations: string[] = [];
  checkName("roleName", params.RoleName, violations);
  throwIfAny(violations);
  const role = existingRole(state, caller.accountId, params.RoleName);
  return { PolicyNames: [...role.inlinePolicies.keys()].sort(), IsTruncated: false };
}

/** `DeleteRolePolicy`: remove an inline policy, or `NoSuchEntity` (404). */
export function deleteRolePolicy({ state, caller, params }: ActionContext): XmlValue {
  const violations: string[] = [];
  checkName("roleName", params.RoleName, violations);
  checkName("policyName", params.PolicyName, violations);
  throwIfAny(violations);
  const role = existingRole(state, caller.accountId, params.RoleName);
  existingPolicy(role, params.PolicyName);
  role.inlinePolicies.delete(params.PolicyName);
  return undefined;
}

/** The IAM actions by name. */
export const IAM_ACTIONS: Record<string, ActionHandler> = {
  CreateRole: createRole,
  GetRole: getRole,
  UpdateRole: updateRole,
  UpdateAssumeRolePolicy: updateAssumeRolePolicy,
  DeleteRole: deleteRole,
  PutRolePolicy: putRolePolicy,
  GetRolePolicy: getRolePolicy,
  ListRolePolicies: listRolePolicies,
  DeleteRolePolicy: deleteRolePolicy,
  ...IAM_MFA_ACTIONS,
  ...IAM_ACCESS_KEY_ACTIONS,
};
