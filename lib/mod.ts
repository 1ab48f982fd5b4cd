/**
 * timebound-iam as a library: the same functions that back the CLI and the MCP server. Turn
 * scopes into a least-privilege session policy, assume the broker role, and hand the
 * credentials to a process.
 *
 * @example
 * ```ts ignore
 * import { assumeBrokerRole, connectBroker, prepareGrant } from "@timebound/iam";
 *
 * const request = await prepareGrant({ scopes: ["s3:ro"], ttl: "15m" });
 * const broker = await connectBroker({ env: Deno.env.toObject() });
 * const grant = await assumeBrokerRole(broker, {
 *   policy: request.policy.packed,
 *   ttlSeconds: request.ttlSeconds,
 * });
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./scope.ts";
export * from "./ttl.ts";
export * from "./catalog.ts";
export * from "./session_policy.ts";
export * from "./grant_request.ts";
export * from "./broker.ts";
export * from "./credential_env.ts";
export * from "./shell_env.ts";
export { VERSION } from "./version.ts";
