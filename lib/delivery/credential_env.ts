/**
 * The environment variables that carry a grant: what `exec` gives its child, what `env` exports
 * and what an MCP env file holds, and which inherited variables must go so that nothing
 * bypasses the scoping.
 *
 * @module
 */

import type { SessionCredentials } from "../aws/broker.ts";

/** The variable that names the timebound-iam session a process runs under. */
export const SESSION_MARKER = "TIMEBOUND_IAM_SESSION";

/**
 * Every variable that `exec` and `env` set, in the order they are written.
 */
export const GRANT_VARIABLES: readonly string[] = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_CREDENTIAL_EXPIRATION",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  SESSION_MARKER,
];

/** The profile variables, which the AWS SDK for JavaScript prefers over keys. */
export const PROFILE_VARIABLES: readonly string[] = ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"];

/**
 * Variables through which an SDK finds credentials other than the grant's: the old token name,
 * the container credentials endpoint, and web identity (a role to assume with a token file).
 */
export const OTHER_CREDENTIAL_VARIABLES: readonly string[] = [
  "AWS_SECURITY_TOKEN",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "AWS_ROLE_ARN",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_ROLE_SESSION_NAME",
];

/**
 * Inherited variables removed from a child's environment: other credentials (and every other
 * way to find some, a Bedrock API key among them), the MFA code and the vault's passphrase timebound-iam was given, and the
 * profile variables, because the AWS SDK for JavaScript prefers a profile over keys in the
 * environment and would silently use the unscoped profile.
 */
export const SHADOWING_VARIABLES: readonly string[] = [
  // A one-time code given to timebound-iam is not the child's to read.
  "TIMEBOUND_IAM_MFA_CODE",
  // Nor the vault file's passphrase: with it, a child would decrypt the human's own keys.
  "TIMEBOUND_IAM_VAULT_PASSPHRASE",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_CREDENTIAL_EXPIRATION",
  // Secrets that other clients read beside the keys: the AWS SDK for Java 1.x's older key names,
  // and a Bedrock API key, which the SDKs prefer to any keys (long-lived, and not scoped).
  "AWS_ACCESS_KEY",
  "AWS_SECRET_KEY",
  "AWS_BEARER_TOKEN_BEDROCK",
  ...OTHER_CREDENTIAL_VARIABLES,
  ...PROFILE_VARIABLES,
];

/** What `env --unset` removes: the grant's variables and every other source of credentials. */
export const UNSET_VARIABLES: readonly string[] = [
  ...GRANT_VARIABLES,
  ...OTHER_CREDENTIAL_VARIABLES,
];

/**
 * The variables that hand a session to a process.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grantVariables } from "./credential_env.ts";
 * const vars = grantVariables({
 *   accessKeyId: "ASIAEXAMPLE", secretAccessKey: "secret", sessionToken: "token",
 *   expiration: new Date("2030-01-01T00:00:00Z"),
 * }, { region: "eu-west-1", sessionName: "timebound-iam-1" });
 * assert.equal(vars.AWS_DEFAULT_REGION, "eu-west-1");
 * ```
 */
export function grantVariables(
  credentials: SessionCredentials,
  options: { region: string; sessionName: string },
): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: credentials.sessionToken,
    AWS_CREDENTIAL_EXPIRATION: credentials.expiration.toISOString(),
    AWS_REGION: options.region,
    AWS_DEFAULT_REGION: options.region,
    [SESSION_MARKER]: options.sessionName,
  };
}

/**
 * A child's environment: the parent's, minus the shadowing variables, plus the grant's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { childEnvironment } from "./credential_env.ts";
 * const env = childEnvironment({ AWS_PROFILE: "prod", PATH: "/bin" }, { AWS_ACCESS_KEY_ID: "ASIA" });
 * assert.deepEqual(env, { PATH: "/bin", AWS_ACCESS_KEY_ID: "ASIA" });
 * ```
 */
export function childEnvironment(
  parent: Readonly<Record<string, string>>,
  grant: Readonly<Record<string, string>>,
): Record<string, string> {
  const env = { ...parent };
  for (const name of SHADOWING_VARIABLES) delete env[name];
  return { ...env, ...grant };
}

/**
 * The environment of a child that gets its credentials from the renewing endpoint: the
 * parent's, minus the shadowing variables (which name every other credential source: the SDKs
 * would prefer a web identity token to the endpoint, and another container endpoint to ours),
 * plus the endpoint's URL and token, the region and the session marker, and no keys at all. The
 * SDKs and the AWS CLI consult the shared credentials file (and the config file's default
 * profile) before a container endpoint, so the child reads the null device (`/dev/null`, `NUL` on
 * Windows: AWS tools read it as an empty file) as its credentials file, and as its config file
 * too when `hideConfig` says the default profile there holds credentials. `os` is the platform's
 * unless given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { endpointEnvironment } from "./credential_env.ts";
 * const env = endpointEnvironment({ AWS_SECRET_ACCESS_KEY: "s", PATH: "/bin" }, {
 *   endpoint: { AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:1/x" },
 *   region: "eu-west-1", sessionName: "timebound-iam-1", hideConfig: false,
 * });
 * assert.ok(!("AWS_SECRET_ACCESS_KEY" in env) && env.AWS_REGION === "eu-west-1");
 * ```
 */
