/**
 * A local AWS endpoint for tests: a real HTTP server on 127.0.0.1 that speaks the AWS query
 * protocol for STS (`AssumeRole`, `GetCallerIdentity`, `GetSessionToken`) and IAM (role and MFA
 * device actions; see `mfa.ts` for TOTP and the MFA condition keys), checks every
 * request's SigV4 signature against the keys it knows, answers with AWS's XML bodies and error
 * codes, and records what it was asked. Point the AWS SDK or the AWS CLI at it with
 * {@linkcode LocalAws.env}.
 *
 * Which service a request is for comes from its SigV4 credential scope
 * (`…/us-east-1/sts/aws4_request` or `…/iam/…`), so one server serves both. The paths
 * `/federation` and `/oauth` are the console's federation (sign-in) endpoint (see
 * `federation.ts`): {@linkcode LocalAws.signinUrl} is what `TIMEBOUND_IAM_SIGNIN_URL` names.
 *
 * Times: the expiry of issued credentials follows the endpoint's {@linkcode LocalClock}, which
 * tests move; the ±15-minute check of the signing time follows real time (clients sign with
 * the real clock), and can be turned off with `checkSkew: false`.
 *
 * Run it by hand with `deno run -A tests/support/local_aws.ts`: it prints `export …` lines
 * for a shell and serves until Ctrl-C.
 *
 * @example
 * ```ts ignore
 * import { STSClient, AssumeRoleCommand } from "@aws-sdk/client-sts";
 * import { LocalAws } from "./local_aws.ts";
 *
 * await using aws = await LocalAws.start();
 * const sts = new STSClient({
 *   region: "us-east-1",
 *   endpoint: aws.url,
 *   credentials: aws.defaultUser,
 * });
 * const out = await sts.send(new AssumeRoleCommand({
 *   RoleArn: aws.brokerRoleArn,
 *   RoleSessionName: "timebound-iam-test",
 * }));
 * aws.clock.advance(2 * 3600_000); // the issued keys are now expired
 * ```
 *
 * @module
 */

import type { ActionHandler } from "./action.ts";
import { accessDenied, iamActionOf, iamResourceOf, PROTOCOL } from "./access_denied.ts";
import { AwsError } from "./aws_error.ts";
import { FederationEndpoint, type FederationRequest } from "./federation.ts";
import { IAM_ACTIONS, IAM_NAMESPACE, IAM_VERSION } from "./iam.ts";
import { newBase32Seed, totpCode } from "./mfa.ts";
import {
  checkSkew,
  parseAuthorization,
  type SigV4Authorization,
  verifySignature,
} from "./sigv4.ts";
import {
  DEFAULT_ACCOUNT_ID,
  type Identity,
  LocalAwsState,
  type LocalClock,
  randomId,
  type Role,
  type SessionIdentity,
  type SigninRecord,
  temporaryPart,
} from "./state.ts";
import { assumeRoleDenied, STS_ACTIONS, STS_NAMESPACE, STS_VERSION } from "./sts.ts";
import { errorXml, successXml } from "./xml.ts";
import { crc32 } from "node:zlib";
import { decodeAwsChunked, isAwsChunked } from "./aws_chunked.ts";
import { DYNAMODB_TARGET_PREFIX, dynamoErrorBody, LocalDynamoDb } from "./dynamodb.ts";
import { copySourceOf, LocalS3, s3ErrorXml, s3Operation } from "./s3.ts";

export { LocalClock } from "./state.ts";
export type { SessionIdentity, SigninRecord } from "./state.ts";
export type { FederationRequest } from "./federation.ts";

/** The name of the broker role that {@linkcode LocalAws.start} creates unless told not to. */
export const BROKER_ROLE_NAME = "timebound-iam-broker";

/** A service the endpoint serves. */
export type LocalAwsService = "sts" | "iam";

/** Options of {@linkcode LocalAws.start}. */
export interface LocalAwsOptions {
  /** The account of the default user and the broker role. Default `123456789012`. */
  accountId?: string;
  /** The default user's name. Default `developer`. */
  userName?: string;
  /** The default user's access key id. Random `AKIA…` unless given. */
  accessKeyId?: string;
  /** The default user's secret. Random unless given. */
  secretAccessKey?: string;
  /** Create the role `timebound-iam-broker` (MaxSessionDuration 3600). Default `true`. */
  brokerRole?: boolean;
  /** Refuse requests signed more than 15 minutes from real time. Default `true`. */
  checkSkew?: boolean;
  /**
   * How far the endpoint's real-time clock runs ahead of the machine's (behind, if negative): the
   * ±15-minute check of the signing time and the `Date` header of every answer follow it, as an
   * AWS whose clock differs from a client's. Default 0.
   */
  clockSkewMs?: number;
  /**
   * The secret of every session it issues, random unless given: a test hands in one with
   * quotes, spaces, `$` and newlines to see it travel through the CLI's output unharmed.
   */
  sessionSecret?: string;
  /**
   * AssumeRole's credentials expire this many seconds after issue instead of after
   * DurationSeconds (which is still validated): a short-lived session for renewal tests.
   */
  sessionSeconds?: number;
  /**
   * Decides whether a session's inline policy allows an S3 or DynamoDB call (a test hands in an
   * IAM simulator); a call it does not allow is refused as AWS refuses it (S3's AccessDenied,
   * DynamoDB's AccessDeniedException, "because no session policy allows …"). Without it, session
   * policies are not evaluated.
   */
  sessionPolicy?: (question: SessionPolicyQuestion) => Promise<boolean>;
}

