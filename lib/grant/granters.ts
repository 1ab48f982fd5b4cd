/**
 * The granters of a long-running process (the MCP server): one per profile and MFA session,
 * opened on first use and reused for later grants. A granter that fails to open is not kept, so
 * the next grant tries again (after the human has logged in, say). Every grant decides its base
 * credentials afresh: a cached MFA session (another `mfa login` may have replaced it), or a new
 * one from a code that the request's `askMfaCode` obtains (MCP elicitation); never a terminal
 * prompt. A new MFA session gets a new granter; the old one (and its STS client) is closed once no
 * grant uses it, as is any granter whose MFA session has ended or whose vault key was rotated.
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
  const granters = new Map<string, Held>();
  const regions = new Map<string, Promise<string>>();
  const settingsOf = (profile: string | undefined) =>
    (profile !== undefined && profile !== options.profile && options.profiles?.get(profile)) ||
    settings;
  const clock = options.now ?? (() => new Date());
  const open = (profile: string | undefined, base: BaseCredentials) => {
    // A granter signs with one MFA session, or one key of the vault; a new session (after
    // expiry) or a rotated key gets a new granter.
    const key = `${profile ?? ""}\n${base.mfa ? base.mfa.expiration.toISOString() : ""}\n${
      base.vaultKeyId ?? ""
    }`;
    retireStale(granters, { profile: profile ?? "", key, now: clock().getTime() });
    let held = granters.get(key);
    if (!held) {
      const opened: Held = {
        granter: openAgentGranter({ ...settingsOf(profile), profile }, base, options),
        profile: profile ?? "",
        endsAt: base.mfa?.expiration.getTime() ?? Infinity,
        users: 0,
        retired: false,
      };
      granters.set(key, opened);
      opened.granter.catch(() => {
        if (granters.get(key) === opened) granters.delete(key);
      });
      held = opened;
    }
    held.users++;
    return { key, held };
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
      const { key, held } = open(profile, found);
      try {
        return await use(await held.granter);
      } catch (error) {
        // A session AWS rejects is not reused; withBaseCredentials asks for a new one.
        if (found.mfa && granters.get(key) === held) retire(granters, key);
        throw error;
      } finally {
        held.users--;
        if (held.retired && held.users === 0) closeHeld(held);
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
      for (const key of [...granters.keys()]) retire(granters, key);
      return Promise.resolve();
    },
  };
}

/** A granter in the map, with what decides when it is dropped. */
interface Held {
  /** The granter, once open. */
  granter: Promise<Granter>;
  /** The profile it grants with (`""` for the default). */
  profile: string;
  /** When its MFA session ends (ms since the epoch), `Infinity` without one. */
  endsAt: number;
  /** How many grants are using it now. */
  users: number;
  /** Out of the map: closed once no grant uses it. */
  retired: boolean;
}

/**
 * Drops the granters no grant will use again: those whose MFA session has ended, and the other
 * granters of `profile`, whose base credentials (a session, a vault key) were replaced by the
 * ones of `key` (`mfa login` again, `keys rotate`). Each holds an STS client.
 */
function retireStale(
  granters: Map<string, Held>,
  at: { profile: string; key: string; now: number },
): void {
  for (const [key, held] of [...granters]) {
    if (key === at.key) continue;
    if (held.endsAt <= at.now || held.profile === at.profile) retire(granters, key);
  }
}

/** Takes a granter out of the map, closing it now or when its last grant ends. */
function retire(granters: Map<string, Held>, key: string): void {
  const held = granters.get(key);
  if (!held) return;
  granters.delete(key);
  held.retired = true;
  if (held.users === 0) closeHeld(held);
}

/** Closes a granter when, if ever, it opens (never waiting for an endpoint that does not answer). */
function closeHeld(held: Held): void {
  held.granter.then((g) => g.close(), () => {});
}

/** A granter of agents' grants with `base`: the broker's region is the profile's own. */
function openAgentGranter(
  settings: GrantSettings,
  base: BaseCredentials,
  options: GrantersOptions,
): Promise<Granter> {
  return openGranter(settings, {
    for: "agent",
    base,
    now: options.now,
    useCachedIdentity: true,
    revealProfiles: false,
    refusals: options.refusals,
    onIdentitySkipped: options.onIdentitySkipped,
    createClient: options.createClient,
  });
}
