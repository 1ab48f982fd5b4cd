/**
 * The broker: base credentials from the AWS SDK's provider chain, the caller's identity, and
 * AssumeRole on the broker role with the session policy. Everything AWS says goes through
 * `explainAwsError`, so callers only see sentences a user can act on.
 *
 * @module
 */

import { classifyAwsError, explainAwsError } from "./on_failure.ts";
import type { CallerIdentity, CallerIdentityCache } from "./caller_cache.ts";
import type { ClientCredentials } from "./base_credentials.ts";
import { awsTimeoutMs } from "./timeout.ts";
import { boundedExpiration } from "./expiration.ts";
import {
  type ProfileChoice,
  profileLabel,
  resolveProfile,
  unknownProfileError,
} from "./profile.ts";
import { type AgentText, RuntimeError, UserError, withAgentText } from "../core/errors.ts";
import { type ArnTarget, partitionOf } from "../request/resource.ts";
import { formatTtl } from "../request/ttl.ts";
import { grantDeadline, stsDurationSeconds } from "../request/deadline.ts";
import { type SessionPolicy, withDeadline } from "../request/session_policy.ts";
import { type SessionTag, sourceIdentityOf } from "../request/session_identity.ts";
import { vaultHolding } from "./vault_keys.ts";
import { smithyConfigModule } from "./sdk.ts";
import { type CreateStsClient, openStsConnection, type StsConnection } from "./sts_connection.ts";

/** The credentials of one session, as STS returned them. */
export interface SessionCredentials {
  /** The temporary access key id (`ASIA…`). */
  accessKeyId: string;
  /** The secret access key. Never printed or logged. */
  secretAccessKey: string;
  /** The session token. Never printed or logged. */
  sessionToken: string;
  /**
   * When they stop working: STS's expiry, or the deadline in the session policy of a grant
   * shorter than 15 minutes, whichever is sooner.
   */
  expiration: Date;
}

/** The role name that `setup aws` creates and the broker assumes by default. */
export const DEFAULT_ROLE_NAME = "timebound-iam-broker";
/** AWS's cap on a session assumed with credentials that are themselves an assumed role. */
export const ROLE_CHAINING_MAX_SECONDS = 3600;
/** The region used when neither a flag, the environment nor the profile names one. */
export const FALLBACK_REGION = "us-east-1";

/** Where the broker gets its base credentials and which role it assumes. */
export interface BrokerOptions {
  /** The AWS profile for the base credentials (default: the SDK's default chain). */
  profile?: string;
  /** The region (`--region`); otherwise the environment, the profile, then `us-east-1`. */
  region?: string;
  /**
   * The broker role's ARN, already checked (`resolveGrantSettings`); by default
   * `arn:aws:iam::<account>:role/timebound-iam-broker`.
   */
  roleArn?: string;
  /** The environment to read `AWS_REGION` and friends from. */
  env: Readonly<Record<string, string>>;
  /**
   * The base credentials to sign with, as `baseCredentialsForAssumeRole` decides them
   * (a cached MFA session, say); the SDK's chain for `profile` when omitted.
   */
  credentials?: ClientCredentials;
  /**
   * Whether errors may name the human's setup (not to an agent): an unknown profile's error lists
   * the profiles that exist, and AWS's refusal of a role that the profile assumes names it.
   */
  revealProfiles?: boolean;
  /**
   * Creates the AWS SDK's STS client; tests may hand in their own. Without it, the broker signs
   * its own requests when the base keys and the endpoint allow (`sts_connection.ts`).
   */
  createClient?: CreateStsClient;
  /**
   * The caller identities seen before, by access key id. With it, every identity learned is
   * remembered, and with `useCachedIdentity` and a known `roleArn`, a remembered one replaces
   * `sts:GetCallerIdentity`: a grant is then one request.
   */
  identityCache?: CallerIdentityCache;
  /** Whether a cached caller identity will do (no summary shows it live). Default false. */
  useCachedIdentity?: boolean;
}

