/**
 * The endpoint URLs that send timebound-iam's own STS and IAM calls somewhere other than AWS
 * (`AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL_IAM`, `AWS_ENDPOINT_URL`, a profile's
 * `endpoint_url`), checked before any request: the SDK takes any text, so a `file:` URL or a
 * typo failed only at the first call, as a connection refused. Kept apart from the SDK's modules
 * so that the root command can check the variables before any command runs.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";

/** The variables the AWS SDK reads for the STS and IAM clients' endpoint. */
const ENDPOINT_VARIABLES = ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL"];

/**
 * Refuses an `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL_IAM` or `AWS_ENDPOINT_URL` that is not an
 * http(s) URL, unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` makes the SDK ignore them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkEndpointVariables } from "./endpoint_url.ts";
 * checkEndpointVariables({ AWS_ENDPOINT_URL_STS: "http://127.0.0.1:4566" });
 * assert.throws(() => checkEndpointVariables({ AWS_ENDPOINT_URL: "file:///tmp/x" }));
 * ```
 */
export function checkEndpointVariables(env: Readonly<Record<string, string | undefined>>): void {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === "true") return;
  for (const name of ENDPOINT_VARIABLES) {
    const value = env[name];
    // The SDK skips an empty one, as it does an unset one.
    if (value) checkEndpointUrl(value, { setting: name });
  }
}

/**
 * `value` if it is an http(s) URL with a host, else a {@linkcode UsageError} naming `setting`, and
 * `file` when it is a setting in a file (else a variable). The error never repeats the value: a
 * URL may hold a password.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkEndpointUrl } from "./endpoint_url.ts";
 * const where = { setting: 'endpoint_url of profile "dev"', file: "~/.aws/config" };
 * assert.equal(checkEndpointUrl("https://sts.example.com", where), "https://sts.example.com");
 * assert.throws(() => checkEndpointUrl("ftp://alice:secret@example.com/", where), /http:\/\//);
 * ```
 */
export function checkEndpointUrl(value: string, where: { setting: string; file?: string }): string {
  const url = URL.parse(value);
  if (url === null || !["http:", "https:"].includes(url.protocol) || url.hostname === "") {
    const place = where.file ? ` in ${where.file}` : "";
    const remove = where.file ? "remove it" : `unset ${where.setting}`;
    throw new UsageError(
      `Invalid ${where.setting}${place}: it must be an http:// or https:// URL`,
      {
        hint: `give one such as http://127.0.0.1:4566, or ${remove}`,
      },
    );
  }
  return value;
}