export function endpointEnvironment(
  parent: Readonly<Record<string, string>>,
  options: {
    endpoint: Readonly<Record<string, string>>;
    region: string;
    sessionName: string;
    hideConfig: boolean;
    os?: string;
  },
): Record<string, string> {
  const nullDevice = (options.os ?? Deno.build.os) === "windows" ? "NUL" : "/dev/null";
  const env = { ...parent };
  for (const name of SHADOWING_VARIABLES) delete env[name];
  env.AWS_SHARED_CREDENTIALS_FILE = nullDevice;
  if (options.hideConfig) env.AWS_CONFIG_FILE = nullDevice;
  return {
    ...env,
    ...options.endpoint,
    AWS_REGION: options.region,
    AWS_DEFAULT_REGION: options.region,
    [SESSION_MARKER]: options.sessionName,
  };
}

/**
 * Variables that would take a masked child's calls around the signing proxy or break them on
 * it: one that makes SDKs ignore `AWS_ENDPOINT_URL*`, and the FIPS and dual-stack switches,
 * which the SDKs refuse beside a custom endpoint.
 */
export const MASKED_REMOVED_VARIABLES: readonly string[] = [
  "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
  "AWS_USE_FIPS_ENDPOINT",
  "AWS_USE_DUALSTACK_ENDPOINT",
];

/**
 * A masked child's environment: the parent's minus every other credential source, plus the
 * stand-in keys, `AWS_ENDPOINT_URL` and every `AWS_ENDPOINT_URL_<SERVICE>` the parent had
 * pointed at the proxy, the region and the session marker. The child reads the null device as
 * its AWS config and credentials files, so no profile names another endpoint or credentials.
 * `expiration` (the session's, without `--refresh`) becomes `AWS_CREDENTIAL_EXPIRATION`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskedEnvironment } from "./credential_env.ts";
 * const env = maskedEnvironment({ AWS_ENDPOINT_URL_S3: "http://minio:9000", PATH: "/bin" }, {
 *   proxyUrl: "http://127.0.0.1:5000",
 *   standIn: { accessKeyId: "ASIASTANDIN", secretAccessKey: "s", sessionToken: "t" },
 *   region: "eu-west-1", sessionName: "timebound-iam-1", os: "linux",
 * });
 * assert.equal(env.AWS_ENDPOINT_URL_S3, "http://127.0.0.1:5000");
 * assert.equal(env.AWS_CONFIG_FILE, "/dev/null");
 * ```
 */
export function maskedEnvironment(
  parent: Readonly<Record<string, string>>,
  options: {
    proxyUrl: string;
    standIn: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
    region: string;
    sessionName: string;
    expiration?: Date;
    os?: string;
  },
): Record<string, string> {
  const nullDevice = (options.os ?? Deno.build.os) === "windows" ? "NUL" : "/dev/null";
  const env = { ...parent };
  for (const name of [...SHADOWING_VARIABLES, ...MASKED_REMOVED_VARIABLES]) delete env[name];
  for (const name of Object.keys(env)) {
    if (/^AWS_ENDPOINT_URL_[A-Z0-9_]+$/.test(name)) env[name] = options.proxyUrl;
  }
  return {
    ...env,
    ...proxyBypass(env, new URL(options.proxyUrl).hostname),
    AWS_CONFIG_FILE: nullDevice,
    AWS_SHARED_CREDENTIALS_FILE: nullDevice,
    AWS_ENDPOINT_URL: options.proxyUrl,
    AWS_ACCESS_KEY_ID: options.standIn.accessKeyId,
    AWS_SECRET_ACCESS_KEY: options.standIn.secretAccessKey,
    AWS_SESSION_TOKEN: options.standIn.sessionToken,
    ...(options.expiration ? { AWS_CREDENTIAL_EXPIRATION: options.expiration.toISOString() } : {}),
    AWS_REGION: options.region,
    AWS_DEFAULT_REGION: options.region,
    [SESSION_MARKER]: options.sessionName,
  };
}

const HTTP_PROXY_VARIABLES = [
  "HTTP_PROXY",
  "http_proxy",
  "HTTPS_PROXY",
  "https_proxy",
  "ALL_PROXY",
  "all_proxy",
];

/**
 * Whether the environment names an HTTP proxy, which clients that honour `HTTP_PROXY` (botocore
 * and so the AWS CLI, curl) would send the loopback signing proxy's calls to.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { namesHttpProxy } from "./credential_env.ts";
 *
 * assert.equal(namesHttpProxy({ https_proxy: "http://proxy:3128" }), true);
 * assert.equal(namesHttpProxy({ NO_PROXY: "localhost" }), false);
 * ```
 */
export function namesHttpProxy(env: Readonly<Record<string, string | undefined>>): boolean {
  return HTTP_PROXY_VARIABLES.some((name) => env[name]);
}

/**
 * `NO_PROXY` and `no_proxy` naming the signing proxy's host too, when the environment names an
 * HTTP proxy: clients that honour `HTTP_PROXY` (botocore and so the AWS CLI, curl) would
 * otherwise send the calls meant for the loopback proxy to that one.
 */
function proxyBypass(env: Readonly<Record<string, string>>, host: string): Record<string, string> {
  if (!namesHttpProxy(env)) return {};
  const out: Record<string, string> = {};
  for (const name of ["NO_PROXY", "no_proxy"]) {
    const entries = (env[name] ?? "").split(",").map((e) => e.trim()).filter((e) => e !== "");
    out[name] = [...entries.filter((e) => e !== host), host].join(",");
  }
  return out;
}
