/**
 * The loopback signing proxy of masked credentials: an HTTP server on 127.0.0.1 (random port)
 * that AWS SDKs and CLIs reach through `AWS_ENDPOINT_URL`, holding stand-in credentials made up
 * per grant and worthless anywhere else. Each request is treated as hostile: the Host must be
 * the proxy's own (no DNS rebinding), headers and bodies are bounded, the signature must verify
 * with the stand-in secret and the grant must be live. Then the request is signed again with the
 * grant's real session, sent to the endpoint the SDK would have used (or the parent's
 * `AWS_ENDPOINT_URL*`) and its answer streamed back unchanged. Presigned URLs, SigV4A and
 * anything but SigV4 are refused, each with one clear error in the service's own shape, and so
 * are credential-minting calls (`sts:AssumeRole`, `ecr:GetAuthorizationToken`…: their answer
 * would hand the client real credentials), before they are signed. One proxy serves any number
 * of grants, keyed by stand-in access key id, and keeps each grant's calls (no headers, bodies or
 * secrets), refused ones included (one for another Host too), but only calls whose signature
 * verified with the grant's stand-in secret: a request that only names a grant's stand-in key id
 * (which a client's debug log shows) is refused and counted, never recorded with what it asks for.
 * A call sent on that gets no answer (the proxy closes with it in flight, AWS answers later than
 * the idle timeout, the connection is lost) reached AWS: it is recorded with an unknown outcome,
 * never as refused.
 *
 * @module
 */

import type { SessionCredentials } from "../aws/broker.ts";
import { readBoundedBody } from "../core/bounded_body.ts";
import {
  ChunkError,
  type ChunkSigner,
  resignChunks,
  SIGNED_CHUNKS,
  SIGNED_CHUNKS_TRAILER,
  UNSIGNED_TRAILER,
} from "./aws_chunked.ts";
import {
  type Endpoint,
  type EndpointOverrides,
  loadEndpointOverrides,
  resolveEndpoint,
  s3Address,
} from "./aws_endpoints.ts";
import { scrubAnswer, UncheckedAnswer } from "./answer_scrub.ts";
import {
  type CallName,
  type CallRecord,
  cleanName,
  nameCall,
  type UnansweredReason,
} from "./call_record.ts";
import { type MintingCall, mintingCall, mintingRefusal } from "./minting_guard.ts";
import {
  type Protocol,
  protocolOf,
  ProxyRefusal,
  refusalCode,
  refusalReason,
  refusalResponse,
} from "./proxy_refusal.ts";
import {
  canonicalRequest,
  EMPTY_SHA256,
  fromAmzDate,
  hmacHex,
  parseAuthorization,
  parseCredentialScope,
  sameSignature,
  sha256Hex,
  signingKey,
  signRequest,
  type SigV4Authorization,
  stringToSign,
  toAmzDate,
} from "../core/sigv4.ts";
import { createAgents, sendUpstream, UpstreamError } from "./upstream.ts";
import { type LoopbackOptions, serveLoopback } from "./loopback_server.ts";

/** The stand-in credentials of a grant: they sign for the proxy and nothing else. */
export interface StandInCredentials {
  /** `ASIA…`, 20 characters, random. */
  accessKeyId: string;
  /** Random, 40 characters. */
  secretAccessKey: string;
  /** Random; the proxy expects it back in `X-Amz-Security-Token`. */
  sessionToken: string;
}

/** Options of {@linkcode startSigningProxy}. */
export interface SigningProxyOptions {
  /** The parent's environment: its `AWS_ENDPOINT_URL*` are where calls go instead of AWS. */
  env: Readonly<Record<string, string>>;
  /** The clock (the real one unless given). */
  now?: () => Date;
  /**
   * How long a call to AWS, or a client's request body, may go without progress. Default 60
   * seconds.
   */
  idleTimeoutMs?: number;
  /** The bounds on slow clients, where not the defaults (tests give shorter ones). */
  loopback?: LoopbackOptions;
  /** The largest body read whole to check its hash (JSON and query calls). Default 32 MiB. */
  maxBufferedBytes?: number;
  /** The largest body streamed through (S3 uploads). Default 5 GiB plus chunk framing. */
  maxStreamedBytes?: number;
  /**
   * The most that the bodies read whole, and the signed chunks being checked, of all calls in
   * flight may hold together (one client's many large calls at once must not exhaust the memory
   * of the process, `serve` included). Default 256 MiB; a call past it gets 503 (`SlowDown`,
   * `Throttling`), which SDKs retry.
   */
  maxHeldBytes?: number;
}