/** What {@linkcode LocalAwsOptions.sessionPolicy} is asked about one call. */
export interface SessionPolicyQuestion {
  /** The session's inline policy, as sent to AssumeRole. */
  policy: string;
  /** `s3` or `dynamodb`. */
  service: "s3" | "dynamodb";
  /** The API operation (`GetObject`, `ListObjectsV2`, `GetItem`…), not the IAM action. */
  operation: string;
  /** The ARN the call names: `arn:aws:s3:::bucket/key`, `arn:aws:dynamodb:…:table/T`, or `*`. */
  resource: string;
  /** The caller's account. */
  accountId: string;
}

/**
 * Credentials that a test hands to a client, with the identity they belong to. The shape fits
 * the AWS SDK's `credentials` option.
 */
export interface LocalCredentials {
  /** `AKIA…` for a user, `ASIA…` for a session. */
  accessKeyId: string;
  /** The secret access key. */
  secretAccessKey: string;
  /** The session token, for a session. */
  sessionToken?: string;
  /** When a session's keys expire, by the endpoint's clock. */
  expiration?: Date;
  /** The identity's ARN (user ARN or assumed-role session ARN). */
  arn: string;
  /** The identity's account. */
  accountId: string;
}

/** A role as tests see it (a copy; change it through IAM calls or {@linkcode LocalAws.addRole}). */
export interface LocalRole {
  /** The account. */
  accountId: string;
  /** The role name. */
  roleName: string;
  /** The role ARN. */
  arn: string;
  /** The unique id, `AROA…`. */
  roleId: string;
  /** The role path. */
  path: string;
  /** The longest session, in seconds. */
  maxSessionDuration: number;
  /** The trust policy JSON as given. */
  trustPolicy: string;
  /** The description, if any. */
  description?: string;
  /** Inline policies by name, JSON as given. */
  inlinePolicies: Record<string, string>;
}

/** One request the endpoint answered, for assertions. Holds no secret. */
export interface RecordedRequest {
  /** The service, from the credential scope (or the `Version` of an unsigned request). */
  service: string;
  /** The `Action` parameter (empty when missing). */
  action: string;
  /** Every query-protocol parameter, body and query string merged. */
  params: Record<string, string>;
  /** The access key id that signed it, if signed. */
  accessKeyId?: string;
  /** The caller's ARN, when the key was known. */
  callerArn?: string;
  /** The HTTP status of the answer. */
  status: number;
  /** The AWS error code of the answer, if it failed. */
  errorCode?: string;
  /** The `x-amzn-RequestId` of the answer. */
  requestId: string;
  /** The `User-Agent` the client sent. */
  userAgent?: string;
}

/** Options of {@linkcode LocalAws.failNext}. */
export interface FailNextOptions {
  /** The error message. A fitting AWS message for known codes unless given. */
  message?: string;
  /** The HTTP status. A fitting one for known codes (403, 400, 500, 503) unless given. */
  status?: number;
  /** How many requests fail (the SDK retries throttling and 5xx). Default 1. */
  times?: number;
}

interface Fault {
  action: string;
  code: string;
  message?: string;
  status?: number;
  remaining: number;
}

interface Denial {
  action: string;
  who?: string;
}

const KNOWN_FAULTS: Record<string, { status: number; message?: string }> = {
  AccessDenied: { status: 403 },
  Throttling: { status: 400, message: "Rate exceeded" },
  ThrottlingException: { status: 400, message: "Rate exceeded" },
  ExpiredToken: { status: 403, message: "The security token included in the request is expired" },
  InvalidClientTokenId: {
    status: 403,
    message: "The security token included in the request is invalid.",
  },
  SignatureDoesNotMatch: {
    status: 403,
    message: "The request signature we calculated does not match the signature you provided.",
  },
  RegionDisabledException: { status: 403 },
  InternalFailure: { status: 500, message: "An internal error occurred." },
  InternalError: { status: 500, message: "An internal error occurred." },
  ServiceFailure: { status: 500, message: "An internal error occurred." },
  ServiceUnavailable: { status: 503, message: "Service Unavailable" },
};

/** STS's actions that need no permission, which no policy can deny (AWS's STS reference). */
const UNDENIABLE = new Set(["GetCallerIdentity", "GetSessionToken"]);

const ACTIONS: Record<LocalAwsService, Record<string, ActionHandler>> = {
  sts: STS_ACTIONS,
  iam: IAM_ACTIONS,
};

const NAMESPACES: Record<LocalAwsService, string> = { sts: STS_NAMESPACE, iam: IAM_NAMESPACE };
const VERSIONS: Record<LocalAwsService, string> = { sts: STS_VERSION, iam: IAM_VERSION };

