/**
 * The endpoint settings of an AWS SDK client that works for a named profile. The SDK (this
 * version) looks up a configured endpoint (`endpoint_url`, a `services` section) in the profile
 * of `AWS_PROFILE`, else in `[default]`, whatever profile the client is given: so `[default]`'s
 * `endpoint_url` would steer the calls of `--profile prod`, signed with prod's credentials. For
 * a named profile, the client gets that profile's own endpoint, read with the SDK's loader (as
 * the AWS CLI reads it); with none, the SDK is told to look up no configured endpoint. The
 * environment's `AWS_ENDPOINT_URL_<SERVICE>` and `AWS_ENDPOINT_URL` still win, read by the SDK as
 * before. A profile's URL that is not http(s) is refused here, before any request (the variables
 * are checked by the root command). For messages, `stsEndpointInUse` says which endpoint the SDK
 * sends an STS client's calls to, and which setting named it.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import { checkEndpointUrl } from "./endpoint_url.ts";
import { smithyConfigModule } from "./sdk.ts";

/** What an SDK client's configuration takes for the profile's endpoint. */
export interface ProfileEndpointConfig {
  /** The profile whose settings (retries, FIPS, dual-stack…) the client follows. */
  profile: string;
  /** The profile's configured endpoint, when it names one and the environment none. */
  endpoint?: string;
  /** Set when the profile names none: the SDK then reads no other profile's. */
  ignoreConfiguredEndpointUrls?: boolean;
}

/**
 * The client settings that make an SDK client for `service` (`sts`, `iam`) follow `profile`'s
 * configured endpoint (see the module's description).
 *
 * @example
 * ```ts ignore
 * import { profileEndpointConfig } from "./profile_endpoint.ts";
 * const settings = await profileEndpointConfig("sts", { profile: "prod", env: Deno.env.toObject() });
 * // new STSClient({ region, credentials, ...settings })
 * ```
 */
export async function profileEndpointConfig(
  service: "sts" | "iam",
  options: { profile: string; env: Readonly<Record<string, string>> },
): Promise<ProfileEndpointConfig> {
  const { profile, env } = options;
  const none = { profile, ignoreConfiguredEndpointUrls: true };
  if (isTrue(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS)) return none;
  // The environment's endpoint wins: the SDK reads it itself, as it always did.
  if (env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] || env.AWS_ENDPOINT_URL) return { profile };
  const own = await ownEndpoint(service, profile);
  return own ? { profile, endpoint: own.url } : none;
}

/** The endpoint a client sends its calls to, and the setting that named it. */
export interface EndpointInUse {
  /** The URL (it may hold a user name and password: never shown as is). */
  url: string;
  /** The variable or file setting that named it; none for AWS's own endpoint. */
  setting?: string;
}

/**
 * Where an STS client for `profile` (`[default]` when none is named) sends its calls, as the SDK
 * chooses, for messages: none of the settings when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is
 * `true`; else `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, the profile's own (`endpoint_url`, a
 * `services` section); else AWS's own endpoint of `region`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stsEndpointInUse } from "./profile_endpoint.ts";
 * const env = { AWS_ENDPOINT_URL_STS: "http://127.0.0.1:4566" };
 * assert.deepEqual(await stsEndpointInUse("eu-west-1", { env }), {
 *   url: "http://127.0.0.1:4566",
 *   setting: "AWS_ENDPOINT_URL_STS",
 * });
 * const ignored = { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" };
 * assert.deepEqual(await stsEndpointInUse("eu-west-1", { env: ignored }), {
 *   url: "https://sts.eu-west-1.amazonaws.com",
 * });
 * ```
 */
export async function stsEndpointInUse(
  region: string,
  options: { profile?: string; env: Readonly<Record<string, string>> },
): Promise<EndpointInUse> {
  const { profile = "default", env } = options;
  const aws = { url: `https://sts.${region}.amazonaws.com` };
  if (isTrue(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS)) return aws;
  for (const setting of ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"]) {
    if (env[setting]) return { url: env[setting], setting };
  }
  return await ownEndpoint("sts", profile).catch(() => undefined) ?? aws;
}

/**
 * `profile`'s own endpoint for `service`, read with the SDK's loader and checked: `undefined`
 * when it names none, or ignores configured endpoints.
 */
async function ownEndpoint(
  service: "sts" | "iam",
  profile: string,
): Promise<Required<EndpointInUse> | undefined> {
  const { loadSharedConfigFiles } = await smithyConfigModule();
  const files = await loadSharedConfigFiles();
  // ~/.aws/config's settings win over ~/.aws/credentials', as the SDK reads them (botocore, the
  // AWS CLI's, the other way round).
  const settings = { ...files.credentialsFile?.[profile], ...files.configFile?.[profile] };
  if (isTrue(settings.ignore_configured_endpoint_urls)) return undefined;
  const services = settings.services;
  if (services) {
    const section = files.configFile?.[`services.${services}`];
    if (section === undefined) {
      throw new UsageError(
        `Profile "${logText(profile, 80)}" names services "${logText(services, 80)}", ` +
          "which is not in ~/.aws/config",
        { hint: `add a [services ${logText(services, 80)}] section or remove the setting` },
      );
    }
    const endpoint = section[`${service}.endpoint_url`];
    if (endpoint) {
      const setting = `${service}.endpoint_url of [services ${logText(services, 80)}]`;
      return named(endpoint, { setting, file: "~/.aws/config" });
    }
  }
  const endpoint = settings.endpoint_url;
  if (!endpoint) return undefined;
  const file = files.configFile?.[profile]?.endpoint_url ? "~/.aws/config" : "~/.aws/credentials";
  return named(endpoint, { setting: `endpoint_url of profile "${logText(profile, 80)}"`, file });
}

function named(url: string, where: { setting: string; file: string }): Required<EndpointInUse> {
  return { url: checkEndpointUrl(url, where), setting: `${where.setting} in ${where.file}` };
}

function isTrue(value: string | undefined): boolean {
  return value?.toLowerCase() === "true";
}