/** The caller as STS sees it, and the role the broker will assume. */
export interface BrokerContext {
  /** The profile in use, if any. */
  profile?: string;
  /** The resolved region. */
  region: string;
  /** The AWS account of the base credentials. */
  account: string;
  /** The ARN of the base credentials' principal. */
  callerArn: string;
  /** Whether the base credentials are an assumed role, so AWS caps sessions at 1h. */
  chained: boolean;
  /** The broker role's ARN. */
  roleArn: string;
  /** The connection to STS, holding the base credentials. */
  client: StsConnection;
}

/** A granted session: its credentials and where they came from. */
export interface Grant {
  /** The RoleSessionName, `timebound-iam-<uuid>`; also the session id. */
  sessionName: string;
  /** The broker role's ARN. */
  roleArn: string;
  /** The session's own ARN, `arn:aws:sts::<account>:assumed-role/<role>/<session>`. */
  assumedRoleArn: string;
  /** The region the credentials are meant for. */
  region: string;
  /** The temporary credentials. */
  credentials: SessionCredentials;
  /** The caller's own name, as a SourceIdentity (`--source-identity` may have replaced it). */
  callerName?: string;
  /** The SourceIdentity and session tags the session carries (none if they were refused). */
  identity?: SessionIdentity;
  /** The permission whose refusal made the grant go without identity (`sts:TagSession`…). */
  identityRefused?: string;
  /** AWS's `PackedPolicySize`: the percentage of the packed budget the policy and tags use. */
  packedPolicySize?: number;
}

/**
 * Resolves the region without network calls: `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`,
 * the profile's `region` in the shared config file, then `us-east-1`.
 */
export async function resolveRegion(options: BrokerOptions): Promise<string> {
  const fromEnv = options.region ?? options.env.AWS_REGION ?? options.env.AWS_DEFAULT_REGION;
  if (fromEnv) return fromEnv;
  const { loadSharedConfigFiles } = await smithyConfigModule();
  const files = await loadSharedConfigFiles();
  const profile = profileLabel(resolveProfile(options.profile, options.env));
  const section = files.configFile ?? {};
  return (Object.hasOwn(section, profile) ? section[profile]?.region : undefined) ??
    FALLBACK_REGION;
}

/**
 * Checks that a named profile exists in the shared config or credentials file, so a typo gets
 * a clear error instead of a walk through every credential source.
 */
export async function checkProfile(
  choice: ProfileChoice,
  options: { revealProfiles?: boolean } = {},
): Promise<void> {
  if (choice.name === undefined) return;
  const { loadSharedConfigFiles } = await smithyConfigModule();
  const files = await loadSharedConfigFiles();
  const known = new Set([
    ...Object.keys(files.configFile ?? {}),
    ...Object.keys(files.credentialsFile ?? {}),
  ]);
  if (known.has(choice.name)) return;
  // A profile may live in the vault alone (its keys imported, no settings in ~/.aws/config).
  if (await vaultHolding(choice.name, { env: Deno.env.toObject() })) return;
  throw unknownProfileError(
    choice,
    options.revealProfiles === false ? undefined : [...known].sort(),
  );
}

/**
 * Finds the base credentials and who they belong to (`sts:GetCallerIdentity`, or the identity
 * cached for their access key id when the role is known and a cached one will do), and resolves
 * the broker role's ARN. No credentials are issued.
 */