function credentialsOf(identity: Identity): LocalCredentials {
  return {
    accessKeyId: identity.accessKeyId,
    secretAccessKey: identity.secretAccessKey,
    sessionToken: temporaryPart(identity)?.sessionToken,
    expiration: temporaryPart(identity)?.expiration,
    arn: identity.arn,
    accountId: identity.accountId,
  };
}

function roleOf(role: Role): LocalRole {
  return {
    accountId: role.accountId,
    roleName: role.roleName,
    arn: role.arn,
    roleId: role.roleId,
    path: role.path,
    maxSessionDuration: role.maxSessionDuration,
    trustPolicy: role.trustPolicy,
    description: role.description,
    inlinePolicies: Object.fromEntries(role.inlinePolicies),
  };
}

function isService(name: string): name is LocalAwsService {
  return name === "sts" || name === "iam";
}

function serviceOfVersion(version: string | undefined): LocalAwsService | undefined {
  if (version === STS_VERSION) return "sts";
  if (version === IAM_VERSION) return "iam";
  return undefined;
}

/**
 * The local AWS endpoint. Start it with {@linkcode LocalAws.start}, close it with
 * {@linkcode LocalAws.close} or `await using`.
 */
export class LocalAws {
  /** The base URL, `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The default account, `123456789012` unless told. */
  readonly accountId: string;
  /** The default user's credentials (an IAM user with static keys). */
  readonly defaultUser: LocalCredentials;
  /** The ARN of the broker role, `arn:aws:iam::ACCOUNT:role/timebound-iam-broker`. */
  readonly brokerRoleArn: string;
  /** Every request answered, in order. */
  readonly requests: RecordedRequest[] = [];

  readonly #state: LocalAwsState;
  readonly #federation: FederationEndpoint;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #checkSkew: boolean;
  readonly #clockSkewMs: number;
  readonly #sessionPolicy?: (question: SessionPolicyQuestion) => Promise<boolean>;
  readonly #faults: Fault[] = [];
  readonly #denials: Denial[] = [];
  readonly #s3 = new LocalS3();
  readonly #dynamodb = new LocalDynamoDb();
  #closing?: Promise<void>;
  #silence?: PromiseWithResolvers<void>;
  #delayMs = 0;
  readonly #actionDelayMs = new Map<string, number>();
  readonly #closed = Promise.withResolvers<void>();
  #waiting = 0;
  #firstHeld = Promise.withResolvers<number>();

  private constructor(
    state: LocalAwsState,
    server: Deno.HttpServer<Deno.NetAddr>,
    options: LocalAwsOptions,
  ) {
    this.#state = state;
    this.#federation = new FederationEndpoint(state);
    this.#server = server;
    this.#checkSkew = options.checkSkew ?? true;
    this.#clockSkewMs = options.clockSkewMs ?? 0;
    this.#sessionPolicy = options.sessionPolicy;
    state.sessionSecret = options.sessionSecret;
    this.url = `http://127.0.0.1:${server.addr.port}`;
    this.accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
    this.brokerRoleArn = `arn:aws:iam::${this.accountId}:role/${BROKER_ROLE_NAME}`;
    const user = state.addUser({
      accountId: this.accountId,
      userName: options.userName ?? "developer",
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
    });
    this.defaultUser = credentialsOf(user);
    if (options.brokerRole ?? true) {
      state.addRole({ accountId: this.accountId, roleName: BROKER_ROLE_NAME });
    }
    state.assumeRoleLifetimeSeconds = options.sessionSeconds;
  }