/** What a grant behind the proxy needs. */
export interface ProxyGrantOptions {
  /** The real session now; called on every request, so a renewal takes effect at once. */
  session: () => SessionCredentials;
  /** Told each call once it is answered: only calls signed with the stand-in secret. */
  onCall?: (call: CallRecord) => void;
  /**
   * Told each refused request that names the grant's stand-in key id but whose signature was not
   * verified with its secret (a wrong secret or token, or a refusal before the signature could be
   * checked): counted only, as anyone who saw the key id can send one.
   */
  onUnverified?: () => void;
}

/** A grant behind the proxy. */
export interface ProxyGrant {
  /** Its stand-in credentials. */
  readonly standIn: StandInCredentials;
  /**
   * Its most recent calls, oldest first (at most {@linkcode MAX_KEPT_CALLS}), while it lives: a
   * revoked grant keeps none, so a long-running proxy holds no records of ended grants (`onCall`
   * and the count still see every call).
   */
  readonly calls: readonly CallRecord[];
  /** How many calls it has made, refused ones included. */
  readonly callCount: number;
  /** How many requests naming its stand-in key id were refused unverified (see `onUnverified`). */
  readonly unverifiedCount: number;
  /** Whether it was revoked. */
  readonly revoked: boolean;
  /** Refuses every later call with `ExpiredToken` and forgets the real session. */
  revoke(): void;
}

/** A running proxy. */
export interface SigningProxy {
  /** `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`. */
  readonly url: string;
  /** Adds a grant and returns it with its stand-in credentials. */
  addGrant(options: ProxyGrantOptions): ProxyGrant;
  /**
   * Stops serving, abandoning calls in flight: each is recorded as sent to AWS with no answer
   * (its outcome unknown). Safe to repeat.
   */
  close(): Promise<void>;
}

/** How many calls a grant keeps (the count goes on). */
export const MAX_KEPT_CALLS = 1000;
const MAX_HEADER_BYTES = 16 * 1024;
const MAX_HEADER_COUNT = 100;
const MAX_SKEW_MS = 15 * 60_000;
/** Headers never forwarded: the proxy sets them, or they concern one hop only. */
const NOT_FORWARDED = new Set([
  "authorization",
  "host",
  "accept-encoding",
  "x-amz-date",
  "x-amz-security-token",
  "connection",
  "keep-alive",
  "expect",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "proxy-authorization",
]);
/** Unsigned headers passed on as they came. */
const UNSIGNED_FORWARDED = ["content-length", "user-agent", "content-type"];

interface GrantState {
  grant: ProxyGrant;
  options: ProxyGrantOptions;
  revoked: boolean;
  count: number;
  unverified: number;
  kept: CallRecord[];
}

/** A verified call, ready to be signed again. */
interface VerifiedCall {
  state: GrantState;
  auth: SigV4Authorization;
  amzDate: string;
  payloadHash: string;
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  bytesIn: number;
  name: CallName;
  endpoint: Endpoint;
  /** The credential-minting action it makes, which the proxy refuses. */
  minting?: MintingCall;
}

