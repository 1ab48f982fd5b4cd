/**
 * Whether a grant may sign its own STS requests (`sts_query.ts`), and where to: the endpoint the
 * AWS SDK would send to, when none of its rules matter (a configured endpoint URL that `fetch` can
 * send to, or AWS's own regional endpoint of a commercial region with no FIPS, dual-stack, legacy
 * global endpoint, retry, proxy or `ignore_configured_endpoint_urls` setting); else none, and the
 * SDK's client makes the calls (`sts_connection.ts`).
 *
 * @module
 */

import { profileLabel, resolveProfile } from "./profile.ts";
import { smithyConfigModule } from "./sdk.ts";

/** Variables with which the SDK's endpoint rules, retries or HTTP agent differ from the plain. */
const SDK_VARIABLES = [
  "AWS_USE_FIPS_ENDPOINT",
  "AWS_USE_DUALSTACK_ENDPOINT",
  "AWS_STS_REGIONAL_ENDPOINTS",
  "AWS_MAX_ATTEMPTS",
  "AWS_RETRY_MODE",
  "AWS_SDK_UA_APP_ID",
  // The SDK reads it as exactly "true" or "false", and with it a profile's setting too.
  "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
  // The runtime's fetch follows them; the SDK's HTTP client, as run here, does not.
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "http_proxy",
  "https_proxy",
  "all_proxy",
];

/** The same settings in a profile of the shared config file. */
const SDK_SETTINGS = [
  "ignore_configured_endpoint_urls",
  "use_fips_endpoint",
  "use_dualstack_endpoint",
  "sts_regional_endpoints",
  "max_attempts",
  "retry_mode",
  "sdk_ua_app_id",
];

/** A region of AWS's commercial partition, whose STS endpoint is `sts.<region>.amazonaws.com`. */
const COMMERCIAL_REGION = /^(?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]{4,10}-\d{1,2}$/;

/**
 * The STS endpoint the SDK would send to, when it is one to sign for here: a configured endpoint
 * URL (a variable or the profile's), or AWS's own for a commercial region; `undefined` when any
 * setting makes the SDK's rules matter.
 */
export async function directEndpoint(
  config: { region: string; profile?: string; env: Readonly<Record<string, string>> },
): Promise<string | undefined> {
  const { env } = config;
  if (SDK_VARIABLES.some((name) => env[name] !== undefined)) return undefined;
  // The profile's settings, and those of the profiles where the SDK also looks for endpoint
  // settings (`AWS_PROFILE`'s, `[default]`).
  const { loadSharedConfigFiles } = await smithyConfigModule();
  const files = await loadSharedConfigFiles();
  const names = [profileLabel(resolveProfile(config.profile, env)), env.AWS_PROFILE, "default"];
  const settings = names.filter((name) => name !== undefined && name !== "").map((name) => ({
    ...files.credentialsFile?.[name!],
    ...files.configFile?.[name!],
  }));
  if (settings.some((s) => SDK_SETTINGS.some((setting) => s[setting] !== undefined))) {
    return undefined;
  }
  // A bad endpoint setting is refused here, before the first request: a grant from a cached MFA
  // session makes no SDK client, where it would be refused.
  const { stsEndpoint } = await import("./profile_endpoint.ts");
  const inUse = await stsEndpoint(config.region, { profile: config.profile, env });
  if (inUse.setting) return fetchable(inUse.url);
  if (!COMMERCIAL_REGION.test(config.region) || config.region.startsWith("us-gov-")) {
    return undefined;
  }
  return `https://sts.${config.region}.amazonaws.com`;
}

/**
 * Ports the runtime's `fetch` refuses to send to (the Fetch standard's "bad ports", as Deno
 * 2.9 blocks them); the SDK's HTTP client sends to any.
 */
// deno-fmt-ignore
const BAD_PORTS = new Set([
  0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95,
  101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179,
  389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601,
  636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566,
  6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/**
 * A configured endpoint URL as `fetch` can send to it, or `undefined` for the SDK to take: one
 * with a user name or password (`fetch` refuses those; the SDK sends them as Basic
 * authentication), on a port `fetch` blocks, or that does not parse.
 */
function fetchable(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return undefined;
  }
  if (parsed.username || parsed.password || parsed.search || parsed.hash) return undefined;
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return undefined;
  if (parsed.port !== "" && BAD_PORTS.has(Number(parsed.port))) return undefined;
  return parsed.href;
}
