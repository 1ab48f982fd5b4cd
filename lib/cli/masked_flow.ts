/**
 * The story `exec --masked` and `shell --masked` share: start the loopback signing proxy with
 * the grant behind it, hand the child stand-in keys and the proxy's URL (never the session), and
 * stop the proxy when the child ends. With `--refresh` the real session is renewed on a timer
 * behind the same stand-ins; inside a masked `shell` without it, `timebound-iam refresh` renews
 * the real session and gets the same stand-ins back, with the new expiry.
 *
 * @module
 */

import type { SessionCredentials } from "../aws/broker.ts";
import { awsTimeoutMs } from "../aws/timeout.ts";
import { maskedEnvironment } from "../delivery/credential_env.ts";
import { type CredentialServer, startCredentialServer } from "../delivery/credential_server.ts";
import { startSigningProxy } from "../delivery/signing_proxy.ts";
import type { CallRecord } from "../delivery/call_record.ts";
import type { Cli } from "./options.ts";
import type { RenewableGrant } from "./grant_flow.ts";

/** How the real session behind the stand-ins is renewed. */
export type MaskedRenewal =
  /** Never: the stand-ins stop working when the session ends. */
  | { mode: "none" }
  /** On a timer, until `limitSeconds` from now (`--refresh`). */
  | { mode: "renewing"; limitSeconds: number }
  /** When `timebound-iam refresh` asks (inside a masked `shell`). */
  | { mode: "on-request" };

/** What `run` gets: the child's environment, and the renewal endpoint of `on-request`. */
export interface MaskedChild {
  /** The child's environment: stand-ins, the proxy's URL, the region, no session. */
  env: Record<string, string>;
  /** The `on-request` endpoint (its URL and token), which answers with the stand-ins. */
  refresh?: { url: string; token: string };
}

/**
 * Serves `renewable` through the signing proxy while `run` runs, and closes the proxy, the
 * renewal and the grant when `run` settles (a call still waiting for AWS is abandoned, and
 * recorded as sent with no answer). Resolves to what `run` resolves to.
 */
export async function runMasked<T>(
  cli: Cli,
  renewable: RenewableGrant,
  options: {
    renewal: MaskedRenewal;
    run: (child: MaskedChild) => Promise<T>;
    /** Told each call the child makes, once it is answered (`--calls`, `--learn`). */
    onCall?: (call: CallRecord) => void;
    /** Told each refused request whose signature did not verify (counted only). */
    onUnverified?: () => void;
  },
): Promise<T> {
  const { grant } = renewable;
  // The endpoint serves a renewal only once it accepts it (not one that would outlive the
  // --refresh limit): the real session is the one behind what it serves now.
  const realOf = new WeakMap<SessionCredentials, SessionCredentials>();
  let server: CredentialServer | undefined;
  const real = () => (server && realOf.get(server.current)) ?? grant.credentials;
  const proxy = await startSigningProxy({
    env: cli.io.env,
    // A call may stream a large body: it is abandoned only when nothing moves for this long.
    idleTimeoutMs: Math.max(60_000, awsTimeoutMs(cli.io.env)),
  });
  const behind = proxy.addGrant({
    session: real,
    onCall: options.onCall,
    onUnverified: options.onUnverified,
  });
  const standIn = behind.standIn;
  const { renewal } = options;
  try {
    if (renewal.mode !== "none") {
      // The endpoint renews the real session and keeps it here; what it serves (to `refresh`
      // only) are the stand-ins with the new expiry.
      const asStandIn = (session: SessionCredentials) => {
        const shown = { ...standIn, expiration: session.expiration };
        realOf.set(shown, session);
        return shown;
      };
      server = await startCredentialServer({
        initial: asStandIn(grant.credentials),
        renew: async (signal) => asStandIn((await renewable.renew(signal)).credentials),
        renewUntil: renewal.mode === "renewing"
          ? new Date(cli.now().getTime() + renewal.limitSeconds * 1000)
          : new Date(8.64e15),
        warn: (line) => cli.io.stderr(`warning: ${line}\n`),
        mode: renewal.mode,
      });
    }
    const env = maskedEnvironment(cli.io.env, {
      proxyUrl: proxy.url,
      standIn,
      region: grant.region,
      sessionName: grant.sessionName,
      expiration: renewal.mode === "renewing" ? undefined : grant.credentials.expiration,
    });
    const refresh = renewal.mode === "on-request" && server
      ? { url: server.url, token: server.env.AWS_CONTAINER_AUTHORIZATION_TOKEN }
      : undefined;
    return await options.run({ env, refresh });
  } finally {
    await server?.close();
    // At once, not after the calls still waiting for AWS: no shutdown waits on a network call,
    // and the child is gone. Each is recorded as sent to AWS with no answer (outcome unknown).
    await proxy.close();
    renewable.close();
  }
}