/** Makes up stand-in credentials. */
export function newStandIn(): StandInCredentials {
  return {
    accessKeyId: `ASIA${randomText(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")}`,
    secretAccessKey: randomText(40, BASE64),
    sessionToken: randomText(160, BASE64),
  };
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function randomText(length: number, alphabet: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

/** A grant's state: its stand-in keys, its session, its calls; revoking it drops the session. */
function newGrantState(
  standIn: GrantState["grant"]["standIn"],
  options: GrantState["options"],
): GrantState {
  const state: GrantState = {
    options,
    revoked: false,
    count: 0,
    unverified: 0,
    kept: [],
    grant: {
      standIn,
      get calls() {
        return state.kept;
      },
      get callCount() {
        return state.count;
      },
      get unverifiedCount() {
        return state.unverified;
      },
      get revoked() {
        return state.revoked;
      },
      revoke() {
        state.revoked = true;
        state.kept = [];
        state.options = { ...state.options, session: revokedSession };
      },
    },
  };
  return state;
}

/**
 * Starts the proxy on 127.0.0.1 (a free port). The parent's `AWS_ENDPOINT_URL*` (and the switch
 * that turns them off, the variable's or its profile's) are read once, here; an invalid one is
 * refused.
 */
export async function startSigningProxy(options: SigningProxyOptions): Promise<SigningProxy> {
  const overrides = await loadEndpointOverrides(options.env);
  const now = options.now ?? (() => new Date());
  const limits = limitsOf(options);
  const grants = new Map<string, GrantState>();
  const agents = createAgents();
  let closed = false;

  const handle = async (request: Request, port: number): Promise<Response> => {
    const requestId = crypto.randomUUID();
    const url = URL.parse(request.url);
    // Only a Host that names no host makes the URL unparsable: refused as any other Host.
    if (url === null) {
      return await refuseHost(request, undefined, { grants, requestId, time: now() });
    }
    let protocol: Protocol = protocolOf(claimedService(request, url), request.headers);
    let service: string | undefined;
    let state: GrantState | undefined;
    // Set once the signature verified with the stand-in secret: only then is the call recorded.
    const signed: SignedName = {};
    const started = now();
    const lease = { bytes: 0 };
    let verified: VerifiedCall | undefined;
    const record = (call: Omit<CallRecord, "time" | "service" | "region">) => {
      if (state === undefined) return;
      keep(state, { time: started, service: service!, region: regionOf(request), ...call });
    };
    const check = (auth: SigV4Authorization, grant: GrantState | undefined) =>
      verify(request, url, {
        auth,
        state: grant,
        now: now(),
        limits: { ...limits, lease },
        overrides,
        signed,
      });
    try {
      checkEnvelope(request, url, port);
      const auth = parseSigned(request);
      service = auth.service;
      protocol = protocolOf(service, request.headers);
      state = grants.get(auth.accessKeyId);
      verified = await check(auth, state);
      if (verified.minting !== undefined) throw mintingRefusal(verified.minting);
      const held = { count: limits.held, lease };
      return await forward(request, url, verified, { now, limits, agents, record, held });
    } catch (error) {
      // Sent to AWS, no answer: it reached AWS all the same, so it is no refusal.
      if (error instanceof UpstreamError && error.sent && verified !== undefined) {
        return answerUnanswered(request, error, { protocol, requestId, verified, record });
      }
      const context = { grants, protocol, requestId, time: started, check, signed };
      return await refuseCall(request, url, asRefusal(error), {
        ...context,
        service,
        state,
        record,
      });
    } finally {
      // The body was sent (or refused): its bytes count no more.
      limits.held.release(lease);
    }
  };

  // A client too slow with its headers, or its body, gets 408 (see loopback_server.ts); an
  // upload that keeps coming, however slowly, is streamed through.
  let port = 0;
  const server = await serveLoopback((request) => handle(request, port), {
    bodyIdleMs: limits.idleTimeoutMs,
    timedOut: clientTimeout,
    ...options.loopback,
  });
  port = server.port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    addGrant(grantOptions) {
      let standIn = newStandIn();
      while (grants.has(standIn.accessKeyId)) standIn = newStandIn();
      const state = newGrantState(standIn, grantOptions);
      if (closed) state.revoked = true;
      grants.set(standIn.accessKeyId, state);
      return state.grant;
    },
    close() {
      closing ??= (async () => {
        closed = true;
        for (const state of grants.values()) state.grant.revoke();
        agents.destroy();
        await server.shutdown();
      })();
      return closing;
    },
  };
}

/** The proxy's bounds: the options', else the defaults. */
function limitsOf(options: SigningProxyOptions) {
  return {
    idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
    maxBufferedBytes: options.maxBufferedBytes ?? 32 * 1024 * 1024,
    maxStreamedBytes: options.maxStreamedBytes ?? 5 * 1024 ** 3 + 64 * 1024 ** 2,
    held: new HeldBytes(options.maxHeldBytes ?? 256 * 1024 * 1024),
  };
}

/**
 * The answer to a client whose request stopped coming: AWS's (S3's) `RequestTimeout`, which the
 * SDKs retry.
 */
function clientTimeout(): Response {
  return new Response(
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>RequestTimeout</Code><Message>' +
      "Your socket connection to the server was not read from or written to within the " +
      "timeout period. Idle connections will be closed.</Message></Error>",
    { status: 408, headers: { "content-type": "application/xml", connection: "close" } },
  );
}

function revokedSession(): SessionCredentials {
  return { accessKeyId: "", secretAccessKey: "", sessionToken: "", expiration: new Date(0) };
}

/**
 * Counts a refused request under the grant whose stand-in key id it names, when its signature did
 * not verify: nothing of it is kept.
 */
function countUnverified(state: GrantState | undefined): void {
  if (state === undefined) return;
  state.unverified++;
  try {
    state.options.onUnverified?.();
  } catch {
    // A listener's failure is its own.
  }
}

/**
 * The grant whose stand-in access key id a request names: in its `Authorization` header (SigV4,
 * SigV4A's `Credential=`, or Signature Version 2's `AWS KEY:`), or, presigned, its query
 * (`X-Amz-Credential`, `AWSAccessKeyId`). Nothing else of the request is read; a request whose
 * headers are over the bounds names none.
 */
function claimedGrant(
  request: Request,
  url: URL | undefined,
  grants: ReadonlyMap<string, GrantState>,
): GrantState | undefined {
  if (!withinHeaderBounds(request)) return undefined;
  const query = (name: string) => {
    for (const [key, value] of url?.searchParams ?? []) {
      if (key.toLowerCase() === name) return value;
    }
    return undefined;
  };
  const header = request.headers.get("authorization")?.trim() ?? "";
  const keyId = parseAuthorization(header)?.accessKeyId ??
    /^AWS4-[A-Z0-9-]+ Credential=([A-Za-z0-9]{1,128})\//.exec(header)?.[1] ??
    /^AWS ([A-Za-z0-9]{1,128}):/.exec(header)?.[1] ??
    parseCredentialScope(query("x-amz-credential") ?? "")?.accessKeyId ??
    query("awsaccesskeyid");
  return keyId === undefined ? undefined : grants.get(keyId);
}

function keep(state: GrantState, call: CallRecord): void {
  state.count++;
  if (!state.revoked) state.kept.push(call);
  if (state.kept.length > MAX_KEPT_CALLS) state.kept.shift();
  try {
    state.options.onCall?.(call);
  } catch {
    // A listener's failure is its own: the call was answered all the same.
  }
}

/** The service a request's scope names, read before anything is checked (for the error's shape). */
function claimedService(request: Request, url: URL): string | undefined {
  const credential = /Credential=([^,\s]+)/.exec(request.headers.get("authorization") ?? "")?.[1] ??
    url.searchParams.get("X-Amz-Credential") ?? "";
  return credential.split("/")[3];
}

function regionOf(request: Request): string {
  const auth = parseAuthorization(request.headers.get("authorization") ?? "");
  return auth?.region ?? "";
}

function asRefusal(error: unknown): ProxyRefusal {
  if (error instanceof ProxyRefusal) return error;
  if (error instanceof ChunkError) {
    return new ProxyRefusal(
      error.code === "SignatureDoesNotMatch" ? "bad-signature" : "not-sigv4",
      error.message,
    );
  }
  if (error instanceof UncheckedAnswer) return new ProxyRefusal("upstream-failed", error.message);
  if (error instanceof UpstreamError) {
    return new ProxyRefusal(error.reason === "timeout" ? "upstream-timeout" : "upstream-failed");
  }
  return new ProxyRefusal("upstream-failed");
}

/** Why a call sent to AWS got no answer, by how the wait for it ended. */
const UNANSWERED: Record<UpstreamError["reason"], UnansweredReason> = {
  closed: "sent to AWS, no answer before the proxy closed",
  timeout: "sent to AWS, no answer within the proxy's idle timeout",
  failed: "sent to AWS, connection lost before the answer",
};

/** What the client hears when its call got no answer, for each way the wait ended. */
const UNANSWERED_MESSAGES: Record<UpstreamError["reason"], string | undefined> = {
  closed: "timebound-iam's signing proxy closed before AWS answered: the call was sent to AWS",
  timeout: undefined,
  failed: "timebound-iam's signing proxy lost its connection to AWS before the answer: the call " +
    "was sent to AWS",
};

/**
 * The answer to a call the proxy sent to AWS and got no answer for: 504 (`RequestTimeout`) or 502
 * (`ServiceUnavailable`) in its service's shape, as when AWS cannot be reached, but recorded as a
 * call that reached AWS and whose outcome is unknown (`unanswered`), never as one the proxy
 * refused: AWS may have carried it out.
 */
function answerUnanswered(
  request: Request,
  error: UpstreamError,
  context: {
    protocol: Protocol;
    requestId: string;
    verified: VerifiedCall;
    record: (call: Omit<CallRecord, "time" | "service" | "region">) => void;
  },
): Response {
  const { verified } = context;
  const kind = error.reason === "timeout" ? "upstream-timeout" : "upstream-failed";
  const response = refusalResponse(new ProxyRefusal(kind, UNANSWERED_MESSAGES[error.reason]), {
    protocol: context.protocol,
    requestId: context.requestId,
    method: request.method,
    service: verified.auth.service,
  });
  context.record({
    ...verified.name,
    status: response.status,
    bytesIn: verified.bytesIn,
    bytesOut: 0,
    unanswered: UNANSWERED[error.reason],
  });
  return response;
}

/**
 * The answer to a refused call, in its service's shape. It is recorded with the refusal's reason
 * only when its signature verified with the stand-in secret; otherwise it is counted under the
 * grant whose stand-in key id it names, if any. One for another Host is refused before its key was
 * looked at, and recorded as {@linkcode refuseHost} says.
 */
async function refuseCall(
  request: Request,
  url: URL,
  refusal: ProxyRefusal,
  context: Parameters<typeof refuseHost>[2] & {
    protocol: Protocol;
    service?: string;
    /** The grant whose key id its `Authorization` names, once it was parsed. */
    state?: GrantState;
    signed: SignedName;
    record: (call: Omit<CallRecord, "time" | "service" | "region">) => void;
  },
): Promise<Response> {
  if (refusal.kind === "host") return await refuseHost(request, url, context);
  const { protocol, requestId, service, signed } = context;
  const response = refusalResponse(refusal, {
    protocol,
    requestId,
    method: request.method,
    service,
  });
  if (signed.name === undefined) {
    countUnverified(context.state ?? claimedGrant(request, url, context.grants));
    return response;
  }
  context.record({
    ...signed.name,
    status: response.status,
    bytesIn: 0,
    bytesOut: 0,
    refused: refusalCode(refusal, protocol),
    refusalReason: refusalReason(refusal),
  });
  return response;
}

/** What a call refused for its Host is recorded against. */
interface HostRefusalContext {
  /** The grants, by stand-in key id. */
  grants: ReadonlyMap<string, GrantState>;
  /** Checks the signature as for any call (absent when the URL does not parse). */
  check?: (auth: SigV4Authorization, state: GrantState) => Promise<unknown>;
  /** What `check` fills in once the signature verified. */
  signed?: SignedName;
}

/**
 * The answer to a request for another Host (in the query services' shape when its URL does not
 * parse), recorded as {@linkcode recordHostRefusal} says.
 */
async function refuseHost(
  request: Request,
  url: URL | undefined,
  context: HostRefusalContext & { protocol?: Protocol; requestId: string; time: Date },
): Promise<Response> {
  const refusal = new ProxyRefusal("host");
  const protocol = context.protocol ?? "query";
  const { requestId } = context;
  const response = refusalResponse(refusal, { protocol, requestId, method: request.method });
  await recordHostRefusal(request, url, context, {
    time: context.time,
    status: response.status,
    refused: refusalCode(refusal, protocol),
  });
  return response;
}

/**
 * Records a call refused for its Host (another host's, through the proxy, or the proxy's under
 * another name, as `--endpoint-url http://127.1:PORT` makes it) under the grant whose stand-in
 * key it was signed with: its SigV4 `Authorization` is checked as any call's (the token, the
 * signature over the Host it was signed for, the body's hash), and only then is the call named,
 * from what was signed, as any other, so that the human sees the attempt. A request that names a
 * grant's stand-in key id (in its headers or, presigned, its query: SigV4's or Signature Version
 * 2's, which the proxy never verifies) without a signature that verifies is only counted under
 * that grant; one that names none, or whose headers are over the bounds, under no grant.
 */
async function recordHostRefusal(
  request: Request,
  url: URL | undefined,
  context: HostRefusalContext,
  call: { time: Date; status: number; refused: string },
): Promise<void> {
  if (!withinHeaderBounds(request)) return;
  const state = claimedGrant(request, url, context.grants);
  if (state === undefined) return;
  const auth = parseAuthorization(request.headers.get("authorization") ?? "");
  if (auth !== undefined && context.check !== undefined) {
    try {
      await context.check(auth, state);
    } catch {
      // Refused for its Host all the same: whether it verified is all that matters here.
    }
  }
  const name = context.signed?.name;
  if (auth === undefined || name === undefined) return countUnverified(state);
  keep(state, {
    time: call.time,
    service: auth.service,
    region: auth.region,
    ...name,
    status: call.status,
    bytesIn: 0,
    bytesOut: 0,
    refused: call.refused,
    refusalReason: refusalReason(new ProxyRefusal("host")),
  });
}

/** Whether the request line and headers are within the proxy's bounds (size and count). */
function withinHeaderBounds(request: Request): boolean {
  // The request line counts with the headers: a URL is a header section of its own.
  let bytes = request.url.length;
  let count = 0;
  request.headers.forEach((value, name) => {
    bytes += name.length + value.length + 4;
    count++;
  });
  return bytes <= MAX_HEADER_BYTES && count <= MAX_HEADER_COUNT;
}

/** The checks that need no key: the Host, the header section's size, no presigned query. */
function checkEnvelope(request: Request, url: URL, port: number): void {
  const host = request.headers.get("host") ?? "";
  if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
    throw new ProxyRefusal("host");
  }
  if (!withinHeaderBounds(request)) throw new ProxyRefusal("headers-too-large");
  const names = [...url.searchParams.keys()].map((name) => name.toLowerCase());
  const presigned = ["x-amz-signature", "x-amz-credential", "x-amz-algorithm", "signature"];
  if (names.some((n) => presigned.includes(n))) {
    throw new ProxyRefusal("presigned");
  }
}

