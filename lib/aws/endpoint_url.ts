/**
 * The endpoint URLs that send timebound-iam's own STS and IAM calls somewhere other than AWS
 * (`AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL_IAM`, `AWS_ENDPOINT_URL`, a profile's
 * `endpoint_url`), checked before any request: the SDK takes any text, so a `file:` URL or a
 * typo failed only at the first call, as a connection refused. The switch that turns them off
 * (`AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`, a profile's `ignore_configured_endpoint_urls`) is read
 * exactly as the AWS SDK for JavaScript reads it, so that the checks and the messages name the
 * endpoint the SDK uses. Kept apart from the SDK's modules: nothing here loads them.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";

/** The variables the AWS SDK reads for the STS and IAM clients' endpoint. */
const ENDPOINT_VARIABLES = ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL"];

/** The variable that turns every configured endpoint off. */
const IGNORE_VARIABLE = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";

/**
 * A true/false setting as the AWS SDK for JavaScript reads it (`booleanSelector` of
 * `@smithy/core/config`): exactly `true` or `false`; anything else (`TRUE`, `1`, ` true`, `yes`,
 * empty) is `undefined`, for the SDK's loader skips such a value, without a word, to the next
 * place that may hold the setting.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sdkBoolean } from "./endpoint_url.ts";
 * assert.equal(sdkBoolean("true"), true);
 * assert.equal(sdkBoolean("false"), false);
 * assert.equal(sdkBoolean("TRUE"), undefined);
 * ```
 */
export function sdkBoolean(value: string | undefined): boolean | undefined {
  return value === "true" ? true : value === "false" ? false : undefined;
}

/**
 * Whether the AWS SDK ignores every configured endpoint (the variables, `endpoint_url`, a
 * `services` section) for a client of a profile whose `ignore_configured_endpoint_urls` is
 * `profileSetting`: `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` decides when it is exactly `true` or
 * `false` (`false` wins over the profile's `true`), else the profile's setting when it is
 * exactly `true`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ignoresConfiguredEndpoints } from "./endpoint_url.ts";
 * assert.equal(ignoresConfiguredEndpoints({ AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" }), true);
 * assert.equal(ignoresConfiguredEndpoints({ AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "TRUE" }), false);
 * assert.equal(ignoresConfiguredEndpoints({ AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "yes" }, "true"), true);
 * assert.equal(ignoresConfiguredEndpoints({ AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "false" }, "true"), false);
 * ```
 */
export function ignoresConfiguredEndpoints(
  env: Readonly<Record<string, string | undefined>>,
  profileSetting?: string,
): boolean {
  return sdkBoolean(env[IGNORE_VARIABLE]) ?? sdkBoolean(profileSetting) ?? false;
}

/**
 * Refuses an `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL_IAM` or `AWS_ENDPOINT_URL` that is not an
 * http(s) URL, unless the SDK ignores them (see {@linkcode ignoresConfiguredEndpoints}; the
 * profile's `ignore_configured_endpoint_urls` is `profileSetting`). When the switch is set to
 * something the SDK does not read as true, the hint says so.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkEndpointVariables } from "./endpoint_url.ts";
 * checkEndpointVariables({ AWS_ENDPOINT_URL_STS: "http://127.0.0.1:4566" });
 * checkEndpointVariables({ AWS_ENDPOINT_URL: "file:///tmp/x" }, "true");
 * assert.throws(() => checkEndpointVariables({ AWS_ENDPOINT_URL: "file:///tmp/x" }));
 * ```
 */
export function checkEndpointVariables(
  env: Readonly<Record<string, string | undefined>>,
  profileSetting?: string,
): void {
  if (ignoresConfiguredEndpoints(env, profileSetting)) return;
  const switchValue = env[IGNORE_VARIABLE];
  const note = switchValue === undefined || sdkBoolean(switchValue) !== undefined
    ? undefined
    : `${IGNORE_VARIABLE} is "${logText(switchValue, 40)}": the AWS SDK turns the endpoint ` +
      "settings off only for exactly true";
  for (const name of ENDPOINT_VARIABLES) {
    const value = env[name];
    // The SDK skips an empty one, as it does an unset one.
    if (value) checkEndpointUrl(value, { setting: name, note });
  }
}

/**
 * `value` if it is an http(s) URL with a host, else a {@linkcode UsageError} naming `setting`, and
 * `file` when it is a setting in a file (else a variable), its hint ending with `note` when
 * given. The error never repeats the value: a URL may hold a password.
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
export function checkEndpointUrl(
  value: string,
  where: { setting: string; file?: string; note?: string },
): string {
  const url = URL.parse(value);
  if (url === null || !["http:", "https:"].includes(url.protocol) || url.hostname === "") {
    const place = where.file ? ` in ${where.file}` : "";
    const remove = where.file ? "remove it" : `unset ${where.setting}`;
    throw new UsageError(
      `Invalid ${where.setting}${place}: it must be an http:// or https:// URL`,
      {
        hint: `give one such as http://127.0.0.1:4566, or ${remove}` +
          (where.note ? ` (${where.note})` : ""),
      },
    );
  }
  return value;
}
