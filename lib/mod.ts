/**
 * timebound-iam as a library: the same functions that back the CLI and the MCP server. Turn
 * scopes into a least-privilege session policy, assume the broker role, and hand the
 * credentials to a process.
 *
 * @example
 * ```ts ignore
 * import { assumeBrokerRole, connectBroker, prepareGrant } from "@timebound/iam";
 *
 * const request = await prepareGrant({ scopes: ["s3:ro"], ttl: "5m" });
 * const broker = await connectBroker({ env: Deno.env.toObject() });
 * const grant = await assumeBrokerRole(broker, {
 *   policy: request.policy,
 *   ttlSeconds: request.ttlSeconds,
 * });
 * ```
 *
 * @module
 */

export * from "./core/errors.ts";
export * from "./request/scope.ts";
export * from "./request/ttl.ts";
export * from "./request/catalog.ts";
export * from "./request/session_policy.ts";
export * from "./request/deadline.ts";
export * from "./request/grant_request.ts";
export * from "./request/role_arn.ts";
export * from "./aws/broker.ts";
export * from "./delivery/credential_env.ts";
export * from "./delivery/shell_env.ts";
export { VERSION } from "./core/version.ts";