/** The client's SigV4 `Authorization`, or the refusal of anything else. */
function parseSigned(request: Request): SigV4Authorization {
  const header = request.headers.get("authorization");
  if (header === null || header.trim() === "") throw new ProxyRefusal("unsigned");
  if (
    header.trim().startsWith("AWS4-ECDSA-P256-SHA256") || request.headers.has("x-amz-region-set")
  ) {
    throw new ProxyRefusal("sigv4a");
  }
  const auth = parseAuthorization(header);
  if (auth === undefined) throw new ProxyRefusal("not-sigv4");
  return auth;
}

/** What a call is named, once its signature verified with the stand-in secret. */
interface SignedName {
  name?: CallName;
}

/** What {@linkcode verify} works with. */
interface VerifyContext {
  auth: SigV4Authorization;
  state: GrantState | undefined;
  now: Date;
  limits: {
    maxBufferedBytes: number;
    maxStreamedBytes: number;
    held: HeldBytes;
    lease: Lease;
  };
  overrides: EndpointOverrides;
  /** Filled in once the signature verified: the call's name, the only one recorded. */
  signed: SignedName;
}

/**
 * Checks the grant, the signature and the body; reads the body whole when it must be hashed. An
 * expired or revoked grant's request is checked as a live one's (its stand-in secret is kept), so
 * that a call made after the end is recorded when it is the client's own; it is refused with
 * `ExpiredToken` whatever else is wrong with it.
 */
