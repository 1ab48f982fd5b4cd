/**
 * The world of the local AWS endpoint: a movable clock, the identities that may sign requests
 * (IAM users with static keys, assumed-role sessions with temporary ones) and the IAM roles
 * that STS and IAM share.
 *
 * @module
 */

import { accountTrustPolicy, parsePolicyDocument } from "./policy_document.ts";

/** The account used when none is given. */
export const DEFAULT_ACCOUNT_ID = "123456789012";

/**
 * A clock that follows real time plus an offset that tests move, so that the endpoint can be
 * taken past the expiry of the credentials it issued.
 *
 * @example
 * ```ts
 * import { LocalClock } from "./state.ts";
 * const clock = new LocalClock();
 * clock.advance(2 * 60 * 60_000); // two hours later
 * ```
 */
export class LocalClock {
  #offsetMs = 0;

  /** The current time of the endpoint. */
  now(): Date {
    return new Date(Date.now() + this.#offsetMs);
  }

  /** Move the clock forward (or back, with a negative amount) by `ms` milliseconds. */
  advance(ms: number): void {
    this.#offsetMs += ms;
  }

  /** Move the clock so that it now reads `time` (and runs on from there). */
  set(time: Date): void {
    this.#offsetMs = time.getTime() - Date.now();
  }
}

/** An IAM user with static access keys. */
export interface UserIdentity {
  /** Discriminates users from sessions. */
  kind: "user";
  /** The user's account. */
  accountId: string;
  /** The user name. */
  userName: string;
  /** The unique id, `AIDA…`. */
  userId: string;
  /** `arn:aws:iam::ACCOUNT:user/NAME`. */
  arn: string;
  /** `AKIA…`. */
  accessKeyId: string;
  /** The 40-character secret. */
  secretAccessKey: string;
  /** When the key was created, by the endpoint's clock. */
  createDate?: Date;
  /**
   * The real time (ms since the epoch) before which a key just made by `CreateAccessKey` is not
   * yet accepted, as AWS takes a few seconds to make a new key usable everywhere.
   */
  usableAt?: number;
}

/** A session of an assumed role with temporary credentials. */
export interface SessionIdentity {
  /** Discriminates sessions from users. */
  kind: "session";
  /** The role's account. */
  accountId: string;
  /** The role's name. */
  roleName: string;
  /** The role's unique id, `AROA…`. */
  roleId: string;
  /** The role's ARN, e.g. `arn:aws:iam::ACCOUNT:role/NAME`. */
  roleArn: string;
  /** The RoleSessionName. */
  sessionName: string;
  /** `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`. */
  arn: string;
  /** `AROA…:SESSION`, as GetCallerIdentity reports it. */
  userId: string;
  /** `ASIA…`. */
  accessKeyId: string;
  /** The 40-character secret. */
  secretAccessKey: string;
  /** The session token that must accompany the key. */
  sessionToken: string;
  /** When the credentials stop working, by the endpoint's clock. */
  expiration: Date;
  /** The DurationSeconds the session was issued for. */
  durationSeconds: number;
  /** The inline session policy, as sent. */
  policy?: string;
  /** Whether the session was obtained with assumed-role credentials (role chaining). */
  chained: boolean;
  /** The ARN of whoever called AssumeRole (undefined for sessions made by a test). */
  issuedTo?: string;
  /** The SourceIdentity, when one was set. */
  sourceIdentity?: string;
  /** The session tags, by key. */
  tags: Record<string, string>;
  /** When MFA was last proven for this session (AssumeRole with a code, or an MFA caller). */
  mfaAuthenticatedAt?: Date;
}

/**
 * Temporary credentials of an IAM user from `GetSessionToken`: they sign as the user (same ARN),
 * carry the MFA context when a code was given, and cannot call `GetSessionToken` again.
 */
export interface UserSessionIdentity extends Omit<UserIdentity, "kind"> {
  /** Discriminates user sessions from users and role sessions. */
  kind: "user-session";
  /** The session token that must accompany the key. */
  sessionToken: string;
  /** When the credentials stop working, by the endpoint's clock. */
  expiration: Date;
  /** The DurationSeconds the session was issued for. */
  durationSeconds: number;
  /** When the MFA code was checked, if one was given. */
  mfaAuthenticatedAt?: Date;
  /** The serial number of the MFA device used, if any. */
  mfaSerial?: string;
}

/** Anyone who can sign a request. */
export type Identity = UserIdentity | SessionIdentity | UserSessionIdentity;

/** The session token and expiry of temporary credentials; undefined for a user's own keys. */
export function temporaryPart(
  identity: Identity,
): { sessionToken: string; expiration: Date } | undefined {
  return identity.kind === "user" ? undefined : identity;
}

/** A virtual MFA device: its seed, and the user it is enabled for, if any. */
export interface MfaDevice {
  /** The account. */
  accountId: string;
  /** `arn:aws:iam::ACCOUNT:mfa/PATHNAME`. */
  serialNumber: string;
  /** The TOTP seed in Base32, as CreateVirtualMFADevice returns it. */
  base32Seed: string;
  /** The user it is enabled for (EnableMFADevice), if any. */
  userName?: string;
  /** When it was enabled. */
  enableDate?: Date;
}

/** A sign-in token the endpoint issued, and the session it signs in as. */
export interface SigninRecord {
  /** The token (a secret, as the URL that carries it). */
  token: string;
  /** The assumed-role session: its policy, duration, expiry, tags and source identity. */
  session: SessionIdentity;
  /** When it was issued, by the endpoint's clock. */
  issuedAt: Date;
  /** The `SessionDuration` asked for, if any. */
  sessionDuration?: number;
  /** How many times `Action=login` accepted it. */
  logins: number;
}

/** An IAM role. */
export interface Role {
  /** The role's account. */
  accountId: string;
  /** The role name. */
  roleName: string;
  /** The role path, `/` unless set. */
  path: string;
  /** The unique id, `AROA…`. */
  roleId: string;
  /** `arn:aws:iam::ACCOUNT:role/PATHNAME`. */
  arn: string;
  /** The longest session that AssumeRole grants, 3600..43200 seconds. */
  maxSessionDuration: number;
  /** The trust policy (JSON as given). */
  trustPolicy: string;
  /** The description, if any. */
  description?: string;
  /** When it was created, by the endpoint's clock. */
  createDate: Date;
  /** Inline permission policies by name (JSON as given). */
  inlinePolicies: Map<string, string>;
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function randomString(alphabet: string, length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

/** A random AWS-style unique id with a prefix: `AKIA`/`ASIA` keys (20 chars), `AIDA`/`AROA` ids (21). */
export function randomId(prefix: "AKIA" | "ASIA" | "AIDA" | "AROA"): string {
  const length = prefix === "AKIA" || prefix === "ASIA" ? 16 : 17;
  return prefix + randomString(ID_ALPHABET, length);
}

/** A random 40-character secret access key. */
export function randomSecret(): string {
  return randomString(SECRET_ALPHABET, 40);
}

/** A random session token, long and base64-looking like STS's. */
export function randomSessionToken(): string {
  return "IQoJb3JpZ2luX2VjE" + randomString(SECRET_ALPHABET, 400);
}

/**
 * The mutable state of the endpoint: identities by access key id, roles by account and name,
 * and every secret it ever handed out.
 */
export class LocalAwsState {
  /** The endpoint's clock. */
  readonly clock: LocalClock = new LocalClock();
  /** Every identity that may sign, by access key id. */
  readonly identities: Map<string, Identity> = new Map();
  /** Every role, by `ACCOUNT/NAME`. */
  readonly roles: Map<string, Role> = new Map();
  /** The secret of every issued session; random when unset. */
  sessionSecret?: string;
  /** Every MFA device, by serial number. */
  readonly mfaDevices: Map<string, MfaDevice> = new Map();
  /**
   * When set, AssumeRole's credentials expire this many seconds after issue, whatever the
   * DurationSeconds (as sessions that a policy ends early do): how tests see renewals quickly.
   */
  assumeRoleLifetimeSeconds?: number;
  /** How long a key made by `CreateAccessKey` is refused before it works (ms; default 0). */
  newAccessKeyDelayMs = 0;
  /** Every sign-in token the federation endpoint issued, by token. */
  readonly signinTokens: Map<string, SigninRecord> = new Map();

  /** Register an IAM user with static keys (random unless given), created now unless told. */
  addUser(
    options: {
      accountId?: string;
      userName: string;
      accessKeyId?: string;
      secretAccessKey?: string;
      createDate?: Date;
    },
  ): UserIdentity {
    const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
    const user: UserIdentity = {
      kind: "user",
      accountId,
      userName: options.userName,
      userId: randomId("AIDA"),
      arn: `arn:aws:iam::${accountId}:user/${options.userName}`,
      accessKeyId: options.accessKeyId ?? randomId("AKIA"),
      secretAccessKey: options.secretAccessKey ?? randomSecret(),
      createDate: options.createDate ?? this.clock.now(),
    };
    this.identities.set(user.accessKeyId, user);
    return user;
  }

  /** The access keys of a user (every identity of kind `user` with that ARN), oldest first. */
  accessKeysOf(arn: string): UserIdentity[] {
    return [...this.identities.values()].filter((identity): identity is UserIdentity =>
      identity.kind === "user" && identity.arn === arn
    );
  }

  /**
   * Create a role (throws the policy parser's `MalformedPolicyDocument` on a bad trust policy).
   * Its default trust policy lets any principal of its account assume it.
   */
  addRole(options: {
    accountId?: string;
    roleName: string;
    path?: string;
    maxSessionDuration?: number;
    trustPolicy?: string;
    description?: string;
  }): Role {
    const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
    const path = options.path ?? "/";
    const trustPolicy = options.trustPolicy ?? accountTrustPolicy(accountId);
    parsePolicyDocument(trustPolicy, "This policy contains invalid Json");
    const role: Role = {
      accountId,
      roleName: options.roleName,
      path,
      roleId: randomId("AROA"),
      arn: `arn:aws:iam::${accountId}:role${path}${options.roleName}`,
      maxSessionDuration: options.maxSessionDuration ?? 3600,
      trustPolicy,
      description: options.description,
      createDate: this.clock.now(),
      inlinePolicies: new Map(),
    };
    this.roles.set(`${accountId}/${options.roleName}`, role);
    return role;
  }

  /** The role of that name in that account, if any. */
  findRole(accountId: string, roleName: string): Role | undefined {
    return this.roles.get(`${accountId}/${roleName}`);
  }

  /**
   * Issue temporary credentials for a session of `role` that lasts `durationSeconds` from now
   * by the endpoint's clock.
   */
  issueSession(
    role: Pick<Role, "accountId" | "roleName" | "roleId" | "arn">,
    options: {
      sessionName: string;
      durationSeconds: number;
      /** Seconds until the credentials expire, if not `durationSeconds`. */
      lifetimeSeconds?: number;
      policy?: string;
      chained?: boolean;
      issuedTo?: string;
      sourceIdentity?: string;
      tags?: Record<string, string>;
      mfaAuthenticatedAt?: Date;
    },
  ): SessionIdentity {
    const session: SessionIdentity = {
      kind: "session",
      accountId: role.accountId,
      roleName: role.roleName,
      roleId: role.roleId,
      roleArn: role.arn,
      sessionName: options.sessionName,
      arn: `arn:aws:sts::${role.accountId}:assumed-role/${role.roleName}/${options.sessionName}`,
      userId: `${role.roleId}:${options.sessionName}`,
      accessKeyId: randomId("ASIA"),
      secretAccessKey: this.sessionSecret ?? randomSecret(),
      sessionToken: randomSessionToken(),
      expiration: new Date(
        this.clock.now().getTime() + (options.lifetimeSeconds ?? options.durationSeconds) * 1000,
      ),
      durationSeconds: options.durationSeconds,
      policy: options.policy,
      chained: options.chained ?? false,
      issuedTo: options.issuedTo,
      sourceIdentity: options.sourceIdentity,
      tags: options.tags ?? {},
      mfaAuthenticatedAt: options.mfaAuthenticatedAt,
    };
    this.identities.set(session.accessKeyId, session);
    return session;
  }

  /**
   * Every secret access key, session token, MFA seed and sign-in token the endpoint knows, base
   * ones included.
   */
  secrets(): string[] {
    return [
      ...[...this.identities.values()].flatMap((identity) =>
        identity.kind === "user"
          ? [identity.secretAccessKey]
          : [identity.secretAccessKey, identity.sessionToken]
      ),
      ...[...this.mfaDevices.values()].map((device) => device.base32Seed),
      ...this.signinTokens.keys(),
    ];
  }
}
