/**
 * The output of AWS's `credential_process`: the JSON that a profile's
 * `credential_process = timebound-iam credential-process …` line hands to the AWS CLI and SDKs.
 *
 * @module
 */

import type { SessionCredentials } from "../aws/broker.ts";

/**
 * Renders credentials as `credential_process` output: `Version` 1, the keys, and `Expiration`
 * (so the SDKs run the process again before the credentials expire).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderCredentialProcess } from "./credential_process.ts";
 * const json = JSON.parse(renderCredentialProcess({
 *   accessKeyId: "ASIAEXAMPLE", secretAccessKey: "secret", sessionToken: "token",
 *   expiration: new Date("2030-01-01T00:00:00Z"),
 * }));
 * assert.ok(json.Version === 1 && json.Expiration === "2030-01-01T00:00:00.000Z");
 * ```
 */
export function renderCredentialProcess(credentials: SessionCredentials): string {
  return JSON.stringify({
    Version: 1,
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    SessionToken: credentials.sessionToken,
    Expiration: credentials.expiration.toISOString(),
  }) + "\n";
}

/**
 * A profile block for `~/.aws/config` whose `credential_process` runs timebound-iam with these
 * scopes and TTL (and base profile, if any). `command` names the binary (default
 * `timebound-iam`, found on PATH).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderProcessProfile } from "./credential_process.ts";
 * const block = renderProcessProfile("s3-reader", { scopes: ["s3:ro"], ttl: "15m" });
 * assert.ok(block.startsWith("[profile s3-reader]\n"));
 * ```
 */
export function renderProcessProfile(
  name: string,
  options: {
    scopes: readonly string[];
    ttl: string;
    baseProfile?: string;
    region?: string;
    command?: string;
  },
): string {
  const args = [
    options.command ?? "timebound-iam",
    "credential-process",
    "-s",
    options.scopes.join(","),
    "-t",
  ];
  args.push(options.ttl);
  if (options.baseProfile) args.push("--profile", options.baseProfile);
  const lines = [`[profile ${name}]`, `credential_process = ${args.join(" ")}`];
  if (options.region) lines.push(`region = ${options.region}`);
  return lines.join("\n") + "\n";
}
