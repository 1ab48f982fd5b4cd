/**
 * `doctor --console`: whether the console's federation endpoint answers, with a `HEAD` and a
 * timeout. Only when asked: it is a request to AWS's sign-in host that a grant does not need.
 *
 * @module
 */

import { federationUrl } from "../aws/console_url.ts";
import { checkFederationEndpoint } from "../aws/signin_token.ts";
import { awsTimeoutMs } from "../aws/timeout.ts";
import { resolveRegion } from "../aws/broker.ts";
import { UserError } from "../core/errors.ts";
import { loadConfig } from "../grant/config_file.ts";
import { regionSetting } from "../grant/settings.ts";
import type { Check } from "./doctor.ts";

/**
 * The region a grant would use: the flag, the environment, the config file (when it can be read;
 * doctor reports it otherwise), the AWS profile's, else `us-east-1`.
 */
async function grantRegion(
  flags: { profile?: string; region?: string },
  env: Readonly<Record<string, string>>,
): Promise<string> {
  const config = await loadConfig(env).then((file) => file.config, () => ({}));
  return regionSetting(flags, env, config) ??
    await resolveRegion({ profile: flags.profile, region: undefined, env });
}

/**
 * Checks that the federation endpoint of the region a grant would use (or
 * `TIMEBOUND_IAM_SIGNIN_URL`) answers a `HEAD` within the AWS timeout. Any HTTP answer below 500 passes: the endpoint refuses a request
 * without an action, and that refusal proves it is reachable. `fetch` is the global one unless a
 * test hands in another.
 */
export async function consoleCheck(
  flags: { profile?: string; region?: string },
  options: { env: Readonly<Record<string, string>>; fetch?: typeof fetch },
): Promise<Check> {
  const label = "console sign-in";
  let federation: URL;
  try {
    federation = federationUrl(await grantRegion(flags, options.env), options.env);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return { status: "fail", label, detail: error.message, fix: error.hint };
  }
  const where = `${federation.origin}${federation.pathname}`;
  const answer = await checkFederationEndpoint({
    federation,
    timeoutMs: awsTimeoutMs(options.env),
    fetch: options.fetch,
  });
  if (answer.ok) {
    return { status: "pass", label, detail: `${where} answers (HTTP ${answer.status} to a HEAD)` };
  }
  return {
    status: "fail",
    label,
    detail: `${where}: ${answer.reason}`,
    fix: "check the network and any proxy (HTTPS_PROXY); TIMEBOUND_IAM_SIGNIN_URL names " +
      "another federation endpoint",
  };
}
