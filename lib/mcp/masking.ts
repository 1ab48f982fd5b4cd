/**
 * `serve --masked`: one loopback signing proxy in the `serve` process for every grant, keyed by
 * stand-in access key id. A masked grant's env file holds its stand-in keys, the proxy's URL and
 * the region, never the session; the real session stays in this process until the grant is
 * revoked or expires, when the proxy refuses the next call with `ExpiredToken` and forgets it.
 * Each call goes to the audit log (see `call_audit.ts`).
 *
 * @module
 */

import type { Grant } from "../aws/broker.ts";
import { namesHttpProxy, SESSION_MARKER } from "../delivery/credential_env.ts";
import { type ProxyGrant, startSigningProxy } from "../delivery/signing_proxy.ts";
import type { AuditLog } from "./audit_log.ts";
import { type CallStats, createGrantCallAudit, type GrantCallAudit } from "./call_audit.ts";

/** What an agent is told about a masked grant's credentials. */
export const MASKED_NOTE = "These credentials are masked: the file holds stand-in keys that work " +
  "only through timebound-iam's signing proxy on this machine (AWS_ENDPOINT_URL in the file), " +
  "which signs each call with the real session and logs it for the human. Use an SDK or CLI " +
  "that honours AWS_ENDPOINT_URL (AWS CLI v2 >= 2.13 or v1 >= 1.29, boto3 >= 1.28, the JS SDK " +
  "v3); presigned URLs are refused, and so are calls that mint credentials (sts:AssumeRole, " +
  "iam:CreateAccessKey, ecr:GetAuthorizationToken…): ask the human for such credentials. " +
  "revoke_session, or the end of the TTL, stops the very next call with ExpiredToken.";

/** The masked grants of one `serve`. */
export interface Masking {
  /** The proxy's URL. */
  readonly url: string;
  /** Puts a grant behind the proxy; returns the variables of its env file. */
  mask(grant: Grant): Record<string, string>;
  /** The calls of a masked grant so far (`undefined` for a grant that is not masked). */
  stats(sessionId: string): CallStats | undefined;
  /** Revokes a grant at the proxy (the next call gets ExpiredToken) and writes its summary. */
  end(sessionId: string): Promise<void>;
  /** Revokes every grant and stops the proxy. */
  close(): Promise<void>;
}

/**
 * Starts the proxy. `env` is `serve`'s own environment: its `AWS_ENDPOINT_URL*` are where calls
 * go instead of AWS (and every `AWS_ENDPOINT_URL_<SERVICE>` it has points at the proxy in the
 * env files, so nothing an agent calls goes around it).
 */
export async function startMasking(
  env: Readonly<Record<string, string>>,
  options: {
    audit: AuditLog;
    now: () => Date;
    log?: (line: string) => void;
    idleTimeoutMs?: number;
  },
): Promise<Masking> {
  const proxy = await startSigningProxy({
    env,
    now: options.now,
    idleTimeoutMs: options.idleTimeoutMs,
  });
  const grants = new Map<string, { proxied: ProxyGrant; calls: GrantCallAudit }>();
  const services = Object.keys(env).filter((name) => /^AWS_ENDPOINT_URL_[A-Z0-9_]+$/.test(name));
  // Under an HTTP proxy, clients that honour HTTP_PROXY (botocore, curl) would send the calls
  // meant for the loopback proxy to it: the file's NO_PROXY names the loopback proxy's host. (An
  // env file holds one word per value, so not the agent's own list: the command run with the
  // file calls no host but the proxy anyway.)
  const bypass: Record<string, string> = namesHttpProxy(env)
    ? { NO_PROXY: new URL(proxy.url).hostname }
    : {};
  return {
    url: proxy.url,
    mask(grant) {
      const calls = createGrantCallAudit(grant.sessionName, {
        audit: options.audit,
        now: options.now,
        log: options.log,
      });
      // The closure holds the grant's credentials until revoke() drops it.
      const credentials = grant.credentials;
      const proxied = proxy.addGrant({
        session: () => credentials,
        onCall: (call) => calls.record(call),
        onUnverified: () => calls.countUnverified(),
      });
      grants.set(grant.sessionName, { proxied, calls });
      const { standIn } = proxied;
      return {
        AWS_ACCESS_KEY_ID: standIn.accessKeyId,
        AWS_SECRET_ACCESS_KEY: standIn.secretAccessKey,
        AWS_SESSION_TOKEN: standIn.sessionToken,
        AWS_CREDENTIAL_EXPIRATION: credentials.expiration.toISOString(),
        AWS_ENDPOINT_URL: proxy.url,
        ...Object.fromEntries(services.map((name) => [name, proxy.url])),
        ...bypass,
        AWS_REGION: grant.region,
        AWS_DEFAULT_REGION: grant.region,
        [SESSION_MARKER]: grant.sessionName,
      };
    },
    stats: (sessionId) => grants.get(sessionId)?.calls.stats(),
    async end(sessionId) {
      const found = grants.get(sessionId);
      if (!found) return;
      found.proxied.revoke();
      await found.calls.flush();
    },
    async close() {
      for (const { proxied } of grants.values()) proxied.revoke();
      await proxy.close();
      await Promise.all([...grants.values()].map(({ calls }) => calls.flush()));
      grants.clear();
    },
  };
}
