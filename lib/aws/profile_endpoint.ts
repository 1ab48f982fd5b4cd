/**
 * The endpoint settings of an AWS SDK client that works for a named profile. The SDK (this
 * version) looks up a configured endpoint (`endpoint_url`, a `services` section) and the switch
 * that turns them off (`ignore_configured_endpoint_urls`) in the profile of `AWS_PROFILE`, else in
 * `[default]`, whatever profile the client is given: so `[default]`'s `endpoint_url` would steer
 * the calls of `--profile prod`, signed with prod's credentials. So each client is told its
 * endpoint here, decided as the SDK decides it (and as the AWS CLI does) but with the named
 * profile's own settings, read with the SDK's loader: none when the configured endpoints are
 * turned off (`AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`, read as the SDK reads it, else the profile's
 * `ignore_configured_endpoint_urls`); else `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the
 * profile's own (its `services` section's, its `endpoint_url`); else AWS's own. The variables and
 * the profile's URL are checked here, before the client's first request: only the commands that
 * call AWS build a client. The clients of the SDK's own credential chain (a `role_arn` profile's
 * AssumeRole, SSO) get the same answer through {@linkcode chainEndpointConfig}. For messages,
 * `stsEndpointInUse` says which endpoint an STS client's calls go to, and which setting named it.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import {
  checkEndpointUrl,
  checkEndpointVariables,
  ignoresConfiguredEndpoints,
} from "./endpoint_url.ts";
import { credentialSettingsOf } from "./profile.ts";
import { smithyConfigModule } from "./sdk.ts";

/** What an SDK client's configuration takes for the profile's endpoint. */
export interface ProfileEndpointConfig {
  /** The profile whose settings (retries, FIPS, dual-stack…) the client follows. */
  profile: string;
  /** The endpoint that the environment or the profile's own settings name. */
  endpoint?: string;
  /** Set when the profile names none: the SDK then reads no other profile's. */
  ignoreConfiguredEndpointUrls?: boolean;
}

/**
 * The client settings that make an SDK client for `service` (`sts`, `iam`) of `profile` send its
 * calls where the SDK would for that profile (see the module's description).
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
  const { profile } = options;
  const used = await configuredEndpoint(service, options);
  return used ? { profile, endpoint: used.url } : { profile, ignoreConfiguredEndpointUrls: true };
}

/**
 * Checks now the endpoint settings that `profile`'s STS and IAM clients will follow (`[default]`'s
 * when none is named), for a command that makes its clients later: `serve` refuses a bad one at
 * its start, not at an agent's first grant.
 */
export async function checkEndpointSettings(
  profile: string | undefined,
  env: Readonly<Record<string, string>>,
): Promise<void> {
  for (const service of ["sts", "iam"] as const) {
    await configuredEndpoint(service, { profile: profile ?? "default", env });
  }
}

/** The endpoint a client sends its calls to, and the setting that named it. */
export interface EndpointInUse {
  /** The URL (it may hold a user name and password: never shown as is). */
  url: string;
  /** The variable or file setting that named it; none for AWS's own endpoint. */
  setting?: string;
}

/**
 * Where an STS client for `profile` (`[default]` when none is named) sends its calls, for
 * messages: none of the settings when they are turned off (`AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`
 * or the profile's `ignore_configured_endpoint_urls`, read as the SDK reads them); else
 * `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, the profile's own (`endpoint_url`, a `services`
 * section); else AWS's own endpoint of `region`.
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
  return await stsEndpoint(region, options).catch(() => ({
    url: `https://sts.${region}.amazonaws.com`,
  }));
}

/**
 * Where an STS client for `profile` sends its calls, as {@linkcode stsEndpointInUse} says, for
 * a request about to be sent: an endpoint setting that is not an http(s) URL (the variables, the
 * profile's own) is a {@linkcode UsageError}, never AWS's own endpoint instead.
 */
