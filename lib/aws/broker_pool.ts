/**
 * Brokers for a long-running process (the MCP server): connected on first use, one per profile
 * (and per MFA session, when one signs), and reused for later grants. A failed connection is not
 * kept, so the next grant tries again (after the user has logged in, say). Every grant asks
 * {@linkcode withBaseCredentials} for its base credentials: a cached MFA session, or a new one
 * from a code that the request's `askMfaCode` obtains (MCP elicitation); never a terminal prompt.
 *
 * @module
 */

import {
  assumeBrokerRole,
  type BrokerContext,
  type BrokerOptions,
  brokerTarget,
  connectBroker,
  type Grant,
  resolveRegion,
} from "./broker.ts";
import { type AskMfaCode, type BaseCredentials, withBaseCredentials } from "./base_credentials.ts";
import type { ArnTarget } from "../request/resource.ts";
import type { SessionPolicy } from "../request/session_policy.ts";
import { type SessionTag, sourceIdentityOf } from "../request/session_identity.ts";

/** What a grant needs from the pool. */
export interface PoolGrantRequest {
  /** The profile for the base credentials (the pool's default when omitted). */
  profile?: string;
  /** The session policy. */
  policy: SessionPolicy;
  /** The session length in seconds. */
  ttlSeconds: number;
  /** Asks the human for an MFA code (elicitation); without it a missing code is an error. */
  askMfaCode?: AskMfaCode;
  /** The session tags (who asked, for what). */
  tags?: SessionTag[];
}

/** Options of {@linkcode createBrokerPool}, beyond those of every broker. */
export interface PoolOptions extends BrokerOptions {
  /** The clock that starts each grant. */
  now?: () => Date;
  /** The MFA device of the base credentials (`serve --mfa-serial`). */
  mfaSerial?: string;
  /** The SourceIdentity of every grant (`serve --source-identity`); the caller's name otherwise. */
  sourceIdentity?: string;
  /**
   * Whether a role is known to refuse SourceIdentity and tags to this caller (the config file
   * remembers, from the human's own grants). Any other refusal fails the grant: a pool serves
   * agents, and an agent's request never makes a grant go without naming who asked.
   */
  refusesIdentity?: (roleArn: string, callerArn: string) => Promise<boolean>;
}

/** Brokers by profile. */
export interface BrokerPool {
  /** Assumes the broker role for this request, connecting first if needed. */
  grant(request: PoolGrantRequest): Promise<Grant>;
  /**
   * The broker role's account, the region and the partition for a profile (the pool's default when
   * omitted), connecting first if needed (asking for an MFA code as a grant would): where bare
   * resource names expand.
   */
  identify(profile?: string, askMfaCode?: AskMfaCode): Promise<ArnTarget>;
  /** Destroys every connected client. */
  close(): Promise<void>;
}

/**
 * Creates a pool from the options shared by every broker (`profile` is the default profile).
 */
export function createBrokerPool(options: PoolOptions): BrokerPool {
  const brokers = new Map<string, Promise<BrokerContext>>();
  let region: Promise<string> | undefined;
  const connect = (profile: string | undefined, base: BaseCredentials) => {
    // A broker signs with one MFA session; a new session (after expiry) gets a new broker.
    const key = `${profile ?? ""}\n${base.mfa ? base.mfa.expiration.toISOString() : ""}`;
    let broker = brokers.get(key);
    if (!broker) {
      broker = connectBroker({ ...options, profile, credentials: base.credentials });
      brokers.set(key, broker);
      broker.catch(() => {
        if (brokers.get(key) === broker) brokers.delete(key);
      });
    }
    return { key, broker };
  };
  const baseFor = async (profile: string | undefined, ask: AskMfaCode | undefined) => {
    region ??= resolveRegion(options);
    return {
      profile,
      region: await region,
      env: options.env,
      now: options.now,
      mfaSerial: options.mfaSerial,
      ask: ask ?? "no-prompt" as const,
    };
  };
  return {
    async grant(request) {
      const profile = request.profile ?? options.profile;
      const base = await baseFor(profile, request.askMfaCode);
      return await withBaseCredentials(base, async (found) => {
        const { key, broker } = connect(profile, found);
        try {
          const context = await broker;
          const role = context.roleArn;
          // A server that names someone else (--source-identity) never goes without identity.
          const skip = options.sourceIdentity === undefined &&
            (await options.refusesIdentity?.(role, context.callerArn) ?? false);
          const grant = await assumeBrokerRole(context, {
            policy: request.policy,
            ttlSeconds: request.ttlSeconds,
            now: options.now,
            identity: skip ? undefined : {
              sourceIdentity: options.sourceIdentity ?? sourceIdentityOf(context.callerArn),
              tags: request.tags,
            },
            refusedIdentity: "fail",
          });
          return grant;
        } catch (error) {
          // A session AWS rejects is not reused; withBaseCredentials asks for a new one.
          if (found.mfa && brokers.get(key) === broker) {
            brokers.delete(key);
            broker.then((b) => b.client.destroy(), () => {});
          }
          throw error;
        }
      });
    },
    async identify(profile, askMfaCode) {
      profile ??= options.profile;
      return await withBaseCredentials(
        await baseFor(profile, askMfaCode),
        async (found) => brokerTarget(await connect(profile, found).broker),
      );
    },
    close() {
      // Never wait for a connection still under way (an endpoint that does not answer): destroy
      // each client when, if ever, it arrives.
      for (const broker of brokers.values()) {
        broker.then((b) => b.client.destroy(), () => {});
      }
      brokers.clear();
      return Promise.resolve();
    },
  };
}