  /**
   * Start an endpoint on 127.0.0.1 on a free port, with a default user and (unless
   * `brokerRole: false`) the role `timebound-iam-broker` that the account may assume.
   */
  static start(options: LocalAwsOptions = {}): Promise<LocalAws> {
    const state = new LocalAwsState();
    const box: { aws?: LocalAws } = {};
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => box.aws!.#handle(request),
    );
    box.aws = new LocalAws(state, server, options);
    return Promise.resolve(box.aws);
  }

  /**
   * The URL of the local federation endpoint, `http://127.0.0.1:PORT/federation`: what
   * `TIMEBOUND_IAM_SIGNIN_URL` names to send the console's sign-in here.
   */
  get signinUrl(): string {
    return `${this.url}/federation`;
  }

  /** Every request the federation endpoint answered, in order (no secret in them). */
  get federationRequests(): readonly FederationRequest[] {
    return this.#federation.requests;
  }

  /**
   * The record of a sign-in token the federation endpoint issued: the session it signs in as
   * (policy, duration, expiry, tags), when, and how often it was used to log in.
   */
  signinRecord(token: string): SigninRecord | undefined {
    return this.#state.signinTokens.get(token);
  }

  /** Every sign-in token issued so far, oldest first. */
  signinRecords(): SigninRecord[] {
    return [...this.#state.signinTokens.values()];
  }

  /**
   * How long a key made by `CreateAccessKey` is refused (`InvalidClientTokenId`) before it works,
   * in real milliseconds (default 0), as AWS takes a few seconds to make a new key usable.
   */
  set newAccessKeyDelayMs(ms: number) {
    this.#state.newAccessKeyDelayMs = ms;
  }

  /** The access key ids the user `userName` of the default account has now, oldest first. */
  accessKeyIds(userName: string): string[] {
    const arn = `arn:aws:iam::${this.accountId}:user/${userName}`;
    return this.#state.accessKeysOf(arn).map((key) => key.accessKeyId);
  }

  /** The endpoint's clock: the expiry of issued credentials follows it. */
  get clock(): LocalClock {
    return this.#state.clock;
  }

  /**
   * Add an IAM user with static keys (random unless given) and return its credentials. The key's
   * `createDate` (what `ListAccessKeys` reports) is now unless given: an old key is one made 400
   * days ago.
   */
  addUser(options: {
    userName: string;
    accountId?: string;
    accessKeyId?: string;
    secretAccessKey?: string;
    createDate?: Date;
  }): LocalCredentials {
    return credentialsOf(this.#state.addUser(options));
  }

  /**
   * Add base credentials that are themselves an assumed-role session (as SSO or a
   * `role_arn` profile gives), so that AssumeRole with them is role chaining. The role need
   * not exist; its ARN is what trust policies may name.
   */
  addAssumedRoleCaller(options: {
    roleName: string;
    accountId?: string;
    sessionName?: string;
    durationSeconds?: number;
  }): LocalCredentials {
    const accountId = options.accountId ?? this.accountId;
    const role = this.#state.findRole(accountId, options.roleName) ?? {
      accountId,
      roleName: options.roleName,
      roleId: randomId("AROA"),
      arn: `arn:aws:iam::${accountId}:role/${options.roleName}`,
    };
    const session = this.#state.issueSession(role, {
      sessionName: options.sessionName ?? "base-session",
      durationSeconds: options.durationSeconds ?? 3600,
    });
    return credentialsOf(session);
  }

  /**
   * Add (or replace) a role. `trustPolicy` is a JSON string or object; by default any
   * principal of the account may assume the role.
   */
  addRole(options: {
    roleName: string;
    accountId?: string;
    maxSessionDuration?: number;
    trustPolicy?: string | Record<string, unknown>;
    path?: string;
    description?: string;
  }): LocalRole {
    const trust = options.trustPolicy;
    return roleOf(this.#state.addRole({
      ...options,
      accountId: options.accountId ?? this.accountId,
      trustPolicy: typeof trust === "object" ? JSON.stringify(trust) : trust,
    }));
  }

  /** A copy of the role of that name (in the default account unless told), if it exists. */
  role(roleName: string, accountId: string = this.accountId): LocalRole | undefined {
    const role = this.#state.findRole(accountId, roleName);
    return role === undefined ? undefined : roleOf(role);
  }

  /** Every assumed-role session the endpoint knows, AssumeRole's and the test's. */
  sessions(): SessionIdentity[] {
    return [...this.#state.identities.values()].filter((i): i is SessionIdentity =>
      i.kind === "session"
    );
  }

  /**
   * Make the next `times` (default 1) authenticated calls of `action` (or of any action,
   * with `"*"`) fail with the AWS error `code`, e.g. `failNext("AssumeRole", "Throttling",
   * { times: 3 })`. Known codes get AWS's status and message.
   */
  failNext(action: string, code: string, options: FailNextOptions = {}): void {
    this.#faults.push({
      action,
      code,
      message: options.message,
      status: options.status,
      remaining: options.times ?? 1,
    });
  }

  /**
   * Deny `action` (`"GetRole"`, `"iam:GetRole"`, `"iam:*"` or `"*"`) to `who` (an access key
   * id, a caller ARN or, for sessions, their role ARN; everyone when left out) until the returned
   * function is called, refused as the service's protocol refuses it (see `access_denied.ts`):
   * S3 and DynamoDB calls by their operation (`s3:ListObjectsV2`) or IAM action (`s3:ListBucket`). `sts:SetSourceIdentity` and
   * `sts:TagSession` deny an AssumeRole that carries a source identity or session tags, as when
   * the caller's own permissions lack them (AWS requires them of a role-chained session's
   * permissions too, not only of the trust policy). `sts:GetCallerIdentity` and
   * `sts:GetSessionToken` need no permission and no policy can deny them (AWS's STS reference):
   * asking to deny one of them throws, and `"sts:*"` or `"*"` leave them allowed; a test that needs
   * them to fail uses {@linkcode LocalAws.failNext}.
   */
  deny(action: string, who?: string): () => void {
    if (UNDENIABLE.has(action.replace(/^sts:/, ""))) {
      throw new Error(
        `AWS never denies ${action}: no policy applies to it. Use failNext() for a failure`,
      );
    }
    const denial = { action, who };
    this.#denials.push(denial);
    return () => {
      const index = this.#denials.indexOf(denial);
      if (index >= 0) this.#denials.splice(index, 1);
    };
  }

  /**
   * Add a virtual MFA device, enabled for `userName` (the default user unless given; `null`
   * leaves it unassigned), and return its serial number and Base32 seed.
   */
  addMfaDevice(options: { deviceName?: string; userName?: string | null } = {}): {
    serialNumber: string;
    base32Seed: string;
  } {
    const userName = options.userName === undefined
      ? this.defaultUser.arn.split("/").pop()!
      : options.userName ?? undefined;
    const name = options.deviceName ?? userName ?? "device";
    const serialNumber = `arn:aws:iam::${this.accountId}:mfa/${name}`;
    const base32Seed = newBase32Seed();
    this.#state.mfaDevices.set(serialNumber, {
      accountId: this.accountId,
      serialNumber,
      base32Seed,
      userName,
      enableDate: userName === undefined ? undefined : this.clock.now(),
    });
    return { serialNumber, base32Seed };
  }

  /** Every MFA device the endpoint knows: serial number and the user it is enabled for. */
  mfaDevices(): Array<{ serialNumber: string; userName?: string }> {
    return [...this.#state.mfaDevices.values()].map((d) => ({
      serialNumber: d.serialNumber,
      userName: d.userName,
    }));
  }

  /**
   * The current code of the device `serialNumber` by the endpoint's clock (`steps` later or
   * earlier), as an authenticator app would show it, computed with the TOTP library.
   */
  mfaCode(serialNumber: string, steps = 0): string {
    const device = this.#state.mfaDevices.get(serialNumber);
    if (device === undefined) throw new Error(`No MFA device ${serialNumber}`);
    return totpCode(device.base32Seed, this.clock.now(), steps);
  }

  /**
   * Stop answering: every request from now on is read and then left pending (as an endpoint
   * behind a black hole would) until {@linkcode LocalAws.close} or the returned function. The
   * number of requests left waiting is `waiting`.
   */
  neverAnswer(): () => void {
    this.#silence ??= Promise.withResolvers<void>();
    const silence = this.#silence;
    return () => {
      silence.resolve();
      if (this.#silence === silence) this.#silence = undefined;
    };
  }

  /**
   * Answer every request from now on only after `ms` milliseconds (a slow network or a far
   * region); `0` answers at once again. With `action` (an STS or IAM `Action`, such as
   * `"ListAccessKeys"`, or a DynamoDB operation, such as `"DeleteTable"`), only that action's
   * requests wait, after they are recorded, and the
   * others are answered as before; {@linkcode LocalAws.close} ends the wait (so a delay longer
   * than a test holds no timer past it), and {@linkcode LocalAws.firstHeldAt} says when the
   * first one arrived.
   */
  answerAfter(ms: number, action?: string): void {
    if (action === undefined) this.#delayMs = ms;
    else if (ms > 0) this.#actionDelayMs.set(action, ms);
    else this.#actionDelayMs.delete(action);
  }

  /** How many requests are being left unanswered now (see {@linkcode LocalAws.neverAnswer}). */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * When the first request was left unanswered, or held by {@linkcode LocalAws.answerAfter} for
   * its action (`performance.now()` as the endpoint read it): a clock start taken by the
   * endpoint itself, which no polling delays on a loaded machine.
   */
  firstHeldAt(): Promise<number> {
    return this.#firstHeld.promise;
  }

  /**
   * Every secret the endpoint knows: base secrets, issued secrets, session tokens, MFA seeds,
   * sign-in tokens.
   */
  issuedSecrets(): string[] {
    return this.#state.secrets();
  }

  /**
   * Environment variables that point the AWS SDK and CLI at this endpoint with `credentials`
   * (the default user unless given): `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL_IAM`, the keys
   * (and `AWS_SESSION_TOKEN` for a session), `AWS_REGION` and `AWS_DEFAULT_REGION` (the AWS
   * CLI v1 reads only the latter).
   */
  env(credentials: LocalCredentials = this.defaultUser): Record<string, string> {
    const env: Record<string, string> = {
      AWS_ENDPOINT_URL_STS: this.url,
      AWS_ENDPOINT_URL_IAM: this.url,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: "us-east-1",
      AWS_DEFAULT_REGION: "us-east-1",
    };
    if (credentials.sessionToken !== undefined) env.AWS_SESSION_TOKEN = credentials.sessionToken;
    return env;
  }

  /** Stop serving and wait until the server is closed. Safe to call more than once. */
  close(): Promise<void> {
    this.#silence?.resolve();
    this.#closed.resolve();
    this.#closing ??= this.#server.shutdown();
    return this.#closing;
  }

  /** Close the endpoint at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #handle(request: Request): Promise<Response> {
    if (this.#delayMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.#delayMs));
    }
    if (this.#silence) {
      this.#firstHeld.resolve(performance.now());
      this.#waiting++;
      await this.#silence.promise;
      this.#waiting--;
      return new Response("closed", { status: 503 });
    }
    const url = new URL(request.url);
    if (FederationEndpoint.serves(url)) return this.#federation.handle(request, url);
    const requestId = crypto.randomUUID();
    const body = new Uint8Array(await request.arrayBuffer());
    const rest = restServiceOf(request.headers);
    if (rest !== undefined) {
      return await this.#handleRest(rest, { request, url, body, requestId });
    }
    const params: Record<string, string> = Object.fromEntries(url.searchParams);
    if (request.method === "POST") {
      Object.assign(
        params,
        Object.fromEntries(new URLSearchParams(new TextDecoder().decode(body))),
      );
    }
    const record: RecordedRequest = {
      service: serviceOfVersion(params.Version) ?? "sts",
      action: params.Action ?? "",
      params,
      status: 200,
      requestId,
      userAgent: request.headers.get("user-agent") ?? undefined,
    };
    this.requests.push(record);
    await this.#actionDelay(record.action);
    let service: LocalAwsService = serviceOfVersion(params.Version) ?? "sts";
    try {
      const auth = parseAuthorization(request.headers.get("authorization"));
      if (auth !== undefined) {
        record.service = auth.service;
        record.accessKeyId = auth.accessKeyId;
        if (!isService(auth.service)) {
          throw new AwsError(
            "SignatureDoesNotMatch",
            `Credential should be scoped to correct service: '${service}'. `,
            403,
          );
        }
        service = auth.service;
      }
      const caller = this.#authenticate(auth, { method: request.method, url, body, request });
      record.callerArn = caller.arn;
      const result = await this.#dispatch(service, caller, params);
      const xml = successXml(NAMESPACES[service], params.Action, result, requestId);
      return this.#respond(200, xml, requestId);
    } catch (error) {
      const awsError = error instanceof AwsError
        ? error
        : new AwsError("InternalFailure", `An internal error occurred: ${error}`, 500);
      record.status = awsError.status;
      record.errorCode = awsError.code;
      return this.#respond(
        awsError.status,
        errorXml(NAMESPACES[service], awsError, requestId),
        requestId,
      );
    }
  }

  /** Waits as {@linkcode LocalAws.answerAfter} says for `action`, or until the endpoint closes. */
  async #actionDelay(action: string): Promise<void> {
    const ms = this.#actionDelayMs.get(action);
    if (ms === undefined) return;
    this.#firstHeld.resolve(performance.now());
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise((resolve) => timer = setTimeout(resolve, ms)),
      this.#closed.promise,
    ]);
    clearTimeout(timer);
  }

  /** S3 (REST-XML) and DynamoDB (JSON 1.0): authenticated as AWS does, answered in their shapes. */
  async #handleRest(
    service: "s3" | "dynamodb",
    received: { request: Request; url: URL; body: Uint8Array; requestId: string },
  ): Promise<Response> {
    const { request, url, requestId } = received;
    const record: RecordedRequest = { service, action: "", params: {}, status: 200, requestId };
    this.requests.push(record);
    let response: Response;
    try {
      const auth = parseAuthorization(request.headers.get("authorization"));
      record.accessKeyId = auth?.accessKeyId;
      const known = auth !== undefined && this.#state.identities.has(auth.accessKeyId);
      let caller: Identity;
      try {
        caller = this.#authenticate(auth, { ...received, method: request.method });
      } catch (error) {
        throw restAuthError(service, error, known);
      }
      record.callerArn = caller.arn;
      const now = this.clock.now();
      if (service === "s3") {
        const op = s3Operation(request.method, url, request.headers);
        Object.assign(record, { action: op.action, params: { Bucket: op.bucket, Key: op.key } });
        const arn = op.bucket ? `arn:aws:s3:::${op.bucket}${op.key ? `/${op.key}` : ""}` : "*";
        this.#checkDenied("s3", op.action, caller, arn);
        await this.#checkSessionPolicy("s3", op.action, caller, arn);
        // A copy reads its source too: s3:GetObject on the object x-amz-copy-source names.
        const source = op.action === "CopyObject" || op.action === "UploadPartCopy"
          ? copySourceOf(request.headers)
          : undefined;
        if (source !== undefined) {
          const from = `arn:aws:s3:::${source.bucket}/${source.key}`;
          this.#checkDenied("s3", "GetObject", caller, from);
          await this.#checkSessionPolicy("s3", "GetObject", caller, from);
        }
        const body = isAwsChunked(request.headers)
          ? decodeAwsChunked(received.body, request.headers, {
            auth: auth!,
            amzDate: request.headers.get("x-amz-date") ?? "",
            secretAccessKey: caller.secretAccessKey,
          })
          : received.body;
        response = this.#s3.handle({
          method: request.method,
          url,
          headers: request.headers,
          body,
          accountId: caller.accountId,
          region: auth!.region,
          now,
        });
      } else {
        const target = request.headers.get("x-amz-target") ?? "";
        const operation = target.startsWith(DYNAMODB_TARGET_PREFIX)
          ? target.slice(DYNAMODB_TARGET_PREFIX.length)
          : "";
        const input = JSON.parse(new TextDecoder().decode(received.body) || "{}");
        Object.assign(record, { action: operation, params: { TableName: input.TableName ?? "" } });
        await this.#actionDelay(operation);
        // A call on no table (ListTables) is refused on every table: `…:table/*`.
        const tables = `arn:aws:dynamodb:${auth!.region}:${caller.accountId}:table/`;
        const table = input.TableName ? `${tables}${input.TableName}` : undefined;
        this.#checkDenied("dynamodb", operation, caller, table ?? `${tables}*`);
        await this.#checkSessionPolicy("dynamodb", operation, caller, table ?? "*", {
          shown: table ?? `${tables}*`,
        });
        const result = this.#dynamodb.handle(operation, input, {
          accountId: caller.accountId,
          region: auth!.region,
          now,
        });
        response = dynamoResponse(200, JSON.stringify(result));
      }
    } catch (error) {
      const awsError = error instanceof AwsError
        ? error
        : error instanceof SyntaxError
        ? new AwsError(
          "SerializationException",
          "Start of structure or map found where not expected.",
        )
        : new AwsError("InternalError", `We encountered an internal error: ${error}`, 500);
      record.errorCode = awsError.code;
      response = service === "s3"
        ? new Response(
          request.method === "HEAD" ? null : s3ErrorXml(awsError.code, awsError.message, requestId),
          { status: awsError.status, headers: { "content-type": "application/xml" } },
        )
        : dynamoResponse(awsError.status, dynamoErrorBody(awsError.code, awsError.message));
    }
    record.status = response.status;
    response.headers.set(service === "s3" ? "x-amz-request-id" : "x-amzn-RequestId", requestId);
    return response;
  }

  /**
   * AWS's refusal of a call the session's inline policy does not allow; `shown` is the resource
   * as the refusal names it, when the policy's question names it otherwise (`*`).
   */
  async #checkSessionPolicy(
    service: "s3" | "dynamodb",
    operation: string,
    caller: Identity,
    resource: string,
    options: { shown?: string } = {},
  ): Promise<void> {
    if (this.#sessionPolicy === undefined || caller.kind !== "session") return;
    const policy = caller.policy;
    if (policy === undefined) return;
    const allowed = await this.#sessionPolicy({
      policy,
      service,
      operation,
      resource,
      accountId: caller.accountId,
    });
    if (allowed) return;
    throw accessDenied(PROTOCOL[service], {
      callerArn: caller.arn,
      action: iamActionOf(service, operation),
      resource: options.shown ?? resource,
      policy: "session",
    });
  }

  /**
   * AWS's refusal of an S3 or DynamoDB call that {@linkcode LocalAws.deny} denies to the caller
   * (by its operation, `s3:ListObjectsV2`, or its IAM action, `s3:ListBucket`).
   */
  #checkDenied(service: "s3" | "dynamodb", operation: string, caller: Identity, resource: string) {
    const action = iamActionOf(service, operation);
    if (!this.#denies(service, operation, caller) && !this.#denies(service, action, caller)) return;
    throw accessDenied(PROTOCOL[service], { callerArn: caller.arn, action, resource });
  }

  /** Whether {@linkcode LocalAws.deny} denies `action` (`GetRole` or `iam:GetRole`) to `caller`. */
  #denies(service: string, action: string, caller: Identity): boolean {
    const name = action.startsWith(`${service}:`) ? action.slice(service.length + 1) : action;
    return this.#denials.some((d) =>
      [name, `${service}:${name}`, `${service}:*`, "*"].includes(d.action) &&
      (d.who === undefined || d.who === caller.accessKeyId || d.who === caller.arn ||
        (caller.kind === "session" && d.who === caller.roleArn))
    );
  }

  #respond(status: number, xml: string, requestId: string): Response {
    return new Response(xml, {
      status,
      headers: {
        "content-type": "text/xml",
        "x-amzn-RequestId": requestId,
        "date": new Date(Date.now() + this.#clockSkewMs).toUTCString(),
      },
    });
  }

  #authenticate(
    auth: SigV4Authorization | undefined,
    received: { method: string; url: URL; body: Uint8Array; request: Request },
  ): Identity {
    if (auth === undefined) {
      throw new AwsError(
        "MissingAuthenticationToken",
        "Request is missing Authentication Token",
        403,
      );
    }
    const identity = this.#state.identities.get(auth.accessKeyId);
    const token = received.request.headers.get("x-amz-security-token") ?? undefined;
    const expectedToken = identity && temporaryPart(identity)?.sessionToken;
    if (identity === undefined || token !== expectedToken) {
      throw new AwsError(
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
        403,
      );
    }
    if (identity.kind === "user" && (identity.usableAt ?? 0) > Date.now()) {
      // A new key, not yet accepted everywhere: AWS answers as for an unknown key.
      throw new AwsError(
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
        403,
      );
    }
    const expiration = temporaryPart(identity)?.expiration;
    if (expiration !== undefined && this.clock.now() >= expiration) {
      throw new AwsError(
        "ExpiredToken",
        "The security token included in the request is expired",
        403,
      );
    }
    if (this.#checkSkew) {
      checkSkew(received.request.headers, new Date(Date.now() + this.#clockSkewMs));
    }
    verifySignature(
      {
        method: received.method,
        url: received.url,
        headers: received.request.headers,
        body: received.body,
      },
      auth,
      identity.secretAccessKey,
    );
    return identity;
  }

  #dispatch(service: LocalAwsService, caller: Identity, params: Record<string, string>) {
    const action = params.Action;
    if (action === undefined || action === "") {
      throw new AwsError("MissingAction", "Missing Action");
    }
    const handler = ACTIONS[service][action];
    if (handler === undefined) {
      const version = params.Version ?? VERSIONS[service];
      throw new AwsError(
        "InvalidAction",
        `Could not find operation ${action} for version ${version}`,
      );
    }
    const fault = this.#faults.find((f) =>
      f.remaining > 0 && (f.action === action || f.action === "*")
    );
    if (fault !== undefined) {
      fault.remaining--;
      if (fault.remaining === 0) this.#faults.splice(this.#faults.indexOf(fault), 1);
      const known = KNOWN_FAULTS[fault.code];
      const message = fault.message ?? known?.message ??
        (fault.code === "AccessDenied"
          ? this.#deniedMessage(service, action, caller, params)
          : fault.code);
      throw new AwsError(fault.code, message, fault.status ?? known?.status ?? 400);
    }
    const denies = (name: string) => this.#denies(service, name, caller);
    if (!(service === "sts" && UNDENIABLE.has(action)) && denies(action)) {
      throw new AwsError("AccessDenied", this.#deniedMessage(service, action, caller, params), 403);
    }
    if (service === "sts" && action === "AssumeRole") {
      const implied = [
        ...params.SourceIdentity !== undefined ? ["SetSourceIdentity"] : [],
        ...params["Tags.member.1.Key"] !== undefined ? ["TagSession"] : [],
      ];
      const refused = implied.find(denies);
      if (refused) throw assumeRoleDenied(caller.arn, params.RoleArn ?? "", `sts:${refused}`);
    }
    return handler({ state: this.#state, caller, params });
  }

  #deniedMessage(
    service: LocalAwsService,
    action: string,
    caller: Identity,
    params: Record<string, string>,
  ): string {
    if (service === "sts" && action === "AssumeRole") {
      return assumeRoleDenied(caller.arn, params.RoleArn ?? "").message;
    }
    const resource = service === "iam" ? iamResourceOf(action, params, caller) : "*";
    const refusal = { callerArn: caller.arn, action: `${service}:${action}`, resource };
    return accessDenied(PROTOCOL[service], refusal).message;
  }
}

/** Which REST service a request is for: S3 or DynamoDB by its scope or target, else none. */
function restServiceOf(headers: Headers): "s3" | "dynamodb" | undefined {
  if ((headers.get("x-amz-target") ?? "").startsWith(DYNAMODB_TARGET_PREFIX)) return "dynamodb";
  const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(
    headers.get("authorization") ?? "",
  )?.[1];
  return scope === "s3" || scope === "dynamodb" ? scope : undefined;
}

/** The authentication errors of S3 and DynamoDB, which name them their own way. */
function restAuthError(service: "s3" | "dynamodb", error: unknown, known: boolean): unknown {
  if (!(error instanceof AwsError)) return error;
  const s3: Record<string, [string, string, number]> = {
    InvalidClientTokenId: known
      ? ["InvalidToken", "The provided token is malformed or otherwise invalid.", 400]
      : [
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
        403,
      ],
    ExpiredToken: ["ExpiredToken", "The provided token has expired.", 400],
    MissingAuthenticationToken: ["AccessDenied", "Access Denied", 403],
    IncompleteSignature: ["AuthorizationHeaderMalformed", error.message, 400],
  };
  const dynamodb: Record<string, [string, string, number]> = {
    InvalidClientTokenId: [
      "UnrecognizedClientException",
      "The security token included in the request is invalid.",
      400,
    ],
    SignatureDoesNotMatch: ["InvalidSignatureException", error.message, 400],
    ExpiredToken: [
      "ExpiredTokenException",
      "The security token included in the request is expired",
      400,
    ],
    MissingAuthenticationToken: ["MissingAuthenticationTokenException", error.message, 400],
    IncompleteSignature: ["IncompleteSignatureException", error.message, 400],
  };
  const mapped = (service === "s3" ? s3 : dynamodb)[error.code];
  return mapped === undefined ? error : new AwsError(...mapped);
}

/** A DynamoDB answer: JSON 1.0, with the CRC32 of the body that botocore checks. */
function dynamoResponse(status: number, body: string): Response {
  return new Response(body, {
    status,
    headers: {
      "content-type": "application/x-amz-json-1.0",
      "x-amz-crc32": String(crc32(new TextEncoder().encode(body)) >>> 0),
    },
  });
}

/** Start a {@linkcode LocalAws} endpoint; the same as `LocalAws.start(options)`. */
export function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  return LocalAws.start(options);
}

if (import.meta.main) {
  const aws = await LocalAws.start();
  // Listen before printing: whoever reads the lines may signal at once.
  const stopped = Promise.withResolvers<void>();
  const stop = () => stopped.resolve();
  // Deno on Windows can listen only for SIGINT and SIGBREAK (adding SIGTERM throws there).
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  const lines = Object.entries(aws.env()).map(([name, value]) => `export ${name}=${value}\n`);
  lines.push(`# broker role: ${aws.brokerRoleArn} (MaxSessionDuration 3600); Ctrl-C stops\n`);
  await Deno.stdout.write(new TextEncoder().encode(lines.join("")));
  await stopped.promise;
  for (const signal of signals) Deno.removeSignalListener(signal, stop);
  await aws.close();
}