export async function stsEndpoint(
  region: string,
  options: { profile?: string; env: Readonly<Record<string, string>> },
): Promise<EndpointInUse> {
  const { profile = "default", env } = options;
  const used = await configuredEndpoint("sts", { profile, env });
  return used ?? { url: `https://sts.${region}.amazonaws.com` };
}

/**
 * The SDK's clients that a profile's credential chain makes (inner clients): `sts` for a
 * `role_arn` (AssumeRole) or a web identity token, `sso` and `sso oidc` for IAM Identity
 * Center, `signin` for `aws login`, walking the `source_profile`s.
 */
type ChainService = "sts" | "sso" | "sso oidc" | "signin";

/** An SDK client's endpoint settings: the endpoint, or none configured (AWS's own). */
export type EndpointSettings = { endpoint: string } | { ignoreConfiguredEndpointUrls: true };

/** The endpoint settings for the inner clients of a profile's credential chain. */
export interface ChainEndpointConfig {
  /**
   * For every inner client (the chain's `clientConfig`); `undefined` when those other than STS
   * would differ (`AWS_ENDPOINT_URL_SSO` and not `AWS_ENDPOINT_URL_SSO_OIDC`…): the SDK gives
   * them one configuration, so it decides for them, as it did before (see docs/commands.md).
   */
  shared?: EndpointSettings;
  /** For the chain's STS clients (AssumeRole, a web identity's), when not `shared`. */
  sts?: EndpointSettings;
  /** Whether the chain makes STS clients (a `role_arn`, a web identity token). */
  usesSts: boolean;
}

/**
 * The endpoint settings for the inner clients of `profile`'s credential chain (the SDK's
 * `clientConfig` of `fromNodeProviderChain`, and its role assumers), so that they send to where
 * the profile's own settings say, never to `[default]`'s `endpoint_url` (see the module's
 * description). With no profile named, none: the SDK reads `[default]`'s, as it should.
 *
 * @example
 * ```ts ignore
 * import { chainEndpointConfig } from "./profile_endpoint.ts";
 * const { shared } = await chainEndpointConfig("prod", Deno.env.toObject());
 * // fromNodeProviderChain({ profile: "prod", clientConfig: { region, ...shared } })
 * ```
 */
export async function chainEndpointConfig(
  profile: string | undefined,
  env: Readonly<Record<string, string>>,
): Promise<ChainEndpointConfig> {
  const services = await chainServices(profile ?? "default", env);
  const usesSts = services.has("sts");
  if (profile === undefined) return { usesSts };
  const settingsOf = async (service: ChainService): Promise<EndpointSettings> => {
    const used = await configuredEndpoint(service, { profile, env });
    return used ? { endpoint: used.url } : { ignoreConfiguredEndpointUrls: true };
  };
  const others = await Promise.all([...services].filter((s) => s !== "sts").map(settingsOf));
  const sts = services.has("sts") ? await settingsOf("sts") : undefined;
  const kinds = new Set([...others, ...(sts ? [sts] : [])].map((s) => JSON.stringify(s)));
  if (kinds.size <= 1) return { shared: others[0] ?? sts, usesSts };
  const otherKinds = new Set(others.map((s) => JSON.stringify(s)));
  return { shared: otherKinds.size === 1 ? others[0] : undefined, sts, usesSts };
}

/**
 * Whether `profile`'s credentials come through IAM Identity Center: its own `sso_*` settings, or
 * those of a `source_profile` on its chain. For messages.
 */
export async function usesIdentityCenter(profile: string): Promise<boolean> {
  return (await chainServices(profile, {})).has("sso");
}