export async function connectBroker(options: BrokerOptions): Promise<BrokerContext> {
  const choice = resolveProfile(options.profile, options.env);
  await checkProfile(choice, { revealProfiles: options.revealProfiles });
  const region = await resolveRegion(options);
  const client = await openStsConnection({
    region,
    profile: choice.name,
    credentials: options.credentials,
    timeoutMs: awsTimeoutMs(options.env),
    env: options.env,
  }, options.createClient);
  const explain = async (error: unknown) => {
    client.destroy();
    // Only a failure names the endpoint: the module that reads it loads then.
    const { stsEndpointInUse } = await import("./profile_endpoint.ts");
    return explainAwsError(error, {
      operation: "GetCallerIdentity",
      profile: choice.name,
      endpoint: await stsEndpointInUse(region, { profile: choice.name, env: options.env }),
    });
  };
  const cache = options.identityCache;
  let key: { accessKeyId: string; expiration?: Date } | undefined;
  let known: CallerIdentity | undefined;
  if (cache) {
    try {
      // The SDK memoizes the resolved credentials: AssumeRole signs with these, unresolved again.
      key = await client.credentials();
    } catch (error) {
      const explained = await explain(error);
      throw options.revealProfiles === false ? await forAgent(error, explained) : explained;
    }
    if (options.useCachedIdentity && options.roleArn !== undefined) {
      known = await cache.get(key.accessKeyId).catch((error) => {
        client.destroy();
        throw error;
      });
    }
  }
  if (!known) {
    let identity;
    try {
      identity = await client.getCallerIdentity();
    } catch (error) {
      throw await explain(error);
    }
    known = { arn: identity.Arn ?? "", account: identity.Account ?? "" };
    if (cache && key && known.arn) {
      await cache.put(key.accessKeyId, known, key.expiration).catch((error) => {
        client.destroy();
        throw error;
      });
    }
  }
  const callerArn = known.arn;
  const account = known.account;
  const partition = callerArn.split(":")[1] || "aws";
  return {
    profile: choice.name,
    region,
    account,
    callerArn,
    chained: /:assumed-role\//.test(callerArn),
    roleArn: options.roleArn ?? `arn:${partition}:iam::${account}:role/${DEFAULT_ROLE_NAME}`,
    client,
  };
}

/**
 * What an agent is told when AWS refused a role that the profile's own chain assumes (the SDK
 * resolving `role_arn` with `source_profile` or `credential_source`): AWS's sentence names that
 * role, in another account perhaps, and the IAM user, which the server's log keeps for the human.
 */
const BASE_REFUSED_FOR_AGENTS: AgentText = {
  message: "The base credentials failed: AWS refused a role that the human's AWS profile assumes",
  hint: "the server's log says why; ask the human who started the server to fix it, and do not " +
    "retry until then",
};

/**
 * The error an agent's grant gets when the base credentials could not be resolved: as explained,
 * except that AWS's refusal of a role the profile assumes is told to the agent without its names.
 * Our own errors (an MFA code needed, a role chain from the vault) pass as they are.
 */
async function forAgent(error: unknown, explained: UserError): Promise<UserError> {
  if (error instanceof UserError || explained.forAgents) return explained;
  if ((await classifyAwsError(error, "sts")).kind !== "access-denied") return explained;
  return withAgentText(explained, BASE_REFUSED_FOR_AGENTS, error);
}

/** What {@linkcode assumeBrokerRole} asks for. */
export interface AssumeRequest {
  /** The session policy (from `prepareGrant`), or a packed policy sent as it is. */
  policy: SessionPolicy | string;
  /** How long the grant lasts, in seconds. */
  ttlSeconds: number;
  /** The RoleSessionName (a fresh one by default). */
  sessionName?: string;
  /** The clock that starts the grant (default: the system clock). */
  now?: () => Date;
  /**
   * Who the session serves, for CloudTrail: the `SourceIdentity` and session tags to send. A role
   * whose trust policy refuses them (no `sts:SetSourceIdentity`/`sts:TagSession`) is asked once
   * more without them, and the grant says so in `identityRefused`.
   */
  identity?: SessionIdentity;
  /**
   * What a refusal of `identity` leads to: `"retry"` (the default, for the human's own grants)
   * asks once more without it, unless the role accepts the source identity alone (then it is the
   * tags it refuses, and the grant fails); `"fail"` fails at once: for an agent's grants and a
   * source identity the requester named (whether the role accepts either can hang on values the
   * requester chose), and for renewals (a role that stops accepting them is never followed
   * silently).
   */
  refusedIdentity?: "retry" | "fail";
  /** Abandons the call (the SDK aborts the request): the grant fails with an abort error. */
  signal?: AbortSignal;
  /**
   * The latest end of the session (what a human approved, asked before the call): the session
   * is shortened to end by then, and its policy denies everything after it.
   */
  notAfter?: Date;
}

/** The SourceIdentity and session tags of a grant. */
export interface SessionIdentity {
  /** The SourceIdentity (2–64 characters of `[\w+=,.@-]`). */
  sourceIdentity?: string;
  /** The session tags. */
  tags?: SessionTag[];
}

