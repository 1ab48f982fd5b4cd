/**
 * The granters of a long-running process (the MCP server): one per profile and MFA session,
 * opened on first use and reused for later grants. A granter that fails to open is not kept, so
 * the next grant tries again (after the human has logged in, say). Every grant decides its base
 * credentials afresh: a cached MFA session (another `mfa login` may have replaced it), or a new
 * one from a code that the request's `askMfaCode` obtains (MCP elicitation); never a terminal
 * prompt. A new MFA session gets a new granter.
 *
 * @module
 */

import type { Grant } from "../aws/broker.ts";
import { resolveRegion } from "../aws/broker.ts";
import {
  type AskMfaCode,
  type BaseCredentials,
  withBaseCredentials,
} from "../aws/base_credentials.ts";
import type { ArnTarget } from "../request/resource.ts";
import type { SessionPolicy } from "../request/session_policy.ts";
import type { SessionTag } from "../request/session_identity.ts";
import type { Config } from "./config_file.ts";
import { type Granter, type GranterOptions, openGranter } from "./granter.ts";
import type { GrantSettings } from "./settings.ts";

/** What a grant asks of the granters. */
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
  /** The latest end of the session (an approval's): it is shortened to end by then. */
  notAfter?: Date;
}

/** Options of {@linkcode openGranters}. */
export interface GrantersOptions {
  /** The profile of a grant that names none (the server's own). */
  profile?: string;
  /** The clock. */
  now?: () => Date;
  /** The config whose remembered refusals of identity count, read at each grant. */
  refusals?: () => Promise<Config>;
  /** Told when a grant goes without identity because the role refused it before (a log). */
  onIdentitySkipped?: GranterOptions["onIdentitySkipped"];
  /** Creates the STS clients (tests hand in their own). */
  createClient?: GranterOptions["createClient"];
  /**
   * The settings of the other profiles an agent may name, by name (each with its own entry of the
   * config file: broker role, region, MFA device); one not in it uses `settings`.
   */
  profiles?: ReadonlyMap<string, GrantSettings>;
}

/** Granters by profile and MFA session. */
export interface Granters {
  /** Assumes the broker role for this request, opening a granter first if needed. */
  grant(request: PoolGrantRequest): Promise<Grant>;
  /**
   * Where bare resource names of a profile's grants expand (the default profile when omitted),
   * opening a granter first if needed (asking for an MFA code as a grant would).
   */
  identify(profile?: string, askMfaCode?: AskMfaCode): Promise<ArnTarget>;
  /** Closes every granter, without waiting for one still opening. */
  close(): Promise<void>;
}

/**
 * The granters of an agent's grants under `settings` (the server's profile's), or under the
 * settings `options.profiles` holds for another profile an agent may name: its broker role,
 * region and MFA device are that profile's, as `exec --profile` would use them.
 */
export function openGranters(settings: GrantSettings, options: GrantersOptions = {}): Granters {
  const granters = new Map<string, Promise<Granter>>();
  const regions = new Map<string, Promise<string>>();
  const settingsOf = (profile: string | undefined) =>
    (profile !== undefined && profile !== options.profile && options.profiles?.get(profile)) ||
    settings;
  const open = (profile: string | undefined, base: BaseCredentials) => {
    // A granter signs with one MFA session, or one key of the vault; a new session (after
    // expiry) or a rotated key gets a new granter.
    const key = `${profile ?? ""}\n${base.mfa ? base.mfa.expiration.toISOString() : ""}\n${
      base.vaultKeyId ?? ""
    }`;
    let granter = granters.get(key);
    if (!granter) {
      granter = openGranter({ ...settingsOf(profile), profile }, {
        // The broker's region is the profile's own (the base credentials', the server's).
        for: "agent",
        base,
        now: options.now,
        useCachedIdentity: true,
        revealProfiles: false,
        refusals: options.refusals,
        onIdentitySkipped: options.onIdentitySkipped,
        createClient: options.createClient,
      });
      granters.set(key, granter);
      const opened = granter;
      opened.catch(() => {
        if (granters.get(key) === opened) granters.delete(key);
      });
    }
    return { key, granter };
  };
  const withGranter = async <T>(
    profile: string | undefined,
    ask: AskMfaCode | undefined,
    use: (granter: Granter) => Promise<T>,
  ): Promise<T> => {
    const own = settingsOf(profile);
    // The server's own region for its profile; another profile's is that profile's.
    const regionOf = own === settings ? options.profile : profile;
    let region = regions.get(regionOf ?? "");
    if (!region) {
      region = resolveRegion({ profile: regionOf, region: own.region, env: own.env });
      regions.set(regionOf ?? "", region);
    }
    const base = {
      profile,
      region: await region,
      env: own.env,
      now: options.now,
      mfaSerial: own.mfaSerial,
      ask: ask ?? "no-prompt" as const,
      createStsClient: options.createClient,
    };
    return await withBaseCredentials(base, async (found) => {
      const { key, granter } = open(profile, found);
      try {
        return await use(await granter);
      } catch (error) {
        // A session AWS rejects is not reused; withBaseCredentials asks for a new one.
        if (found.mfa && granters.get(key) === granter) {
          granters.delete(key);
          granter.then((g) => g.close(), () => {});
        }
        throw error;
      }
    });
  };
  return {
    grant: (request) =>
      withGranter(
        request.profile ?? options.profile,
        request.askMfaCode,
        (granter) =>
          granter.assume({
            policy: request.policy,
            ttlSeconds: request.ttlSeconds,
            tags: request.tags,
            notAfter: request.notAfter,
          }),
      ),
    identify: (profile, askMfaCode) =>
      withGranter(
        profile ?? options.profile,
        askMfaCode,
        (granter) => Promise.resolve(granter.target()),
      ),
    close() {
      // Never wait for a connection still under way (an endpoint that does not answer): close
      // each granter when, if ever, it opens.
      for (const granter of granters.values()) granter.then((g) => g.close(), () => {});
      granters.clear();
      return Promise.resolve();
    },
  };
}
