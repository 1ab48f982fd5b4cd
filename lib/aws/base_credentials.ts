/**
 * The base credentials a grant assumes the broker role with — the one place that decides them,
 * for every caller (exec/env, `serve`, renewals, `credential-process`):
 *
 * - no MFA device known: the AWS SDK's provider chain for the profile, as before;
 * - an MFA device known (`--mfa-serial`, `TIMEBOUND_IAM_MFA_SERIAL`, the config file, or the AWS
 *   profile's own `mfa_serial`) for an IAM user's keys: the **cached MFA session** of that profile
 *   and device, or, when there is none, a new one from `GetSessionToken` with a code (given, or
 *   asked for when the caller may prompt), which is cached for later grants;
 * - a profile with `role_arn` and `mfa_serial`: the SDK assumes that role itself and asks its MFA
 *   code provider, which is the same code or prompt;
 * - a profile with `role_arn` and a `source_profile` whose keys are in the vault: timebound-iam
 *   assumes the roles with those keys (`vault_chain.ts`), with the source's cached MFA session
 *   when there is one (see `chainedBaseCredentials`).
 *
 * The caller says whether a person may be asked (`ask`): a function that prompts (the terminal,
 * MCP elicitation), or `"no-prompt"` (renewals, `credential-process`), in which case a missing
 * code is an {@linkcode MfaCodeNeeded} error that says what to run.
 *
 * @module
 */

import {
  credentialSettingsOf,
  profileLabel,
  resolveProfile,
  usesEnvironmentKeys,
} from "./profile.ts";
import type { STSClient, STSClientConfig } from "@aws-sdk/client-sts";
import { UsageError } from "../core/errors.ts";
import { baseClientConfig, createStsClient } from "./credential_source.ts";
import { awsTimeoutMs } from "./timeout.ts";
import { classifyAwsError } from "./on_failure.ts";
import {
  cachedMfaSession,
  checkMfaCode,
  checkMfaSerial,
  MFA_SESSION_DEFAULT_SECONDS,
  type MfaSessionCredentials,
  mfaSessionKey,
  type MfaSessionStore,
  openMfaSessionStore,
  startMfaSession,
} from "./mfa_session.ts";
import { smithyConfigModule } from "./sdk.ts";
import { vaultHolding } from "./vault_keys.ts";
import { vaultInUse } from "../vault/vault_place.ts";
import type { VaultChain } from "./vault_chain.ts";

/** Credentials as an AWS SDK client takes them: fixed, or a provider function. */
export type ClientCredentials = NonNullable<STSClientConfig["credentials"]>;

/** Asks a person for the current code of the MFA device `serial` (six digits). */
export type AskMfaCode = (serial: string) => Promise<string>;

/** What a caller knows about MFA and whether it may ask a person. */
export interface BaseCredentialsOptions {
  /** The AWS profile (the SDK's default chain when omitted). */
  profile?: string;
  /** The region for STS. */
  region: string;
  /** The environment (`AWS_PROFILE`, the cache directory). */
  env: Readonly<Record<string, string>>;
  /**
   * The MFA device, when the caller knows one (flag, environment, config file), checked already
   * (`resolveGrantSettings`). Otherwise the AWS profile's `mfa_serial` is used, if it has one.
   */
  mfaSerial?: string;
  /** A code given up front (`--mfa-code`, `TIMEBOUND_IAM_MFA_CODE`); used at most once. */
  mfaCode?: string;
  /** How to ask a person for a code, or `"no-prompt"` when nobody may be asked. */
  ask: AskMfaCode | "no-prompt";
  /** Start a new MFA session even when a cached one is usable (`mfa login`). */
  fresh?: boolean;
  /** How long a new MFA session lasts, in seconds (default 12h). */
  mfaSessionTtlSeconds?: number;
  /** Where MFA sessions are cached (default: the cache directory's `mfa-sessions`). */
  sessions?: MfaSessionStore;
  /** The clock. */
  now?: () => Date;
  /** Creates the STS client that calls GetSessionToken with the profile's own keys (tests). */
  createStsClient?: (
    config: { region: string; profile?: string; env?: Readonly<Record<string, string>> },
  ) => Promise<STSClient>;
}

/** The credentials to assume the broker role with. */
export interface BaseCredentials {
  /** For an AWS SDK client's `credentials` option. */
  credentials: ClientCredentials;
  /** Set when they are an MFA session (cached or just started). */
  mfa?: {
    /** The MFA device. */
    serial: string;
    /** When the MFA session ends. */
    expiration: Date;
    /** True when it came from the cache rather than a code just now. */
    cached: boolean;
  };
  /** Drops the cached MFA session these came from (AWS rejected it). */
  forget(): Promise<void>;
  /**
   * The access key id of the vault's keys, when these are they: a holder of a client made with
   * them (serve's granters) opens a new one when it changes (`keys rotate`).
   */
  vaultKeyId?: string;
}

/**
 * An MFA code is needed and nobody may be asked (no terminal, a renewal, an agent's client that
 * cannot elicit). Exit code 2; the message names the device and the ways out.
 */