/**
 * Where bare resource names expand for a broker: the account of the role it assumes (by default
 * the caller's own; with `--role-arn` in another account, that account, where the session
 * acts), its region, and the role's partition.
 */
export function brokerTarget(broker: BrokerContext): ArnTarget {
  const [, partition, , , account] = broker.roleArn.split(":");
  return {
    account: /^\d{12}$/.test(account ?? "") ? account : broker.account,
    region: broker.region,
    partition: partition || partitionOf(broker.region),
  };
}

/**
 * Refuses a TTL over AWS's 1h limit for role chaining when the base credentials are themselves an
 * assumed role, as AWS would, before any call: a grant checks it, and so does a dry run, which
 * is refused for what its grant would be.
 */
export function checkRoleChaining(broker: BrokerContext, ttlSeconds: number): void {
  if (broker.chained && ttlSeconds > ROLE_CHAINING_MAX_SECONDS) {
    throw new RuntimeError(
      `TTL ${formatTtl(ttlSeconds)} is over AWS's 1h limit for role chaining: the base ` +
        `credentials (${broker.callerArn}) are themselves an assumed role`,
      { hint: "use -t 1h or less, or base credentials of an IAM user" },
    );
  }
}

/**
 * Assumes the broker role with the session policy for `ttlSeconds`. Role chaining's 1h cap is
 * checked before the call; AWS's other refusals come back explained. A grant shorter than STS's
 * 15 minutes asks STS for 15 and its policy's deadline is set now, at the request; the grant's
 * expiration is that deadline.
 */
export async function assumeBrokerRole(
  broker: BrokerContext,
  request: AssumeRequest,
): Promise<Grant> {
  checkRoleChaining(broker, request.ttlSeconds);
  const sessionName = request.sessionName ?? newSessionName();
  const clock = request.now ?? (() => new Date());
  const { deadline, ttlSeconds } = sessionEnd(clock(), request);
  const policy = typeof request.policy === "string"
    ? { packed: request.policy, deadline: undefined }
    : request.policy.deadline || request.notAfter
    ? withDeadline(request.policy, deadline)
    : request.policy;
  const send = (identity: SessionIdentity | undefined) =>
    broker.client.assumeRole({
      RoleArn: broker.roleArn,
      RoleSessionName: sessionName,
      DurationSeconds: stsDurationSeconds(ttlSeconds),
      Policy: policy.packed,
      SourceIdentity: identity?.sourceIdentity,
      Tags: identity?.tags?.length ? identity.tags : undefined,
    }, { abortSignal: request.signal });
  let identity = request.identity;
  let identityRefused: string | undefined;
  let tagsRefused = false;
  let response;
  try {
    try {
      response = await send(identity);
    } catch (error) {
      identityRefused = identity && await refusedIdentityAction(error);
      if (!identity || !identityRefused) throw error;
      if (request.refusedIdentity === "fail") throw identityRequired(broker, identityRefused);
      // The trust policy lacks the permission to name who asked (an older broker role), or a
      // condition of it refuses this grant's tags, whose values the requester chose (an MCP
      // client's name, the scopes). For a grant in the caller's own name, the source identity
      // alone tells them apart: a role that accepts it refuses the tags, and the grant fails
      // rather than drop them (a session without them would also slip past a condition on
      // aws:PrincipalTag); only a role that refuses it too is asked once more without identity,
      // and the caller tells the user and remembers.
      if (identity.tags?.length) {
        tagsRefused = identity.sourceIdentity === undefined ||
          await isGranted(send({ sourceIdentity: identity.sourceIdentity }));
      }
      if (!tagsRefused) {
        identity = undefined;
        response = await send(undefined);
      }
    }
  } catch (error) {
    throw await explainAwsError(error, {
      operation: "AssumeRole",
      profile: broker.profile,
      roleArn: broker.roleArn,
      callerArn: broker.callerArn,
      ttlSeconds: request.ttlSeconds,
    });
  }
  // No response only when the tags were refused: the role accepted the source identity alone,
  // or there was none to try.
  if (!response) throw tagsRefusedError(broker, request.identity?.tags ?? []);
  const c = response.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
    throw new RuntimeError("AssumeRole returned no credentials");
  }
  return {
    sessionName,
    roleArn: broker.roleArn,
    assumedRoleArn: response.AssumedRoleUser?.Arn ?? "",
    region: broker.region,
    credentials: {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      // Never later than asked (the request's time and TTL, to the whole second, as a short
      // grant's policy states it), and never expired.
      expiration: boundedExpiration(new Date(c.Expiration), {
        operation: "AssumeRole",
        notAfter: deadline,
        now: clock(),
      }),
    },
    callerName: sourceIdentityOf(broker.callerArn),
    identity,
    identityRefused,
    packedPolicySize: response.PackedPolicySize,
  };
}