async function verify(
  request: Request,
  url: URL,
  context: VerifyContext,
): Promise<VerifiedCall> {
  const { state } = context;
  const token = request.headers.get("x-amz-security-token") ?? "";
  if (state === undefined || !sameSignature(token, state.grant.standIn.sessionToken)) {
    throw new ProxyRefusal("unknown-key");
  }
  const expired = state.revoked || state.options.session().expiration <= context.now;
  let call: VerifiedCall;
  try {
    call = await verifySigned(request, url, { ...context, state });
  } catch (error) {
    if (expired) throw new ProxyRefusal("expired");
    throw error;
  }
  if (expired) throw new ProxyRefusal("expired");
  return call;
}

/** {@linkcode verify}'s checks past the token, for a grant live or not. */
async function verifySigned(
  request: Request,
  url: URL,
  context: VerifyContext & { state: GrantState },
): Promise<VerifiedCall> {
  const { auth, state } = context;
  const amzDate = request.headers.get("x-amz-date") ?? dateHeader(request.headers);
  const signedAt = amzDate === undefined ? undefined : fromAmzDate(amzDate);
  if (amzDate === undefined || signedAt === undefined || !auth.signedHeaders.includes("host")) {
    throw new ProxyRefusal("not-sigv4", "The request must sign Host and carry X-Amz-Date");
  }
  if (!amzDate.startsWith(auth.date)) {
    throw new ProxyRefusal("bad-signature", "The credential scope's date is not X-Amz-Date's");
  }
  if (Math.abs(signedAt.getTime() - context.now.getTime()) > MAX_SKEW_MS) {
    throw new ProxyRefusal(
      "bad-signature",
      `Signature expired: ${amzDate} is more than 15 minutes from the proxy's time ` +
        toAmzDate(context.now),
    );
  }
  const length = Number(request.headers.get("content-length") ?? "0");
  if (!Number.isSafeInteger(length) || length < 0 || length > context.limits.maxStreamedBytes) {
    throw new ProxyRefusal("body-too-large");
  }
  const { body, payloadHash } = await readPayload(request, {
    service: auth.service,
    limit: context.limits.maxBufferedBytes,
    count: (bytes) => context.limits.held.take(context.limits.lease, bytes),
  });
  const canonical = canonicalRequest({
    method: request.method,
    path: url.pathname,
    query: url.search.slice(1),
    headers: request.headers,
    signedHeaders: auth.signedHeaders,
    payloadHash,
    service: auth.service,
  });
  const key = signingKey(state.grant.standIn.secretAccessKey, auth);
  const expected = hmacHex(key, stringToSign(canonical, { amzDate, scope: auth }));
  if (!sameSignature(expected, auth.signature)) throw new ProxyRefusal("bad-signature");
  // Only the headers that go on to AWS say where the call goes and what it is called.
  const sent = forwardedHeaders(request.headers, auth.signedHeaders);
  const name = nameCall({
    service: auth.service,
    method: request.method,
    path: url.pathname,
    query: url.searchParams,
    headers: sent,
    body: body instanceof Uint8Array ? body : body === null ? new Uint8Array(0) : undefined,
    signedHeaders: auth.signedHeaders,
  });
  const bytesIn = body instanceof Uint8Array ? body.length : length;
  const minting = mintingCall({
    service: auth.service,
    method: request.method,
    path: url.pathname,
    query: url.search.slice(1),
    headers: sent,
    body: body instanceof Uint8Array ? body : undefined,
  });
  // A minting call is named by what it mints, whatever else the request claims to be.
  const called = minting !== undefined && "row" in minting
    ? { ...name, action: minting.operation }
    : name;
  // Signed with the stand-in secret: from here on, the call is the client's own.
  context.signed.name = called;
  const endpoint = resolveEndpoint({
    service: auth.service,
    region: auth.region,
    path: url.pathname,
    headers: sent,
  }, context.overrides);
  if (endpoint === undefined) throw new ProxyRefusal("bad-scope");
  return { state, auth, amzDate, payloadHash, body, bytesIn, name: called, endpoint, minting };
}

