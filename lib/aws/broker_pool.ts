/**
 * Brokers for a long-running process (the MCP server): connected on first use, one per profile,
 * and reused for later grants. A failed connection is not kept, so the next grant tries again
 * (after the user has logged in, say).
 *
 * @module
 */

import {
  assumeBrokerRole,
  type BrokerContext,
  type BrokerOptions,
  connectBroker,
  type Grant,
} from "./broker.ts";
import type { SessionPolicy } from "../request/session_policy.ts";

/** What a grant needs from the pool. */
export interface PoolGrantRequest {
  /** The profile for the base credentials (the pool's default when omitted). */
  profile?: string;
  /** The session policy. */
  policy: SessionPolicy;
  /** The session length in seconds. */
  ttlSeconds: number;
}

/** Brokers by profile. */
export interface BrokerPool {
  /** Assumes the broker role for this request, connecting first if needed. */
  grant(request: PoolGrantRequest): Promise<Grant>;
  /** Destroys every connected client. */
  close(): Promise<void>;
}

/**
 * Creates a pool from the options shared by every broker (`profile` is the default profile).
 */
export function createBrokerPool(
  options: BrokerOptions & { now?: () => Date },
): BrokerPool {
  const brokers = new Map<string, Promise<BrokerContext>>();
  const connect = (profile: string | undefined): Promise<BrokerContext> => {
    const key = profile ?? "";
    let broker = brokers.get(key);
    if (!broker) {
      broker = connectBroker({ ...options, profile });
      brokers.set(key, broker);
      broker.catch(() => {
        if (brokers.get(key) === broker) brokers.delete(key);
      });
    }
    return broker;
  };
  return {
    async grant(request) {
      const broker = await connect(request.profile ?? options.profile);
      return await assumeBrokerRole(broker, {
        policy: request.policy,
        ttlSeconds: request.ttlSeconds,
        now: options.now,
      });
    },
    async close() {
      const settled = await Promise.allSettled(brokers.values());
      brokers.clear();
      for (const result of settled) {
        if (result.status === "fulfilled") result.value.client.destroy();
      }
    },
  };
}
