/**
 * Cached MFA sessions: `GetSessionToken` with an MFA code gives temporary credentials of the IAM
 * user that carry the MFA context for up to 36 hours (12 by default), so a code is typed once a
 * day rather than once a grant. They are kept in the cache store, one entry per profile and MFA
 * device, and assume the broker role without role chaining's one-hour cap.
 *
 * @module
 */

import { boundedExpiration } from "./expiration.ts";
import type { STSClient } from "@aws-sdk/client-sts";
import { type CacheStore, openCacheStore } from "../core/cache_store.ts";
import type { VaultBackend } from "../vault/backend.ts";
import { openVaultCache } from "../vault/vault_cache.ts";
import { RuntimeError, UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import { formatTtl, parseTtl } from "../request/ttl.ts";
import { classifyAwsError, explainAwsError } from "./on_failure.ts";
import { stsModule } from "./sdk.ts";

/** The cache namespace of MFA sessions: `$XDG_CACHE_HOME/timebound-iam/mfa-sessions/`. */
export const MFA_SESSION_NAMESPACE = "mfa-sessions";
/** AWS's bounds of `GetSessionToken` for an IAM user: 15 minutes to 36 hours. */
export const MFA_SESSION_MIN_SECONDS = 900;
/** AWS's upper bound of `GetSessionToken` for an IAM user. */
export const MFA_SESSION_MAX_SECONDS = 129_600;
/** How long an MFA session lasts unless told (AWS's own default). */
export const MFA_SESSION_DEFAULT_SECONDS = 43_200;
/** A cached session this close to its end is not used: a grant started on it could fail. */
const MIN_REMAINING_MS = 5 * 60_000;

const SERIAL =
  /^(arn:aws[\w-]*:iam::\d{12}:(mfa|u2f)\/[\w+=,.@/-]+|[A-Z0-9]{9,32}|[\w+=\/:,.@-]{9,256})$/;

/** A cached MFA session as stored (the credentials are secret; the rest is not). */
export interface StoredMfaSession {
  /** The profile whose base credentials started it (`default` for the default chain). */
  profile: string;
  /** The MFA device's serial number (ARN). */
  serial: string;
  /** The temporary access key id. */
  accessKeyId: string;
  /** The secret access key. Never printed or logged. */
  secretAccessKey: string;
  /** The session token. Never printed or logged. */
  sessionToken: string;
  /** When AWS stops accepting it, ISO 8601. */
  expiration: string;
}

/** An MFA session as the credentials of an AWS SDK client. */
export interface MfaSessionCredentials {
  /** The access key id. */
  accessKeyId: string;
  /** The secret access key. */
  secretAccessKey: string;
  /** The session token. */
  sessionToken: string;
  /** When it expires. */
  expiration: Date;
}

/** The store of MFA sessions (the cache store's `mfa-sessions` namespace). */
export type MfaSessionStore = CacheStore<StoredMfaSession>;

/** Whether `text` is an MFA device's serial number: an ARN, or a hardware token's serial. */
export function isMfaSerial(text: string): boolean {
  return SERIAL.test(text);
}

/**
 * Checks an MFA serial number: a virtual or hardware device's ARN
 * (`arn:aws:iam::123456789012:mfa/NAME`) or a hardware token's serial.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkMfaSerial } from "./mfa_session.ts";
 * assert.equal(checkMfaSerial("arn:aws:iam::123456789012:mfa/alice"), "arn:aws:iam::123456789012:mfa/alice");
 * assert.throws(() => checkMfaSerial("alice"));
 * ```
 */
export function checkMfaSerial(serial: string): string {
  if (!isMfaSerial(serial)) {
    throw new UsageError(`Invalid MFA serial "${truncate(serial)}": expected an MFA device ARN`, {
      hint: "e.g. arn:aws:iam::123456789012:mfa/alice (aws iam list-mfa-devices shows yours)",
    });
  }
  return serial;
}

/**
 * Checks an MFA code: exactly six digits. The code itself never appears in the message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkMfaCode } from "./mfa_session.ts";
 * assert.equal(checkMfaCode(" 123456 ", "--mfa-code"), "123456");
 * assert.throws(() => checkMfaCode("12345", "--mfa-code"));
 * ```
 */
export function checkMfaCode(code: string, from: string): string {
  const trimmed = code.trim();
  if (!/^\d{6}$/.test(trimmed)) {
    throw new UsageError(`Invalid MFA code from ${from}: expected six digits`, {
      hint: "type the code your authenticator app shows now",
    });
  }
  return trimmed;
}

/**
 * Parses `--mfa-session-ttl` (a duration such as `12h`) and checks it against AWS's bounds for
 * `GetSessionToken`, 15m to 36h, so that a length AWS would refuse is refused before any call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMfaSessionTtl } from "./mfa_session.ts";
 * assert.equal(parseMfaSessionTtl("36h"), 129_600);
 * assert.throws(() => parseMfaSessionTtl("10m"), /under AWS's minimum of 15m/);
 * ```
 */
export function parseMfaSessionTtl(text: string): number {
  const hint = "use --mfa-session-ttl between 15m and 36h (default 12h)";
  let seconds: number;
  try {
    seconds = parseTtl(text, { min: 0, max: Number.MAX_SAFE_INTEGER });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(error.message.replace("TTL", "--mfa-session-ttl"), {
      hint: error.hint ?? hint,
    });
  }
  if (seconds < MFA_SESSION_MIN_SECONDS) {
    throw new UsageError(
      `--mfa-session-ttl ${logText(text, 40)} is under AWS's minimum of ` +
        `${formatTtl(MFA_SESSION_MIN_SECONDS)} for GetSessionToken`,
      { hint },
    );
  }
  if (seconds > MFA_SESSION_MAX_SECONDS) {
    throw new UsageError(
      `--mfa-session-ttl ${text} is over AWS's maximum of ` +
        `${formatTtl(MFA_SESSION_MAX_SECONDS)} for GetSessionToken`,
      { hint },
    );
  }
  return seconds;
}

/**
 * Opens the MFA session store under the cache directory (or `dir`, for tests), or in the vault
 * `vault` when the keys the sessions are made from are there (the locks stay in the cache
 * directory: they hold nothing).
 */
export function openMfaSessionStore(
  env: Readonly<Record<string, string>>,
  options: { dir?: string; now?: () => Date; vault?: VaultBackend } = {},
): MfaSessionStore {
  const files = openCacheStore<StoredMfaSession>(MFA_SESSION_NAMESPACE, {
    env,
    dir: options.dir,
    now: options.now,
    isValue: isStoredMfaSession,
  });
  if (options.vault === undefined) return files;
  return openVaultCache(options.vault, MFA_SESSION_NAMESPACE, {
    locks: files,
    now: options.now,
    isValue: isStoredMfaSession,
  });
}

/** The key of a profile's session with one device. */
export function mfaSessionKey(profile: string, serial: string): string {
  return `${profile} ${serial}`;
}

/**
 * The profile a session's key is of: all before the last space (a profile name may hold spaces, a
 * device's serial holds none), so that `dev` is never `dev 2`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mfaSessionKey, mfaSessionProfile } from "./mfa_session.ts";
 * assert.equal(mfaSessionProfile(mfaSessionKey("dev 2", "arn:aws:iam::1:mfa/a")), "dev 2");
 * ```
 */
export function mfaSessionProfile(key: string): string {
  return key.slice(0, key.lastIndexOf(" "));
}

/**
 * Forgets every cached session of `profile` (with any device) and returns their devices' serial
 * numbers: `keys remove`, `keys rotate` and a `keys add` that replaces the profile's pair drop the
 * sessions that the old keys started.
 */
export async function forgetMfaSessions(
  store: MfaSessionStore,
  profile: string,
): Promise<string[]> {
  const forgotten: string[] = [];
  for (const { key } of await store.list()) {
    if (mfaSessionProfile(key) !== profile) continue;
    if (await store.delete(key)) forgotten.push(key.slice(key.lastIndexOf(" ") + 1));
  }
  return forgotten;
}

/**
 * The cached session of `profile` with `serial`, if it has more than five minutes left.
 */
export async function cachedMfaSession(
  store: MfaSessionStore,
  key: { profile: string; serial: string },
  now: Date,
): Promise<MfaSessionCredentials | undefined> {
  const entry = await store.get(mfaSessionKey(key.profile, key.serial));
  if (entry === undefined) return undefined;
  const expiration = new Date(entry.value.expiration);
  if (expiration.getTime() - now.getTime() < MIN_REMAINING_MS) return undefined;
  return {
    accessKeyId: entry.value.accessKeyId,
    secretAccessKey: entry.value.secretAccessKey,
    sessionToken: entry.value.sessionToken,
    expiration,
  };
}

/**
 * Calls `GetSessionToken` with the MFA code on `client` (which signs with the IAM user's own
 * keys) and caches the session for the profile and device.
 */
export async function startMfaSession(
  client: STSClient,
  request: {
    profile: string;
    serial: string;
    code: string;
    ttlSeconds: number;
    store: MfaSessionStore;
  },
): Promise<MfaSessionCredentials> {
  const { GetSessionTokenCommand } = await stsModule();
  const requestedAt = new Date();
  let response;
  try {
    response = await client.send(
      new GetSessionTokenCommand({
        SerialNumber: request.serial,
        TokenCode: request.code,
        DurationSeconds: request.ttlSeconds,
      }),
    );
  } catch (error) {
    throw await explainMfaError(error, request);
  }
  const c = response.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
    throw new RuntimeError("GetSessionToken returned no credentials");
  }
  const session: MfaSessionCredentials = {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    sessionToken: c.SessionToken,
    // Never later than asked, and never cached once expired.
    expiration: boundedExpiration(new Date(c.Expiration), {
      operation: "GetSessionToken",
      notAfter: new Date(requestedAt.getTime() + request.ttlSeconds * 1000),
      now: new Date(),
    }),
  };
  await request.store.put(
    mfaSessionKey(request.profile, request.serial),
    {
      profile: request.profile,
      serial: request.serial,
      accessKeyId: session.accessKeyId,
      secretAccessKey: session.secretAccessKey,
      sessionToken: session.sessionToken,
      expiration: session.expiration.toISOString(),
    },
    session.expiration,
  );
  return session;
}

