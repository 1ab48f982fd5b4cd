/**
 * The story `exec --refresh` and `shell --refresh` share: serve a renewable grant through the
 * local credential endpoint while a child runs, and stop the endpoint when the child exits.
 *
 * @module
 */

import { defaultProfileHoldsCredentials } from "../aws/credential_source.ts";
import { endpointEnvironment } from "../delivery/credential_env.ts";
import { startCredentialServer } from "../delivery/credential_server.ts";
import type { Cli } from "./options.ts";
import type { RenewableGrant } from "./grant_flow.ts";

/**
 * Starts the endpoint for `renewable` (renewing for at most `limitSeconds`), hands `run` the
 * child's environment (the endpoint's URL and token, no keys), and closes the endpoint and the
 * grant when `run` settles. Resolves to what `run` resolves to.
 */
export async function runRenewing<T>(
  cli: Cli,
  renewable: RenewableGrant,
  options: { limitSeconds: number; run: (env: Record<string, string>) => Promise<T> },
): Promise<T> {
  const { grant } = renewable;
  const server = await startCredentialServer({
    initial: grant.credentials,
    renew: async (signal) => (await renewable.renew(signal)).credentials,
    renewUntil: new Date(cli.now().getTime() + options.limitSeconds * 1000),
    warn: (line) => cli.io.stderr(`warning: ${line}\n`),
  });
  try {
    const hideConfig = await defaultProfileHoldsCredentials();
    if (hideConfig) {
      cli.io.stderr(
        "note: the child reads no AWS config file: its default profile holds credentials, " +
          "which AWS tools would prefer over the renewing endpoint\n",
      );
    }
    const env = endpointEnvironment(cli.io.env, {
      endpoint: server.env,
      region: grant.region,
      sessionName: grant.sessionName,
      hideConfig,
    });
    return await options.run(env);
  } finally {
    await server.close();
    renewable.close();
  }
}