/** The services of the inner clients that `profile`'s credential chain makes. */
async function chainServices(
  profile: string,
  env: Readonly<Record<string, string>>,
): Promise<Set<ChainService>> {
  const { loadSharedConfigFiles } = await smithyConfigModule();
  const files = await loadSharedConfigFiles();
  const services = new Set<ChainService>();
  // The SDK's chain falls back to a web identity token from the environment.
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE) services.add("sts");
  const seen = new Set<string>();
  let name: string | undefined = profile;
  while (name !== undefined && !seen.has(name) && seen.size < 20) {
    seen.add(name);
    // The chain's own settings, merged as its credential providers merge them.
    const settings = credentialSettingsOf(files, name);
    if (settings.role_arn || settings.web_identity_token_file) services.add("sts");
    if (Object.keys(settings).some((key) => key.startsWith("sso_"))) {
      services.add("sso");
      if (settings.sso_session) services.add("sso oidc");
    }
    if (settings.login_session) services.add("signin");
    name = settings.role_arn ? settings.source_profile : undefined;
  }
  return services;
}

/**
 * The `ignore_configured_endpoint_urls` that an SDK client given the environment `env` reads (the
 * signing proxy of `--masked` stands in for such a client): the setting of the profile of `env`'s
 * `AWS_PROFILE`, else of `[default]` (never `AWS_DEFAULT_PROFILE`'s, which the SDK does not read),
 * `~/.aws/config`'s over `~/.aws/credentials`', read with the SDK's loader from the files that
 * `env` names (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, else the SDK's defaults).
 */
export async function clientIgnoreSetting(
  env: Readonly<Record<string, string | undefined>>,
): Promise<string | undefined> {
  const { loadSharedConfigFiles } = await smithyConfigModule();
  const files = await loadSharedConfigFiles({
    configFilepath: env.AWS_CONFIG_FILE || undefined,
    filepath: env.AWS_SHARED_CREDENTIALS_FILE || undefined,
  });
  const profile = env.AWS_PROFILE || "default";
  const section = (file?: Record<string, Record<string, string | undefined>>) =>
    file !== undefined && Object.hasOwn(file, profile) ? file[profile] : undefined;
  return { ...section(files.credentialsFile), ...section(files.configFile) }
    .ignore_configured_endpoint_urls;
}

/**
 * Where an SDK client for `service` of `profile` sends its calls (see the module's
 * description): `undefined` for AWS's own endpoint. The endpoint variables and the profile's
 * URL are checked first (one that is not http(s) is a {@linkcode UsageError}).
 */
async function configuredEndpoint(
  service: "iam" | ChainService,
  options: { profile: string; env: Readonly<Record<string, string | undefined>> },
): Promise<Required<EndpointInUse> | undefined> {
  const { profile, env } = options;
  const { loadSharedConfigFiles } = await smithyConfigModule();
  const files = await loadSharedConfigFiles();
  // ~/.aws/config's settings win over ~/.aws/credentials', as the SDK reads them (botocore, the
  // AWS CLI's, the other way round).
  const settings = { ...files.credentialsFile?.[profile], ...files.configFile?.[profile] };
  const ignoreSetting = settings.ignore_configured_endpoint_urls;
  checkEndpointVariables(env, ignoreSetting);
  if (ignoresConfiguredEndpoints(env, ignoreSetting)) return undefined;
  const suffix = service.toUpperCase().replaceAll(" ", "_");
  for (const setting of [`AWS_ENDPOINT_URL_${suffix}`, "AWS_ENDPOINT_URL"]) {
    const url = env[setting];
    if (url) return { url, setting };
  }
  return ownEndpoint(service, { profile, files, settings });
}

/**
 * `profile`'s own endpoint for `service` in its `settings` (a `services` section's, else its
 * `endpoint_url`), checked: `undefined` when it names none.
 */
function ownEndpoint(
  service: "iam" | ChainService,
  from: {
    profile: string;
    files: { configFile?: Record<string, Record<string, string | undefined>> };
    settings: Record<string, string | undefined>;
  },
): Required<EndpointInUse> | undefined {
  const { profile, files, settings } = from;
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
    const key = service.replaceAll(" ", "_");
    const endpoint = section[`${key}.endpoint_url`];
    if (endpoint) {
      const setting = `${key}.endpoint_url of [services ${logText(services, 80)}]`;
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