/** Turns AWS's refusal of an MFA code or session into a sentence; never shows the code. */
async function explainMfaError(
  error: unknown,
  request: { profile: string; serial: string },
): Promise<Error> {
  const refused = (await classifyAwsError(error, "sts")).kind === "access-denied";
  return (refused ? explainMfaRefusal(error, request) : undefined) ?? await explainAwsError(error, {
    operation: "GetSessionToken",
    profile: request.profile === "default" ? undefined : request.profile,
  });
}

/**
 * STS refuses a wrong code, an unknown device and temporary credentials alike with
 * AccessDenied: only the message tells them apart.
 */
function explainMfaRefusal(
  error: unknown,
  request: { profile: string; serial: string },
): Error | undefined {
  const message = ((error as { message?: string }).message ?? "").split("\n")[0];
  const profile = request.profile === "default"
    ? "the default credentials"
    : `profile "${request.profile}"`;
  if (/invalid MFA one time pass code/i.test(message)) {
    return new RuntimeError(`AWS refused the MFA code for ${request.serial}: wrong or expired`, {
      cause: error,
      hint: "wait for the next code and try again",
    });
  }
  if (/unable to validate MFA code|serial number/i.test(message)) {
    return new RuntimeError(
      `AWS does not know MFA device ${request.serial} as one of ${profile}'s`,
      {
        cause: error,
        hint: "check the serial: aws iam list-mfa-devices" +
          (request.profile === "default" ? "" : ` --profile ${request.profile}`),
      },
    );
  }
  if (/session credentials/i.test(message)) {
    return new RuntimeError(
      `The base credentials of ${profile} are temporary, so they cannot start an MFA session`,
      {
        cause: error,
        hint: "MFA sessions start from an IAM user's own access keys; for a role_arn profile " +
          "put mfa_serial in ~/.aws/config instead",
      },
    );
  }
  return undefined;
}

function isStoredMfaSession(value: unknown): value is StoredMfaSession {
  const v = value as Record<string, unknown> | null;
  return typeof v === "object" && v !== null &&
    ["profile", "serial", "accessKeyId", "secretAccessKey", "sessionToken", "expiration"].every(
      (field) => typeof v[field] === "string",
    );
}

function truncate(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > 80 ? `${clean.slice(0, 77)}...` : clean;
}