export class MfaCodeNeeded extends UsageError {
  /** The MFA device whose code is needed. */
  readonly serial: string;

  /** Creates the error for `serial`. */
  constructor(serial: string) {
    super(`An MFA code for ${serial} is needed, and there is no terminal to ask on`, {
      hint: "pass --mfa-code CODE (or set TIMEBOUND_IAM_MFA_CODE), or first run: " +
        "timebound-iam mfa login",
    });
    this.serial = serial;
  }
}

/** What the AWS profile itself says about MFA, read with the SDK's own config loader. */
export interface ProfileMfa {
  /** The profile's `mfa_serial`, if any. */
  mfaSerial?: string;
  /** Whether the profile assumes a role itself (`role_arn`): the SDK then asks for the code. */
  assumesRole: boolean;
}

/**
 * Reads `mfa_serial` and `role_arn` of a profile (from both shared files through the SDK's shared
 * config loader, never parsed by hand, `~/.aws/credentials`' over `~/.aws/config`'s as its
 * credential providers take them). Keys in the environment with no profile named (or one that
 * only `AWS_DEFAULT_PROFILE` names) are not the `default` profile's, nor that one's: none of its
 * settings apply, and no file is read.
 */
export async function readProfileMfa(
  profile: string | undefined,
  env: Readonly<Record<string, string>>,
): Promise<ProfileMfa> {
  if (usesEnvironmentKeys(profile, env)) return { assumesRole: false };
  const { loadSharedConfigFiles } = await smithyConfigModule();
  const files = await loadSharedConfigFiles();
  const name = profileName(profile, env);
  const entry = credentialSettingsOf(files, name);
  return {
    mfaSerial: entry.mfa_serial || undefined,
    assumesRole: Boolean(entry.role_arn),
  };
}

/**
 * The profile's name (`default` for the default chain), as {@linkcode resolveProfile} decides
 * it: the one place that does.
 */
export function profileName(
  profile: string | undefined,
  env: Readonly<Record<string, string>>,
): string {
  return profileLabel(resolveProfile(profile, env));
}

const nothingToForget = () => Promise.resolve();

/**
 * Where MFA codes come from: the code given (`--mfa-code`, used at most once), else the caller's
 * way of asking, else an {@linkcode MfaCodeNeeded} error.
 */
function mfaCodeSource(options: BaseCredentialsOptions): AskMfaCode {
  let code = options.mfaCode === undefined
    ? undefined
    : checkMfaCode(options.mfaCode, "--mfa-code");
  return async (deviceSerial: string) => {
    if (code !== undefined) {
      const given = code;
      code = undefined;
      return given;
    }
    if (options.ask === "no-prompt") throw new MfaCodeNeeded(deviceSerial);
    return checkMfaCode(await options.ask(deviceSerial), "the prompt");
  };
}

/**
 * The base credentials of a role chain from keys in the vault (`vault_chain.ts`). The MFA
 * device of the first role (the caller's, else the first role profile's `mfa_serial`) belongs to
 * the source's keys, so its MFA session is the source profile's: cached under the source's name
 * in the vault, it serves every role profile built on that source, and the first AssumeRole then
 * needs no code. Without one, a device the caller names starts that session (as for a profile
 * of keys); the profile's own `mfa_serial` makes each grant's first AssumeRole carry a code, as
 * the AWS CLI does, unless `mfa login` (`fresh`) started the source's session.
 */
async function chainedBaseCredentials(
  chain: VaultChain,
  options: BaseCredentialsOptions,
): Promise<BaseCredentials> {
  const serial = options.mfaSerial ?? chain.steps[0].mfaSerial;
  let session: BaseCredentials | undefined;
  if (serial !== undefined && (options.fresh || options.mfaSerial !== undefined)) {
    session = await baseCredentialsForAssumeRole({
      ...options,
      profile: chain.source,
      mfaSerial: serial,
    });
  } else if (serial !== undefined && options.mfaCode === undefined) {
    session = await cachedSourceSession(chain, { ...options, serial });
  }
  const config = await baseClientConfig({
    region: options.region,
    profile: options.profile,
    env: options.env,
    mfaCodeProvider: mfaCodeSource(options),
    chainMaster: session?.credentials as MfaSessionCredentials | undefined,
    chain,
  });
  return {
    credentials: config.credentials,
    mfa: session?.mfa,
    forget: session?.forget ?? nothingToForget,
    vaultKeyId: chain.holding.keys.accessKeyId,
  };
}

/** The source's cached MFA session with `serial`, kept in the vault beside its keys. */
async function cachedSourceSession(
  chain: VaultChain,
  options: BaseCredentialsOptions & { serial: string },
): Promise<BaseCredentials | undefined> {
  const now = options.now ?? (() => new Date());
  const sessions = options.sessions ??
    openMfaSessionStore(options.env, { now, vault: chain.holding.vault.backend });
  const key = { profile: chain.source, serial: options.serial };
  const cached = await cachedMfaSession(sessions, key, now());
  if (cached === undefined) return undefined;
  return {
    credentials: cached,
    mfa: { serial: key.serial, expiration: cached.expiration, cached: true },
    forget: async () => {
      await sessions.delete(mfaSessionKey(key.profile, key.serial));
    },
  };
}

