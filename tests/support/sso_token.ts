/**
 * An SSO profile's settings (a legacy start URL) and its token, cached as `aws sso login` caches
 * it, so that the AWS SDK's chain asks IAM Identity Center for the role credentials at once.
 *
 * @module
 */

/** The start URL of {@linkcode SSO_SETTINGS}. */
export const START_URL = "https://example.awsapps.com/start";

/** The settings of an SSO profile (legacy start URL) whose token `cacheSsoToken` caches. */
export const SSO_SETTINGS = `sso_start_url = ${START_URL}\nsso_region = us-east-1\n` +
  "sso_account_id = 123456789012\nsso_role_name = Dev\n";

/** Caches a valid token for {@linkcode START_URL} under `home`, as `aws sso login` does. */
export async function cacheSsoToken(home: string): Promise<void> {
  // The file is named by the SHA-1 of the start URL.
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(START_URL));
  const name = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  await Deno.mkdir(`${home}/.aws/sso/cache`, { recursive: true });
  await Deno.writeTextFile(
    `${home}/.aws/sso/cache/${name}.json`,
    JSON.stringify({
      startUrl: START_URL,
      region: "us-east-1",
      accessToken: "sso-access-token",
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    }),
  );
}
