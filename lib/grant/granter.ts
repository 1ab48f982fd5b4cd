/**
 * The one engine of a grant, under every front end: the base credentials (a cached MFA session,
 * or a new one from a code), the broker connection (the caller's identity, the broker role),
 * the identity the grant names, and AssumeRole. `exec`, `env`, `shell`, `credential-process`
 * open one granter per run and renew through it; `serve` keeps one per profile and MFA session
 * (`granters.ts`); `doctor` probes the role through one. The front ends add only their stories:
 * the summary and the question, or the approval and the audit.
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
} from "../aws/broker.ts";
import {
  type AskMfaCode,
  type BaseCredentials,
  MfaCodeNeeded,
  withBaseCredentials,
} from "../aws/base_credentials.ts";
import { openCallerIdentityCache } from "../aws/caller_cache.ts";
import type { ArnTarget } from "../request/resource.ts";
import type { SessionPolicy } from "../request/session_policy.ts";
import type { SessionTag } from "../request/session_identity.ts";
import type { Config } from "./config_file.ts";
import { type IdentityFor, type IdentityPlan, planIdentity } from "./identity.ts";
import type { GrantSettings } from "./settings.ts";

/** What one grant asks of a granter. */
export interface AssumeOptions {
  /** The session policy (from `prepareGrant`), or a packed policy sent as it is. */
  policy: SessionPolicy | string;
  /** How long the grant lasts, in seconds. */
  ttlSeconds: number;
  /** The session tags (who asked, for what). */
  tags?: SessionTag[];
  /** Abandons the call: the grant fails with an abort error. */
  signal?: AbortSignal;
  /** The latest end of the session (an approval's): it is shortened to end by then. */
  notAfter?: Date;
}

/** Options of {@linkcode openGranter}. */
export interface GranterOptions {
  /** Whose grants these are: what a refused identity leads to (see `IdentityFor`). */
  for: IdentityFor;
  /** The region, when the caller resolved it already; otherwise resolved from the settings. */
  region?: string;
  /**
   * The base credentials, when the caller decided them already (`serve`'s pool). Otherwise they
   * are decided here, asking with `ask` for an MFA code until the first grant is made, never after
   * (a renewal runs while a child or a shell owns the terminal).
   */
  base?: BaseCredentials;
  /** How to ask a person for an MFA code; nobody is asked by default. */
  ask?: AskMfaCode | "no-prompt";
  /** The clock. */
  now?: () => Date;
  /** Whether the caller's identity from an earlier grant will do (no summary shows it live). */
  useCachedIdentity?: boolean;
  /**
   * Whether errors may name the human's setup (not to an agent): an unknown profile's error lists
   * the profiles that exist, and AWS's refusal of a role that the profile assumes names it.
   */
  revealProfiles?: boolean;
  /** Creates the STS clients, the broker's and GetSessionToken's (tests hand in their own). */
  createClient?: BrokerOptions["createClient"];
  /**
   * The config whose remembered refusals of identity count, read at each grant: `serve` reads the
   * file again, since the human's grants may have met a refusal since. The settings' by default.
   */
  refusals?: () => Promise<Config>;
  /** Told when a grant goes without identity because the role refused it before (a log). */
  onIdentitySkipped?: (broker: BrokerContext) => void;
}

/** A connected broker that grants: the same base credentials, role and caller for each grant. */
export interface Granter {
  /** The caller, the account, the broker role and the region. */
  readonly broker: Readonly<BrokerContext>;
  /** The base credentials it signs with (their MFA session, if any), when it decided them. */
  readonly base?: BaseCredentials;
  /** How many grants it has made. */
  readonly grants: number;
  /** Where bare resource names expand: the role's account, the region, the partition. */
  target(): ArnTarget;
  /** The identity the next grant names (what the summary shows). */
  identity(tags?: SessionTag[]): Promise<IdentityPlan>;
  /** Assumes the broker role; a renewal is the same call again. */
  assume(request: AssumeOptions): Promise<Grant>;
  /** Releases the STS client; `assume` fails after. */
  close(): void;
}

/**
 * Opens a granter for `settings`: decides the base credentials (unless given) and connects the
 * broker. A cached MFA session that AWS rejects is dropped and a new one started, asking when
 * `options.ask` allows.
 */
export async function openGranter(
  settings: GrantSettings,
  options: GranterOptions,
): Promise<Granter> {
  const now = options.now ?? (() => new Date());
  const region = options.region ??
    await resolveRegion({ profile: settings.profile, region: settings.region, env: settings.env });
  const ask = options.ask ?? "no-prompt";
  // Set once the granter exists: its asking stops at its first grant.
  const opened: { granter?: Granter } = {};
  const connect = (credentials: BaseCredentials["credentials"]) =>
    connectBroker({
      profile: settings.profile,
      region,
      roleArn: settings.roleArn,
      env: settings.env,
      credentials,
      identityCache: openCallerIdentityCache(settings.env),
      useCachedIdentity: options.useCachedIdentity,
      revealProfiles: options.revealProfiles,
      createClient: options.createClient,
    });
  let base = options.base;
  const broker = base ? await connect(base.credentials) : await withBaseCredentials({
    profile: settings.profile,
    region,
    env: settings.env,
    now,
    mfaSerial: settings.mfaSerial,
    mfaCode: settings.mfaCode,
    mfaSessionTtlSeconds: settings.mfaSessionTtlSeconds,
    createStsClient: options.createClient,
    ask: ask === "no-prompt" ? ask : (serial: string) => {
      if (opened.granter?.grants) return Promise.reject(new MfaCodeNeeded(serial));
      return ask(serial);
    },
  }, (found) => {
    base = found;
    return connect(found.credentials);
  });
  opened.granter = granterOf(broker, {
    for: options.for,
    base,
    now,
    sourceIdentity: settings.sourceIdentity,
    refusals: options.refusals ?? (() => Promise.resolve(settings.file.config)),
    onIdentitySkipped: options.onIdentitySkipped,
  });
  return opened.granter;
}

/**
 * A granter over a broker connected already (`doctor` connects its own, to check the caller
 * first). Without `refusals`, no remembered refusal counts.
 */
export function granterOf(
  broker: BrokerContext,
  options: {
    for: IdentityFor;
    base?: BaseCredentials;
    now?: () => Date;
    sourceIdentity?: string;
    refusals?: () => Promise<Config>;
    onIdentitySkipped?: (broker: BrokerContext) => void;
  },
): Granter {
  const now = options.now ?? (() => new Date());
  let grants = 0;
  let refusedHere = false;
  const plan = async (tags?: SessionTag[]) =>
    planIdentity({ callerArn: broker.callerArn, roleArn: broker.roleArn, tags }, {
      for: options.for,
      now: now(),
      override: options.sourceIdentity,
      refusals: await options.refusals?.(),
      renewal: grants > 0,
      refusedHere,
    });
  return {
    broker,
    base: options.base,
    get grants() {
      return grants;
    },
    target: () => brokerTarget(broker),
    identity: plan,
    async assume(request) {
      const { identity, onRefusal, skipped } = await plan(request.tags);
      if (skipped) options.onIdentitySkipped?.(broker);
      const grant = await assumeBrokerRole(broker, {
        policy: request.policy,
        ttlSeconds: request.ttlSeconds,
        now,
        identity,
        refusedIdentity: onRefusal,
        signal: request.signal,
        notAfter: request.notAfter,
      });
      grants++;
      // Later grants go without identity at once, not through the same refusals each time.
      if (grant.identityRefused) refusedHere = true;
      return grant;
    },
    close: () => broker.client.destroy(),
  };
}