/** The payloads that stream through the proxy unread: S3's, whose hash AWS checks. */
const STREAMED_S3_PAYLOADS = [
  SIGNED_CHUNKS,
  SIGNED_CHUNKS_TRAILER,
  UNSIGNED_TRAILER,
  "UNSIGNED-PAYLOAD",
];

/**
 * The body and the payload hash its signature covers. Every service but S3 is read whole
 * (bounded), even when signed `UNSIGNED-PAYLOAD`: its hash is checked here, and its JSON or form
 * body names the call's action and resource. An S3 body with the client's hash, or in
 * `aws-chunked` frames, streams through (AWS checks the hash; the proxy each signed chunk).
 */
async function readPayload(
  request: Request,
  options: { service: string; limit: number; count: (bytes: number) => void },
): Promise<{ body: Uint8Array | ReadableStream<Uint8Array> | null; payloadHash: string }> {
  const claimed = request.headers.get("x-amz-content-sha256")?.trim();
  const hex = claimed !== undefined && /^[0-9a-f]{64}$/.test(claimed);
  const s3 = options.service === "s3";
  if (claimed !== undefined && !hex) {
    if (claimed.startsWith("STREAMING-AWS4-ECDSA")) throw new ProxyRefusal("sigv4a");
    if (!(s3 ? STREAMED_S3_PAYLOADS : ["UNSIGNED-PAYLOAD"]).includes(claimed)) {
      throw new ProxyRefusal(
        "not-sigv4",
        `Unsupported x-amz-content-sha256 "${claimed.slice(0, 64)}"` + (s3 ? "" : " outside S3"),
      );
    }
  }
  if (s3 && claimed !== undefined) return { body: request.body, payloadHash: claimed };
  const bytes = await readBoundedBody(request.body, {
    limit: options.limit,
    count: options.count,
    tooLarge: () => new ProxyRefusal("body-too-large"),
  });
  const computed = bytes.length === 0 ? EMPTY_SHA256 : sha256Hex(bytes);
  if (hex && claimed !== computed) {
    throw new ProxyRefusal(
      "bad-signature",
      "The provided 'x-amz-content-sha256' header does not match what was computed",
    );
  }
  return { body: bytes.length === 0 ? null : bytes, payloadHash: claimed ?? computed };
}