/** A grant that never goes without identity (an agent's, a renewal) met a role that refuses it. */
function identityRequired(broker: BrokerContext, refused: string): RuntimeError {
  return new RuntimeError(
    `The trust policy of ${broker.roleArn} refuses this grant's source identity or ` +
      `session tags (${refused}), and this grant never goes without them`,
    {
      hint: "ask the role's administrator: timebound-iam setup aws --apply adds " +
        "sts:SetSourceIdentity and sts:TagSession to its trust policy",
    },
  );
}

/** The role accepts the grant's source identity but refuses its session tags. */
function tagsRefusedError(broker: BrokerContext, tags: readonly SessionTag[]): RuntimeError {
  const named = tags.map((tag) => `${tag.Key}=${tag.Value}`);
  return new RuntimeError(
    `The trust policy of ${broker.roleArn} refuses this grant's session tags (` +
      `${named.join(", ")}): it lacks sts:TagSession, or a condition of it refuses these values`,
    {
      hint: "no credentials were handed out; timebound-iam setup aws --apply adds " +
        "sts:TagSession, or allow these values in the conditions on aws:RequestTag and " +
        "aws:TagKeys",
    },
  );
}

/**
 * When a session that starts `now` ends, and its length: the TTL, or less when `notAfter` comes
 * first (to the whole second, as a deadline is written). Throws when nothing of it is left.
 */
function sessionEnd(
  now: Date,
  request: Pick<AssumeRequest, "ttlSeconds" | "notAfter">,
): { deadline: Date; ttlSeconds: number } {
  const asked = grantDeadline(now, request.ttlSeconds);
  if (!request.notAfter || request.notAfter >= asked) {
    return { deadline: asked, ttlSeconds: request.ttlSeconds };
  }
  const deadline = new Date(Math.floor(request.notAfter.getTime() / 1000) * 1000);
  const ttlSeconds = Math.floor((deadline.getTime() - now.getTime()) / 1000);
  if (ttlSeconds < 1) {
    throw new RuntimeError(
      `The session had to end by ${deadline.toISOString()}, which has passed: no credentials ` +
        "were requested",
    );
  }
  return { deadline, ttlSeconds };
}

/**
 * The permission (`sts:TagSession` or `sts:SetSourceIdentity`) whose refusal an AssumeRole
 * error reports, if that is what it reports.
 */
export async function refusedIdentityAction(error: unknown): Promise<string | undefined> {
  if ((await classifyAwsError(error, "sts")).kind !== "access-denied") return undefined;
  // AWS has one AccessDenied for every refusal; only its message names the permission.
  const message = (error as { message?: string }).message ?? "";
  return /\b(sts:(?:TagSession|SetSourceIdentity))\b/.exec(message)?.[1];
}

/**
 * Whether an AssumeRole that may be refused for its identity was granted: `false` when the trust
 * policy refused `sts:SetSourceIdentity` (or `sts:TagSession`); any other failure is thrown. Its
 * credentials are dropped: it only tells what the role accepts.
 */
async function isGranted(call: Promise<unknown>): Promise<boolean> {
  try {
    await call;
    return true;
  } catch (error) {
    if (await refusedIdentityAction(error)) return false;
    throw error;
  }
}

/**
 * A fresh RoleSessionName: `timebound-iam-` and a random UUID (50 characters, within AWS's 64).
 */
export function newSessionName(): string {
  return `timebound-iam-${crypto.randomUUID()}`;
}