/** MFA session acquisitions under way in this process, by profile and device. */
const acquisitions = new Map<string, Promise<BaseCredentials>>();

/**
 * Decides the base credentials for AssumeRole (see the module's description). Asks for a code
 * only when an MFA device is known, no cached session is usable and no code was given.
 */
export async function baseCredentialsForAssumeRole(
  options: BaseCredentialsOptions,
): Promise<BaseCredentials> {
  const profileMfa = await readProfileMfa(options.profile, options.env);
  if (profileMfa.assumesRole && vaultInUse(options.env)) {
    // A role profile whose source's keys are in the vault: timebound-iam assumes its roles.
    const { findVaultChain } = await import("./vault_chain.ts");
    const chain = await findVaultChain(options.profile, options.env);
    if (chain !== undefined) return await chainedBaseCredentials(chain, options);
  }
  const serial = options.mfaSerial ?? profileMfa.mfaSerial;
  if (serial === undefined) {
    const config = await baseClientConfig({
      region: options.region,
      profile: options.profile,
      env: options.env,
    });
    const holding = await vaultHolding(options.profile, { env: options.env });
    return {
      credentials: config.credentials,
      forget: nothingToForget,
      vaultKeyId: holding?.keys.accessKeyId,
    };
  }
  // The caller's device was checked with its settings; the AWS profile's own is checked here.
  if (options.mfaSerial === undefined) checkMfaSerial(serial);
  const codeFor = mfaCodeSource(options);

  if (profileMfa.assumesRole && options.mfaSerial === undefined) {
    // The profile assumes its role_arn itself: the SDK calls AssumeRole with the code.
    const config = await baseClientConfig({
      region: options.region,
      profile: options.profile,
      mfaCodeProvider: codeFor,
    });
    return { credentials: config.credentials, forget: nothingToForget };
  }

  const now = options.now ?? (() => new Date());
  // A profile whose keys are in the vault keeps its MFA sessions there too.
  const vault = (await vaultHolding(options.profile, { env: options.env }))?.vault.backend;
  const sessions = options.sessions ?? openMfaSessionStore(options.env, { now, vault });
  const key = { profile: profileName(options.profile, options.env), serial };
  const forget = async () => {
    await sessions.delete(mfaSessionKey(key.profile, key.serial));
  };
  // One acquisition at a time per profile and device in this process: concurrent grants (an
  // agent's burst) wait for the first, then find its session in the cache, so the human is
  // asked for one code, not one per grant, and no code is sent twice.
  const acquire = async (): Promise<BaseCredentials> => {
    const cached = options.mfaCode === undefined && !options.fresh
      ? await cachedMfaSession(sessions, key, now())
      : undefined;
    if (cached !== undefined) {
      return {
        credentials: cached,
        mfa: { serial, expiration: cached.expiration, cached: true },
        forget,
      };
    }
    const tokenCode = await codeFor(serial);
    const client = await (options.createStsClient ?? createStsClient)({
      region: options.region,
      profile: options.profile,
      timeoutMs: awsTimeoutMs(options.env),
      env: options.env,
    });
    try {
      const session = await startMfaSession(client, {
        ...key,
        code: tokenCode,
        ttlSeconds: options.mfaSessionTtlSeconds ?? MFA_SESSION_DEFAULT_SECONDS,
        store: sessions,
      });
      return {
        credentials: session,
        mfa: { serial, expiration: session.expiration, cached: false },
        forget,
      };
    } finally {
      client.destroy();
    }
  };
  const flight = `${key.profile}\n${key.serial}`;
  const mine = (acquisitions.get(flight) ?? Promise.resolve()).catch(() => {}).then(acquire);
  acquisitions.set(flight, mine);
  try {
    return await mine;
  } finally {
    if (acquisitions.get(flight) === mine) acquisitions.delete(flight);
  }
}

/**
 * Runs `use` with the base credentials; when they were a cached MFA session and AWS rejects
 * them (expired or revoked early), drops that session and runs `use` once more with new ones,
 * which asks for a code when the options allow it.
 */
export async function withBaseCredentials<T>(
  options: BaseCredentialsOptions,
  use: (base: BaseCredentials) => Promise<T>,
): Promise<T> {
  const base = await baseCredentialsForAssumeRole(options);
  try {
    return await use(base);
  } catch (error) {
    if (!base.mfa?.cached || !await rejectsCredentials(error)) throw error;
    await base.forget();
    return await use(await baseCredentialsForAssumeRole(options));
  }
}

/**
 * Whether STS refused the credentials themselves (not the request): expired or unknown. The
 * error may be the SDK's or one that explains it (with the SDK's as its cause).
 */
export async function rejectsCredentials(error: unknown): Promise<boolean> {
  for (let e = error; typeof e === "object" && e !== null; e = (e as { cause?: unknown }).cause) {
    const { kind } = await classifyAwsError(e, "sts");
    if (kind === "expired" || kind === "unknown-key") return true;
  }
  return false;
}