/** The request's headers that the proxy sends on: the signed ones and a few unsigned ones. */
function forwardedHeaders(headers: Headers, signedHeaders: readonly string[]): Headers {
  const out = new Headers();
  for (const name of [...signedHeaders, ...UNSIGNED_FORWARDED]) {
    const value = headers.get(name);
    if (value !== null && !NOT_FORWARDED.has(name)) out.set(name, value);
  }
  return out;
}

function dateHeader(headers: Headers): string | undefined {
  const date = headers.get("date");
  if (date === null) return undefined;
  const parsed = new Date(date);
  return Number.isNaN(parsed.getTime()) ? undefined : toAmzDate(parsed);
}

/** The bytes a call holds in bodies read whole. */
interface Lease {
  bytes: number;
}

/** What the bodies read whole of all calls in flight hold together, within a bound. */
class HeldBytes {
  #held = 0;
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** Counts `bytes` more for a call, or refuses it (`busy`) when all together would pass the bound. */
  take(lease: Lease, bytes: number): void {
    if (this.#held + bytes > this.#max) throw new ProxyRefusal("busy");
    this.#held += bytes;
    lease.bytes += bytes;
  }

  /** Forgets `bytes` that a call held and no longer does. */
  give(lease: Lease, bytes: number): void {
    this.#held -= bytes;
    lease.bytes -= bytes;
  }

  /** Forgets what a call held. */
  release(lease: Lease): void {
    this.#held -= lease.bytes;
    lease.bytes = 0;
  }
}

/** Signs the call again with the real session, sends it, and streams the answer back. */
async function forward(
  request: Request,
  url: URL,
  call: VerifiedCall,
  context: {
    now: () => Date;
    limits: { idleTimeoutMs: number; maxStreamedBytes: number };
    agents: ReturnType<typeof createAgents>;
    record: (call: Omit<CallRecord, "time" | "service" | "region">) => void;
    held: { count: HeldBytes; lease: Lease };
  },
): Promise<Response> {
  const real = call.state.options.session();
  const target = new URL(call.endpoint.url.href);
  const address = s3Address(call.endpoint, url.pathname);
  const basePath = target.pathname.replace(/\/$/, "");
  target.host = address.host ?? target.host;
  target.pathname = basePath + address.path;
  target.search = url.search;
  const headers = new Headers();
  const signed = new Set<string>();
  for (const name of call.auth.signedHeaders) {
    if (NOT_FORWARDED.has(name)) continue;
    const value = request.headers.get(name);
    if (value === null) continue;
    headers.set(name, value);
    signed.add(name);
  }
  for (const name of UNSIGNED_FORWARDED) {
    const value = request.headers.get(name);
    if (value !== null && !headers.has(name)) headers.set(name, value);
  }
  if (call.body instanceof Uint8Array) headers.set("content-length", String(call.body.length));
  headers.set("host", target.host);
  // An error answer is checked for the real session before it goes back: it must come as is.
  headers.set("accept-encoding", "identity");
  const { key, scope, amzDate, signature } = signRequest({
    method: request.method,
    path: target.pathname,
    query: target.search.slice(1),
    headers,
    payloadHash: call.payloadHash,
    signedHeaders: signed,
  }, { keys: real, region: call.auth.region, service: call.auth.service, time: context.now() });
  let body = call.body instanceof ReadableStream
    ? call.body.pipeThrough(limitBytes(context.limits.maxStreamedBytes))
    : call.body;
  if (
    body instanceof ReadableStream &&
    (call.payloadHash === SIGNED_CHUNKS || call.payloadHash === SIGNED_CHUNKS_TRAILER)
  ) {
    const from: ChunkSigner = {
      key: signingKey(call.state.grant.standIn.secretAccessKey, call.auth),
      scope: call.auth,
      amzDate: call.amzDate,
      seed: call.auth.signature,
    };
    const to: ChunkSigner = { key, scope, amzDate, seed: signature };
    const { count, lease } = context.held;
    body = resignChunks(body, {
      from,
      to,
      trailer: call.payloadHash === SIGNED_CHUNKS_TRAILER,
      // A chunk is held while it is checked: it counts with the bodies read whole.
      hold: (bytes) => {
        count.take(lease, bytes);
        return () => count.give(lease, bytes);
      },
    });
  }
  const sent = await sendUpstream({
    url: target,
    method: request.method,
    headers,
    body,
    idleTimeoutMs: context.limits.idleTimeoutMs,
  }, context.agents);
  // AWS echoes the signed headers (the real token among them) when it refuses a signature.
  const swap = { real, standIn: call.state.grant.standIn };
  const answer = await scrubAnswer(sent, { method: request.method, swap });
  return relay(request.method, answer, (bytesOut, errorCode) =>
    context.record({
      ...call.name,
      status: answer.status,
      bytesIn: call.bytesIn,
      bytesOut,
      ...(errorCode ? { errorCode } : {}),
    }));
}

/** Fails a streamed body (one sent without Content-Length, too) once it passes `limit` bytes. */
function limitBytes(limit: number): TransformStream<Uint8Array, Uint8Array> {
  let total = 0;
  return new TransformStream({
    transform(chunk, controller) {
      total += chunk.length;
      if (total > limit) throw new ProxyRefusal("body-too-large");
      controller.enqueue(chunk);
    },
  });
}

/** How much of an error's body is read for its code (AWS's error bodies are short). */
const ERROR_PEEK_BYTES = 4096;

/**
 * The answer as the client gets it, counting the bytes and recording the call at the end, with
 * the error code of a failed call: from `x-amzn-ErrorType`, else the start of its body (an XML
 * `<Code>` or a JSON `__type`), which passes through unchanged.
 */
function relay(
  method: string,
  answer: { status: number; headers: Headers; body: ReadableStream<Uint8Array> },
  done: (bytesOut: number, errorCode?: string) => void,
): Response {
  const headerCode = answer.headers.get("x-amzn-errortype")?.split(":")[0];
  const noBody = method === "HEAD" || answer.status === 204 || answer.status === 304;
  if (noBody) {
    answer.body.cancel().catch(() => {});
    done(0, headerCode);
    return new Response(null, { status: answer.status, headers: answer.headers });
  }
  let bytes = 0;
  let reported = false;
  let peeked = "";
  const decoder = new TextDecoder();
  const report = () => {
    if (!reported) done(bytes, headerCode ?? errorCodeIn(peeked));
    reported = true;
  };
  const counted = answer.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (answer.status >= 400 && bytes < ERROR_PEEK_BYTES) {
          peeked += decoder.decode(chunk.subarray(0, ERROR_PEEK_BYTES - bytes), { stream: true });
        }
        bytes += chunk.length;
        controller.enqueue(chunk);
      },
      flush: report,
    }),
  );
  const reader = counted.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done: ended } = await reader.read();
        if (ended) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        report();
        controller.error(error);
      }
    },
    cancel(reason) {
      report();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: answer.status, headers: answer.headers });
}

/** The error code in the start of an error body: XML's `<Code>`, JSON's `__type` or `code`. */
function errorCodeIn(text: string): string | undefined {
  const code = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1] ??
    /"(?:__type|code)"\s*:\s*"(?:[^"#]*#)?([^"]{1,100})"/.exec(text)?.[1];
  return code === undefined ? undefined : cleanName(code);
}
