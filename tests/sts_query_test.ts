// The broker's own signed STS query requests, in process: what reaches the endpoint, which
// answers are tried again and after how long, the clock corrected from an answer's Date, the
// deadline over the whole call, the errors as the AWS SDK's classes, failures to connect that
// name no address, and the XML reading. The waits go through the `sleep` seam and the clock
// through `now`: no test waits for a backoff.
import assert from "node:assert/strict";
import {
  element,
  isHeaderSafe,
  stsQuery,
  type StsQueryOptions,
  text,
  unreachable,
} from "../lib/aws/sts_query.ts";
import { stsModule } from "../lib/aws/sdk.ts";
import { startLocalAws } from "./support/local_aws.ts";
import { parseAuthorization, verifySignature } from "./support/sigv4.ts";

/** 2026-01-01T00:00:00Z: the clock of every test that fixes one. */
const T = Date.UTC(2026, 0, 1);
const KEYS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret-example" };
const MINUTE = 60_000;
const DAY = 24 * 3600_000;

/** An answer of the scripted endpoint. */
interface Answer {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  /**
   * Promise more body than `body`, send `body`, and hold the connection (`true`) or close it
   * (`"close"`).
   */
  cutShort?: boolean | "close";
}

/** What the scripted endpoint does with a request: answer, drop the connection, or hold it. */
type Action = Answer | "reset" | "hang";

/** A request as the scripted endpoint read it. */
interface Received {
  method: string;
  /** The request target: path and query. */
  target: string;
  headers: Headers;
  body: string;
}

/**
 * A loopback HTTP/1.1 endpoint on a raw socket (port 0) whose every answer the test decides,
 * `Date` included (none unless given); one request per connection.
 */
class Scripted implements AsyncDisposable {
  readonly received: Received[] = [];
  readonly url: string;
  readonly #listener: Deno.Listener;
  readonly #stop = Promise.withResolvers<void>();
  readonly #open = new Set<Deno.Conn>();
  readonly #served: Promise<void>;
  #arrived = Promise.withResolvers<void>();

  constructor(readonly script: (request: Received, index: number) => Action) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.url = `http://127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}`;
    this.#served = this.#serve();
  }

  /** Resolves when the next request has been read. */
  nextArrival(): Promise<void> {
    return this.#arrived.promise;
  }

  async #serve(): Promise<void> {
    const handlers: Promise<void>[] = [];
    try {
      for await (const conn of this.#listener) {
        this.#open.add(conn);
        handlers.push(this.#handle(conn).finally(() => this.#open.delete(conn)));
      }
    } catch {
      // The listener closed.
    }
    await Promise.allSettled(handlers);
  }

  async #handle(conn: Deno.Conn): Promise<void> {
    try {
      const request = await readRequest(conn);
      if (request === undefined) {
        await writeAll(conn, "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        conn.close();
        return;
      }
      const index = this.received.push(request) - 1;
      const arrived = this.#arrived;
      this.#arrived = Promise.withResolvers<void>();
      arrived.resolve();
      const action = this.script(request, index);
      if (action === "reset") return conn.close();
      if (action === "hang") return await this.#hold(conn);
      const body = new TextEncoder().encode(action.body ?? "");
      const length = body.length + (action.cutShort ? 100 : 0);
      const head = `HTTP/1.1 ${action.status ?? 200} Answer\r\ncontent-length: ${length}\r\n` +
        `connection: close\r\n` +
        Object.entries(action.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
      await writeAll(conn, head);
      await writeAll(conn, body);
      if (action.cutShort === true) return await this.#hold(conn);
      conn.close();
    } catch {
      // The client went away (a refused answer, an abort): nothing to answer.
      close(conn);
    }
  }

  /** Holds `conn` open until the endpoint is disposed of. */
  async #hold(conn: Deno.Conn): Promise<void> {
    await this.#stop.promise;
    close(conn);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#stop.resolve();
    this.#listener.close();
    // A connection still being read (a client that sent half a request).
    for (const conn of this.#open) close(conn);
    await this.#served;
  }
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}

async function writeAll(conn: Deno.Conn, data: string | Uint8Array): Promise<void> {
  let bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  while (bytes.length > 0) bytes = bytes.subarray(await conn.write(bytes));
}

/** Reads one request (head and a `content-length` body); `undefined` when it is not HTTP. */
async function readRequest(conn: Deno.Conn): Promise<Received | undefined> {
  let bytes = new Uint8Array(0);
  const buffer = new Uint8Array(65536);
  const latin1 = (b: Uint8Array) => new TextDecoder("latin1").decode(b);
  let headEnd = -1;
  while (headEnd < 0) {
    const n = await conn.read(buffer);
    if (n === null) return undefined;
    bytes = new Uint8Array([...bytes, ...buffer.subarray(0, n)]);
    if (!/^[A-Z]+ /.test(latin1(bytes.subarray(0, 8)))) return undefined;
    headEnd = latin1(bytes).indexOf("\r\n\r\n");
  }
  const [requestLine, ...lines] = latin1(bytes.subarray(0, headEnd)).split("\r\n");
  const headers = new Headers(lines.map((line) => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()] as [string, string];
  }));
  const length = Number(headers.get("content-length") ?? "0");
  let body = bytes.subarray(headEnd + 4);
  while (body.length < length) {
    const n = await conn.read(buffer);
    if (n === null) break;
    body = new Uint8Array([...body, ...buffer.subarray(0, n)]);
  }
  const [method, target] = requestLine.split(" ");
  return { method, target, headers, body: new TextDecoder().decode(body) };
}

/** STS's query error answer. */
function errorAnswer(
  code: string,
  options: { status?: number; message?: string; type?: string; date?: number } = {},
): Answer {
  const status = options.status ?? 400;
  const type = options.type ?? (status < 500 ? "Sender" : "Receiver");
  return {
    status,
    body: `<ErrorResponse><Error><Type>${type}</Type><Code>${code}</Code>` +
      `<Message>${options.message ?? "no"}</Message></Error><RequestId>req-1</RequestId>` +
      `</ErrorResponse>`,
    headers: options.date === undefined ? {} : { date: new Date(options.date).toUTCString() },
  };
}

function okAnswer(
  action = "GetCallerIdentity",
  inner = "<Arn>arn:aws:iam::1:user/u</Arn>",
): Answer {
  return {
    body: `<${action}Response><${action}Result>${inner}</${action}Result>` +
      `<ResponseMetadata><RequestId>req-ok</RequestId></ResponseMetadata></${action}Response>`,
  };
}

/** Answers `actions` in turn, then fails the test loudly. */
function inTurn(...actions: Action[]): (request: Received, index: number) => Action {
  return (_, index) => actions[index] ?? { status: 599, body: "no more answers scripted" };
}

/** An `stsQuery` at `url` with a fixed clock at {@linkcode T} and waits that are only recorded. */
function query(url: string, options: Partial<StsQueryOptions> = {}) {
  const sleeps: number[] = [];
  const sts = stsQuery({
    endpoint: url,
    region: "eu-west-1",
    keys: KEYS,
    timeoutMs: 10_000,
    now: () => new Date(T),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    ...options,
  });
  return { sts, sleeps };
}

/** The `x-amz-date` of each request the endpoint received. */
function signedAt(endpoint: Scripted): string[] {
  return endpoint.received.map((r) => r.headers.get("x-amz-date") ?? "");
}

/** The error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<Record<string, unknown> & Error> {
  try {
    await promise;
  } catch (error) {
    return error as Record<string, unknown> & Error;
  }
  throw new Error("the call did not fail");
}

Deno.test("call() sends a signed POST of the query and returns the text inside <ActionResult>", async () => {
  await using endpoint = new Scripted(inTurn(okAnswer("AssumeRole", "<A>1</A><B>x &amp; y</B>")));
  const { sts, sleeps } = query(`${endpoint.url}/base/p?x=1`);
  const result = await sts.call("AssumeRole", [["RoleArn", "arn:aws:iam::1:role/r"], [
    "Policy",
    '{"a": 1}',
  ]]);
  assert.equal(result, "<A>1</A><B>x &amp; y</B>");
  assert.deepEqual(sleeps, []);
  const [request] = endpoint.received;
  assert.equal(endpoint.received.length, 1);
  assert.equal(request.method, "POST");
  assert.equal(request.target, "/base/p?x=1");
  assert.equal(
    request.body,
    "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr" +
      "&Policy=%7B%22a%22%3A+1%7D",
  );
  assert.equal(
    request.headers.get("content-type"),
    "application/x-www-form-urlencoded; charset=utf-8",
  );
  assert.match(request.headers.get("user-agent") ?? "", /^timebound-iam\/\d+\.\d+\.\d+$/);
  assert.equal(request.headers.get("host"), new URL(endpoint.url).host);
  assert.equal(request.headers.get("x-amz-date"), "20260101T000000Z");
  assert.equal(request.headers.get("x-amz-security-token"), null);
  const auth = parseAuthorization(request.headers.get("authorization"));
  assert.ok(auth);
  assert.deepEqual(
    [auth.accessKeyId, auth.date, auth.region, auth.service, auth.signedHeaders],
    ["AKIDEXAMPLE", "20260101", "eu-west-1", "sts", ["content-type", "host", "x-amz-date"]],
  );
  verifySignature(
    {
      method: request.method,
      url: new URL(request.target, endpoint.url),
      headers: request.headers,
      body: new TextEncoder().encode(request.body),
    },
    auth,
    KEYS.secretAccessKey,
  );
});

Deno.test("call() signs with a session token when the keys have one", async () => {
  await using endpoint = new Scripted(inTurn(okAnswer()));
  const { sts } = query(endpoint.url, { keys: { ...KEYS, sessionToken: "token/with+chars=" } });
  await sts.call("GetCallerIdentity", []);
  const [request] = endpoint.received;
  assert.equal(request.headers.get("x-amz-security-token"), "token/with+chars=");
  assert.equal(request.target, "/");
  assert.equal(request.body, "Action=GetCallerIdentity&Version=2011-06-15");
  const auth = parseAuthorization(request.headers.get("authorization"))!;
  assert.ok(auth.signedHeaders.includes("x-amz-security-token"), auth.signedHeaders.join(";"));
});

Deno.test("call() passes the SigV4 checks of the local endpoint, and its clock skew is corrected", async () => {
  for (const clockSkewMs of [0, 20 * MINUTE]) {
    await using aws = await startLocalAws({ clockSkewMs });
    const sleeps: number[] = [];
    const sts = stsQuery({
      endpoint: aws.url,
      region: "us-east-1",
      keys: aws.defaultUser,
      timeoutMs: 10_000,
      sleep: (ms) => Promise.resolve(void sleeps.push(ms)),
    });
    const result = await sts.call("GetCallerIdentity", []);
    assert.equal(text(result, "Arn"), aws.defaultUser.arn);
    assert.deepEqual(
      aws.requests.map((r) => r.errorCode ?? r.status),
      clockSkewMs ? ["SignatureDoesNotMatch", 200] : [200],
    );
    assert.equal(sleeps.length, clockSkewMs ? 1 : 0);
  }
});

Deno.test("call() refuses an answer that holds no <ActionResult>", async () => {
  await using endpoint = new Scripted(inTurn(okAnswer("AssumeRole")));
  const { sts } = query(endpoint.url);
  await assert.rejects(
    sts.call("GetCallerIdentity", []),
    { message: "STS answered GetCallerIdentity without its result" },
  );
});

const THROTTLING = [
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "SlowDown",
  "PriorRequestNotComplete",
];
const TRANSIENT = ["RequestTimeout", "RequestTimeoutException", "InternalFailure"];

Deno.test("throttling, 429, 5xx and AWS's transient codes are tried three times in all", async (t) => {
  const cases: [string, Answer][] = [
    ...THROTTLING.map((code): [string, Answer] => [code, errorAnswer(code)]),
    ...TRANSIENT.map((code): [string, Answer] => [code, errorAnswer(code)]),
    ...[500, 502, 503, 504].map((status): [string, Answer] => [
      `HTTP ${status}`,
      errorAnswer("ServiceUnavailable", { status }),
    ]),
    ["HTTP 429", errorAnswer("TooManyRequests", { status: 429 })],
    ["HTTP 501 without a body (InternalFailure)", { status: 501 }],
  ];
  for (const [name, answer] of cases) {
    await t.step(name, async () => {
      await using endpoint = new Scripted(() => answer);
      const { sts, sleeps } = query(endpoint.url);
      const error = await failure(sts.call("GetCallerIdentity", []));
      assert.equal(endpoint.received.length, 3);
      assert.equal(sleeps.length, 2);
      assert.equal((error.$metadata as { attempts: number }).attempts, 3);
    });
  }
  await t.step("throttled twice, then answered", async () => {
    await using endpoint = new Scripted(
      inTurn(errorAnswer("Throttling"), errorAnswer("Throttling"), okAnswer()),
    );
    const { sts, sleeps } = query(endpoint.url);
    assert.equal(await sts.call("GetCallerIdentity", []), "<Arn>arn:aws:iam::1:user/u</Arn>");
    assert.equal(endpoint.received.length, 3);
    assert.equal(sleeps.length, 2);
  });
});

Deno.test("a refusal, a bad request or another 5xx code is not tried again", async (t) => {
  const cases: [string, Answer][] = [
    ["AccessDenied", errorAnswer("AccessDenied", { status: 403 })],
    ["ValidationError", errorAnswer("ValidationError")],
    ["HTTP 400 without a body", { status: 400 }],
    ["501 NotImplemented", errorAnswer("NotImplemented", { status: 501 })],
    ["SignatureDoesNotMatch without a Date", errorAnswer("SignatureDoesNotMatch", { status: 403 })],
    ["ExpiredTokenException", errorAnswer("ExpiredTokenException", { status: 403 })],
  ];
  for (const [name, answer] of cases) {
    await t.step(name, async () => {
      await using endpoint = new Scripted(() => answer);
      const { sts, sleeps } = query(endpoint.url);
      const error = await failure(sts.call("GetCallerIdentity", []));
      assert.equal(endpoint.received.length, 1);
      assert.deepEqual(sleeps, []);
      assert.equal((error.$metadata as { attempts: number }).attempts, 1);
    });
  }
});

Deno.test("a dropped connection is tried again, three times in all", async () => {
  await using endpoint = new Scripted(inTurn("reset", "reset", okAnswer()));
  const { sts, sleeps } = query(endpoint.url);
  assert.equal(await sts.call("GetCallerIdentity", []), "<Arn>arn:aws:iam::1:user/u</Arn>");
  assert.equal(endpoint.received.length, 3);
  assert.equal(sleeps.length, 2);

  await using dropping = new Scripted(() => "reset");
  const dropped = query(dropping.url);
  const error = await failure(dropped.sts.call("GetCallerIdentity", []));
  assert.equal(error.code, "ECONNRESET");
  assert.equal(error.message, "connect ECONNRESET");
  assert.equal(dropping.received.length, 3);
  assert.equal(dropped.sleeps.length, 2);
});

Deno.test("an answer whose connection closes before its whole body is tried again, as a reset", async () => {
  const cut = { ...okAnswer(), cutShort: "close" as const };
  await using endpoint = new Scripted(inTurn(cut, okAnswer()));
  const { sts, sleeps } = query(endpoint.url);
  assert.equal(await sts.call("GetCallerIdentity", []), "<Arn>arn:aws:iam::1:user/u</Arn>");
  assert.equal(endpoint.received.length, 2);
  assert.equal(sleeps.length, 1);

  await using cutting = new Scripted(() => cut);
  const always = query(cutting.url);
  const error = await failure(always.sts.call("GetCallerIdentity", []));
  assert.equal(error.code, "ECONNRESET");
  assert.equal(cutting.received.length, 3);
});

/**
 * The waits before the 2nd and 3rd attempts over `calls` calls that all fail with `action`,
 * checked against the standard mode's bounds: a random whole number of milliseconds below
 * `base` × 2ⁿ, spread over that range (with this many draws, the largest is above half of it and
 * the smallest below, but for a chance of 2⁻ᶜᵃˡˡˢ).
 */
async function checkWaits(action: Action, base: number, calls: number): Promise<void> {
  await using endpoint = new Scripted(() => action);
  const { sts, sleeps } = query(endpoint.url);
  for (let i = 0; i < calls; i++) await failure(sts.call("GetCallerIdentity", []));
  assert.equal(sleeps.length, 2 * calls);
  for (const n of [1, 2]) {
    const waits = sleeps.filter((_, i) => i % 2 === n - 1);
    const bound = base * 2 ** n;
    for (const ms of waits) {
      assert.ok(Number.isInteger(ms) && ms >= 0 && ms < bound, `${ms} ms after attempt ${n}`);
    }
    assert.ok(Math.max(...waits) >= bound / 2, `largest wait after attempt ${n}: ${waits}`);
    assert.ok(Math.min(...waits) < bound / 2, `smallest wait after attempt ${n}: ${waits}`);
  }
}

Deno.test("the waits before a retry: under 100 ms × 2ⁿ, under 500 ms × 2ⁿ when throttled", async (t) => {
  await t.step("Throttling", () => checkWaits(errorAnswer("Throttling"), 500, 40));
  await t.step("HTTP 429", () => checkWaits(errorAnswer("Busy", { status: 429 }), 500, 40));
  await t.step("HTTP 503", () => checkWaits(errorAnswer("Unavailable", { status: 503 }), 100, 40));
  await t.step("InternalFailure", () => checkWaits(errorAnswer("InternalFailure"), 100, 40));
  await t.step("a dropped connection", () => checkWaits("reset", 100, 40));
});

Deno.test("a clock skewed by five minutes or more is corrected from the answer's Date, for each skew code", async (t) => {
  const codes = [
    "AuthFailure",
    "InvalidSignatureException",
    "RequestExpired",
    "RequestInTheFuture",
    "RequestTimeTooSkewed",
    "SignatureDoesNotMatch",
  ];
  for (const code of codes) {
    await t.step(code, async () => {
      const date = T + 10 * MINUTE;
      await using endpoint = new Scripted(
        inTurn(errorAnswer(code, { status: 403, date }), okAnswer(), okAnswer()),
      );
      const { sts, sleeps } = query(endpoint.url);
      await sts.call("GetCallerIdentity", []);
      assert.equal(sleeps.length, 1);
      // The correction holds for the calls that follow.
      await sts.call("GetCallerIdentity", []);
      assert.deepEqual(signedAt(endpoint), [
        "20260101T000000Z",
        "20260101T001000Z",
        "20260101T001000Z",
      ]);
    });
  }
  const skews: [string, number, string | undefined][] = [
    ["exactly five minutes ahead", 5 * MINUTE, "20260101T000500Z"],
    ["ten minutes behind", -10 * MINUTE, "20251231T235000Z"],
    ["365 days ahead", 365 * DAY, "20270101T000000Z"],
    ["4 minutes 59 ahead: not corrected", 5 * MINUTE - 1000, undefined],
    ["4 minutes 59 behind: not corrected", -5 * MINUTE + 1000, undefined],
    ["366 days ahead: not believed", 366 * DAY, undefined],
    ["367 days behind: not believed", -367 * DAY, undefined],
  ];
  for (const [name, skew, corrected] of skews) {
    await t.step(name, async () => {
      await using endpoint = new Scripted(
        inTurn(errorAnswer("SignatureDoesNotMatch", { status: 403, date: T + skew }), okAnswer()),
      );
      const { sts } = query(endpoint.url);
      const call = sts.call("GetCallerIdentity", []);
      if (corrected === undefined) {
        const error = await failure(call);
        assert.equal(error.name, "SignatureDoesNotMatch");
        assert.deepEqual(signedAt(endpoint), ["20260101T000000Z"]);
      } else {
        await call;
        assert.deepEqual(signedAt(endpoint), ["20260101T000000Z", corrected]);
      }
    });
  }
});

Deno.test("a clock is corrected only by a skew code's answer, and only once for the same skew", async (t) => {
  const date = T + 10 * MINUTE;
  await t.step("AccessDenied with a skewed Date: not tried again, not corrected", async () => {
    await using endpoint = new Scripted(
      inTurn(errorAnswer("AccessDenied", { status: 403, date }), okAnswer()),
    );
    const { sts } = query(endpoint.url);
    assert.equal((await failure(sts.call("GetCallerIdentity", []))).name, "AccessDenied");
    await sts.call("GetCallerIdentity", []);
    assert.deepEqual(signedAt(endpoint), ["20260101T000000Z", "20260101T000000Z"]);
  });
  await t.step("Throttling with a skewed Date: tried again at the same clock", async () => {
    await using endpoint = new Scripted(inTurn(errorAnswer("Throttling", { date }), okAnswer()));
    const { sts } = query(endpoint.url);
    await sts.call("GetCallerIdentity", []);
    assert.deepEqual(signedAt(endpoint), ["20260101T000000Z", "20260101T000000Z"]);
  });
  await t.step("a success with a skewed Date: not corrected", async () => {
    await using endpoint = new Scripted(
      inTurn({ ...okAnswer(), headers: { date: new Date(date).toUTCString() } }, okAnswer()),
    );
    const { sts } = query(endpoint.url);
    await sts.call("GetCallerIdentity", []);
    await sts.call("GetCallerIdentity", []);
    assert.deepEqual(signedAt(endpoint), ["20260101T000000Z", "20260101T000000Z"]);
  });
  await t.step("refused again at the corrected clock: not tried a third time", async () => {
    const skewed = errorAnswer("SignatureDoesNotMatch", { status: 403, date });
    await using endpoint = new Scripted(() => skewed);
    const { sts } = query(endpoint.url);
    const error = await failure(sts.call("GetCallerIdentity", []));
    assert.equal((error.$metadata as { attempts: number }).attempts, 2);
    assert.deepEqual(signedAt(endpoint), ["20260101T000000Z", "20260101T001000Z"]);
  });
  await t.step("a larger skew found later is corrected again", async () => {
    await using endpoint = new Scripted(inTurn(
      errorAnswer("SignatureDoesNotMatch", { status: 403, date }),
      errorAnswer("SignatureDoesNotMatch", { status: 403, date: T + 30 * MINUTE }),
      okAnswer(),
    ));
    const { sts } = query(endpoint.url);
    await sts.call("GetCallerIdentity", []);
    assert.deepEqual(signedAt(endpoint), [
      "20260101T000000Z",
      "20260101T001000Z",
      "20260101T003000Z",
    ]);
  });
});

Deno.test("the timeout bounds the whole call, waits included, with the SDK's TimeoutError", async (t) => {
  const message = "No answer within 0.5s, retries included (TIMEBOUND_IAM_TIMEOUT)";
  await t.step("an endpoint that never answers", async () => {
    await using endpoint = new Scripted(() => "hang");
    const { sts } = query(endpoint.url, { timeoutMs: 500 });
    const started = performance.now();
    await assert.rejects(sts.call("GetCallerIdentity", []), { name: "TimeoutError", message });
    assert.ok(performance.now() - started < 5000);
    assert.equal(endpoint.received.length, 1);
  });
  await t.step("an answer that stops halfway", async () => {
    await using endpoint = new Scripted(() => ({ ...okAnswer(), cutShort: true }));
    const { sts, sleeps } = query(endpoint.url, { timeoutMs: 500 });
    await assert.rejects(sts.call("GetCallerIdentity", []), { name: "TimeoutError", message });
    assert.equal(endpoint.received.length, 1);
    assert.deepEqual(sleeps, []);
  });
  await t.step("the deadline passes during a wait", async () => {
    await using endpoint = new Scripted(() => errorAnswer("Throttling"));
    const waits: number[] = [];
    const { sts } = query(endpoint.url, {
      timeoutMs: 500,
      sleep: (ms, signal) =>
        new Promise((_, reject) => {
          waits.push(ms);
          signal.addEventListener("abort", () => reject(new Error("the wait was cut")));
        }),
    });
    await assert.rejects(sts.call("GetCallerIdentity", []), { name: "TimeoutError", message });
    assert.equal(waits.length, 1);
    assert.equal(endpoint.received.length, 1);
  });
  await t.step("the waits of the real timer count too", async () => {
    await using endpoint = new Scripted(inTurn(errorAnswer("Throttling"), "hang", "hang"));
    const sts = stsQuery({
      endpoint: endpoint.url,
      region: "eu-west-1",
      keys: KEYS,
      timeoutMs: 500,
    });
    await assert.rejects(sts.call("GetCallerIdentity", []), { name: "TimeoutError", message });
  });
  await t.step("the real timer's wait, then an answer", async () => {
    await using endpoint = new Scripted(
      inTurn(errorAnswer("Unavailable", { status: 503 }), okAnswer()),
    );
    const sts = stsQuery({
      endpoint: endpoint.url,
      region: "eu-west-1",
      keys: KEYS,
      timeoutMs: 5000,
    });
    assert.equal(await sts.call("GetCallerIdentity", []), "<Arn>arn:aws:iam::1:user/u</Arn>");
    assert.equal(endpoint.received.length, 2);
  });
});

Deno.test("the deadline ends with the call: a call answered in time is never aborted after", async () => {
  await using endpoint = new Scripted(inTurn(errorAnswer("Throttling"), okAnswer()));
  const signals: AbortSignal[] = [];
  const { sts } = query(endpoint.url, {
    timeoutMs: 500,
    sleep: (_, signal) => Promise.resolve(void signals.push(signal)),
  });
  await sts.call("GetCallerIdentity", []);
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal(signals.length, 1);
  assert.equal(signals[0].aborted, false);
});

Deno.test("the caller's abort ends the call with its reason, at any point", async (t) => {
  const reason = new Error("the caller gave up");
  await t.step("while the endpoint holds the request", async () => {
    await using endpoint = new Scripted(() => "hang");
    const { sts } = query(endpoint.url);
    const controller = new AbortController();
    const call = sts.call("GetCallerIdentity", [], controller.signal);
    await endpoint.nextArrival();
    controller.abort(reason);
    await assert.rejects(call, (error) => error === reason);
  });
  await t.step("while the answer is read", async () => {
    await using endpoint = new Scripted(() => ({ ...okAnswer(), cutShort: true }));
    const { sts } = query(endpoint.url);
    const controller = new AbortController();
    const call = sts.call("GetCallerIdentity", [], controller.signal);
    await endpoint.nextArrival();
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort(reason);
    await assert.rejects(call, (error) => error === reason);
  });
  await t.step("before the call: nothing is sent", async () => {
    await using endpoint = new Scripted(() => okAnswer());
    const { sts } = query(endpoint.url);
    await assert.rejects(
      sts.call("GetCallerIdentity", [], AbortSignal.abort(reason)),
      (error) => error === reason,
    );
    assert.equal(endpoint.received.length, 0);
  });
  await t.step("during a wait", async () => {
    await using endpoint = new Scripted(() => errorAnswer("Throttling"));
    const controller = new AbortController();
    const { sts } = query(endpoint.url, {
      sleep: (_, signal) =>
        new Promise((_, reject) => {
          signal.addEventListener("abort", () => reject(new Error("the wait was cut")));
          controller.abort(reason);
        }),
    });
    await assert.rejects(
      sts.call("GetCallerIdentity", [], controller.signal),
      (error) => error === reason,
    );
    assert.equal(endpoint.received.length, 1);
  });
  await t.step("at once during the real timer's wait (of up to a second)", async () => {
    // Each round aborts 20 ms into a random wait under a second: the call must end within
    // 300 ms of the abort, not when the wait would have.
    for (let round = 0; round < 8; round++) {
      await using endpoint = new Scripted(inTurn(errorAnswer("Throttling"), "hang", "hang"));
      const sts = stsQuery({
        endpoint: endpoint.url,
        region: "eu-west-1",
        keys: KEYS,
        timeoutMs: 10_000,
      });
      const controller = new AbortController();
      const call = sts.call("GetCallerIdentity", [], controller.signal);
      await endpoint.nextArrival();
      await new Promise((resolve) => setTimeout(resolve, 20));
      controller.abort(reason);
      const aborted = performance.now();
      await assert.rejects(call, (error) => error === reason);
      assert.ok(performance.now() - aborted < 300, `${performance.now() - aborted} ms`);
    }
  });
  await t.step("during the real timer's wait", async () => {
    await using endpoint = new Scripted(inTurn(errorAnswer("Throttling"), "hang", "hang"));
    const sts = stsQuery({
      endpoint: endpoint.url,
      region: "eu-west-1",
      keys: KEYS,
      timeoutMs: 10_000,
    });
    const controller = new AbortController();
    const call = sts.call("GetCallerIdentity", [], controller.signal);
    await endpoint.nextArrival();
    // The answer is read and the wait has begun (it lasts up to a second).
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort(reason);
    await assert.rejects(call, (error) => error === reason);
  });
});

Deno.test("a redirect is not followed: its status is the error", async () => {
  await using endpoint = new Scripted(
    inTurn({ status: 307, headers: { location: "/elsewhere" } }, okAnswer()),
  );
  const { sts } = query(endpoint.url);
  const error = await failure(sts.call("GetCallerIdentity", []));
  assert.equal(endpoint.received.length, 1);
  assert.equal(error.name, "UnknownError");
  assert.equal(error.message, "HTTP 307");
  assert.equal((error.$metadata as { httpStatusCode: number }).httpStatusCode, 307);
});

Deno.test("an answer over 1 MiB is refused, one of 1 MiB read", async () => {
  const head = "<GetCallerIdentityResponse><GetCallerIdentityResult>";
  const tail = "</GetCallerIdentityResult></GetCallerIdentityResponse>";
  const mib = 1024 * 1024;
  const fits = head + "x".repeat(mib - head.length - tail.length) + tail;
  await using endpoint = new Scripted(inTurn({ body: fits }, { body: fits + " " }));
  const { sts, sleeps } = query(endpoint.url);
  assert.equal((await sts.call("GetCallerIdentity", [])).length, mib - head.length - tail.length);
  await assert.rejects(sts.call("GetCallerIdentity", []), {
    message: "The STS answer is over 1048576 bytes",
  });
  assert.equal(endpoint.received.length, 2);
  assert.deepEqual(sleeps, []);
});

Deno.test("AWS's refusals are the SDK's exception classes, with the status, request id and attempts", async (t) => {
  const sdk = await stsModule();
  const modelled: [string, string, number][] = [
    ["PackedPolicyTooLarge", "PackedPolicyTooLargeException", 400],
    ["ExpiredTokenException", "ExpiredTokenException", 400],
    ["MalformedPolicyDocument", "MalformedPolicyDocumentException", 400],
    ["RegionDisabledException", "RegionDisabledException", 403],
  ];
  for (const [code, className, status] of modelled) {
    await t.step(code, async () => {
      await using endpoint = new Scripted(() =>
        errorAnswer(code, { status, message: "Policy &lt;too&gt; large &amp; more" })
      );
      const { sts } = query(endpoint.url);
      const error = await failure(sts.call("AssumeRole", []));
      const errorClass = (sdk as unknown as Record<string, new () => Error>)[className];
      assert.ok(error instanceof errorClass, `${error.constructor.name} for ${code}`);
      assert.equal(error.name, className);
      assert.equal(error.message, "Policy <too> large & more");
      assert.equal(error.$fault, "client");
      assert.deepEqual(error.$metadata, {
        httpStatusCode: status,
        requestId: "req-1",
        attempts: 1,
      });
      assert.equal(error.Code, code);
      assert.equal(error.Type, "Sender");
    });
  }
  const others: {
    name: string;
    answer: Answer;
    error: Record<string, unknown>;
    metadata: Record<string, unknown>;
  }[] = [
    {
      name: "AccessDenied",
      answer: errorAnswer("AccessDenied", { status: 403, message: "not allowed" }),
      error: { name: "AccessDenied", message: "not allowed", $fault: "client", Type: "Sender" },
      metadata: { httpStatusCode: 403, requestId: "req-1", attempts: 1 },
    },
    {
      name: "ExpiredToken (no modelled class)",
      answer: errorAnswer("ExpiredToken", { status: 403 }),
      error: { name: "ExpiredToken", $fault: "client", Code: "ExpiredToken" },
      metadata: { httpStatusCode: 403, requestId: "req-1", attempts: 1 },
    },
    {
      name: "a Receiver fault on a 400",
      answer: errorAnswer("ValidationError", { type: "Receiver" }),
      error: { name: "ValidationError", $fault: "server", Type: "Receiver" },
      metadata: { httpStatusCode: 400, requestId: "req-1", attempts: 1 },
    },
    {
      name: "a 5xx is the server's fault, whatever its Type",
      answer: errorAnswer("Unavailable", { status: 503, type: "Sender" }),
      error: { name: "Unavailable", $fault: "server", Type: "Receiver" },
      metadata: { httpStatusCode: 503, requestId: "req-1", attempts: 3 },
    },
    {
      name: "a 500 without a body: InternalFailure, the id from the header",
      answer: { status: 500, headers: { "x-amzn-requestid": "hdr-7" } },
      error: { name: "InternalFailure", message: "HTTP 500", $fault: "server", Type: "Receiver" },
      metadata: { httpStatusCode: 500, requestId: "hdr-7", attempts: 3 },
    },
    {
      name: "a 499 without a body: UnknownError, no request id",
      answer: { status: 499 },
      error: {
        name: "UnknownError",
        message: "HTTP 499",
        $fault: "client",
        Code: "UnknownError",
        Type: "Sender",
      },
      metadata: { httpStatusCode: 499, requestId: undefined, attempts: 1 },
    },
  ];
  for (const c of others) {
    await t.step(c.name, async () => {
      await using endpoint = new Scripted(() => c.answer);
      const { sts } = query(endpoint.url);
      const error = await failure(sts.call("AssumeRole", []));
      assert.ok(error instanceof sdk.STSServiceException);
      for (const modelledClass of modelled) {
        const errorClass = (sdk as unknown as Record<string, new () => Error>)[modelledClass[1]];
        assert.ok(!(error instanceof errorClass), modelledClass[1]);
      }
      assert.deepEqual(
        Object.fromEntries(Object.keys(c.error).map((key) => [key, error[key]])),
        c.error,
      );
      assert.deepEqual(error.$metadata, c.metadata);
    });
  }
});

/** Whether `error`'s message, stack or own fields mention `what`. */
function mentions(error: Error, what: string): boolean {
  return `${error.message}\n${error.stack}\n${JSON.stringify(error)}`.includes(what);
}

Deno.test("a failure to connect has a Node-style code and names no URL or address", async (t) => {
  await t.step("refused: tried three times", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const { sts, sleeps } = query(`http://127.0.0.1:${port}/secret-path`);
    const error = await failure(sts.call("GetCallerIdentity", []));
    assert.equal(error.code, "ECONNREFUSED");
    assert.equal(error.message, "connect ECONNREFUSED");
    assert.equal(sleeps.length, 2);
    for (const what of ["127.0.0.1", String(port), "secret-path"]) {
      assert.ok(!mentions(error, what), what);
    }
  });
  await t.step("a host not found: not tried again", async () => {
    const { sts, sleeps } = query("http://no-such-host.invalid/secret-path");
    const error = await failure(sts.call("GetCallerIdentity", []));
    assert.equal(error.code, "ENOTFOUND");
    assert.equal(error.message, "connect ENOTFOUND");
    assert.deepEqual(sleeps, []);
    for (const what of ["no-such-host", "secret-path"]) assert.ok(!mentions(error, what), what);
  });
  await t.step("a TLS failure: the runtime's last words only", async () => {
    await using endpoint = new Scripted(() => okAnswer());
    const url = endpoint.url.replace("http:", "https:") + "/secret-path";
    const { sts, sleeps } = query(url);
    const error = await failure(sts.call("GetCallerIdentity", []));
    assert.equal(error.code, undefined);
    // The runtime's words after its last "): ", not its first.
    assert.match(error.message, /^The request failed: received corrupt message\b[\w ,.:'-]*$/);
    assert.deepEqual(sleeps, []);
    for (const what of ["127.0.0.1", new URL(url).port, "secret-path"]) {
      assert.ok(!mentions(error, what), what);
    }
  });
  await t.step("an answer cut short: no address either", async () => {
    // A head that promises more body than ever comes, then the connection closes.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const serving = (async () => {
      for await (const conn of listener) {
        await conn.read(new Uint8Array(65536));
        await writeAll(conn, "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789");
        conn.close();
      }
    })();
    const { sts } = query(`http://127.0.0.1:${port}/secret-path`);
    const error = await failure(sts.call("GetCallerIdentity", []));
    listener.close();
    await serving.catch(() => {});
    // The runtime says "error reading a body from connection", without a cause: a reset, as Node
    // names a socket closed under a body it was reading.
    assert.equal(error.message, "connect ECONNRESET");
    assert.equal(error.code, "ECONNRESET");
    for (const what of ["127.0.0.1", String(port), "secret-path"]) {
      assert.ok(!mentions(error, what), what);
    }
  });
});

Deno.test("keys or a region a header cannot carry are refused before any request, unquoted", async () => {
  await using endpoint = new Scripted(() => okAnswer());
  const cases: Partial<StsQueryOptions>[] = [
    { keys: { ...KEYS, sessionToken: "SECRETPART1\nSECRETPART2" } },
    { keys: { ...KEYS, sessionToken: "SECRETPART1 SECRETPART2" } },
    { keys: { ...KEYS, accessKeyId: "AKIDSECRETPART\u00e9" } },
    { region: "eu west SECRETPART" },
  ];
  for (const options of cases) {
    const { sts } = query(endpoint.url, options);
    const error = await failure(sts.call("GetCallerIdentity", []));
    assert.equal(
      error.message,
      "The access key id, session token or region holds a character a header cannot",
    );
    assert.ok(!mentions(error, "SECRETPART"));
  }
  assert.equal(endpoint.received.length, 0);
});

Deno.test("isHeaderSafe() takes printable ASCII without spaces only", () => {
  assert.equal(isHeaderSafe("AKIA/+=!~"), true);
  assert.equal(isHeaderSafe("!"), true);
  assert.equal(isHeaderSafe("~"), true);
  for (const value of ["", "a b", "a\tb", "a\nb", "\x7f", "é", "a\u0000"]) {
    assert.equal(isHeaderSafe(value), false, JSON.stringify(value));
  }
});

Deno.test("element() returns the first element's inner XML as it is", () => {
  const xml = "<R><ArnX>no</ArnX><Arn>a&amp;<i/></Arn><Arn>second</Arn></R>";
  assert.equal(element(xml, "Arn"), "a&amp;<i/>");
  assert.equal(element(xml, "Missing"), undefined);
  assert.equal(element("<Arn>never closed", "Arn"), undefined);
  assert.equal(element("<Arn></Arn>", "Arn"), "");
  assert.equal(element("<R>a closing tag alone</Arn>", "Arn"), undefined);
  // The closing tag is looked for after the opening one.
  assert.equal(element("</Arn><Arn>x</Arn>", "Arn"), "x");
});

Deno.test("text() decodes XML's entities and refuses an element holding elements", () => {
  const cases: [string, string | undefined][] = [
    ["plain", "plain"],
    ["&amp;&lt;&gt;&quot;&apos;", "&<>\"'"],
    ["&amp;lt;", "&lt;"],
    ["&#47;&#x2F;&#x2f;", "///"],
    ["&#x1F600;&#128512;", "\u{1F600}\u{1F600}"],
    ["&#x10FFFF;", "\u{10FFFF}"],
    ["&#x110000;&#1114112;", "\ufffd\ufffd"],
    ["&#1234567;", "\ufffd"],
    ["&#12345678;", "&#12345678;"],
    ["&#x1234567;", "&#x1234567;"],
    ["&#X41;&nbsp;&#;&#x;&amp", "&#X41;&nbsp;&#;&#x;&amp"],
    ["a<b/>c", undefined],
    ["<B>x</B>", undefined],
  ];
  for (const [inner, expected] of cases) {
    assert.equal(text(`<r><V>${inner}</V></r>`, "V"), expected, inner);
  }
  assert.equal(text("<r/>", "V"), undefined);
});

Deno.test("unreachable() names the failure as Node does, and keeps only the runtime's last words without an address", () => {
  const fetchFailed = (reason: string) =>
    new TypeError("fetch failed", { cause: new Error(reason) });
  const url = "error sending request for url (https://user:pw@sts.example:8443/p?q=1)";
  const cases: [unknown, string][] = [
    [
      fetchFailed(`${url}: client error (Connect): Connection refused (os error 111)`),
      "connect ECONNREFUSED",
    ],
    [
      fetchFailed(
        `${url}: dns error: failed to lookup address information: Name or service not known`,
      ),
      "connect ENOTFOUND",
    ],
    [fetchFailed(`${url}: dns error: no record found`), "connect ENOTFOUND"],
    [fetchFailed(`${url}: failed to lookup address`), "connect ENOTFOUND"],
    [fetchFailed(`${url}: Name or service not known`), "connect ENOTFOUND"],
    [fetchFailed(`${url}: nodename nor servname provided`), "connect ENOTFOUND"],
    [fetchFailed(`${url}: Connection reset by peer (os error 104)`), "connect ECONNRESET"],
    [fetchFailed(`${url}: connection closed before message completed`), "connect ECONNRESET"],
    [fetchFailed(`${url}: Broken pipe (os error 32)`), "connect ECONNRESET"],
    [fetchFailed(`${url}: incomplete message`), "connect ECONNRESET"],
    [fetchFailed(`${url}: unexpected EOF`), "connect ECONNRESET"],
    [fetchFailed(`${url}: Connection timed out (os error 110)`), "connect ETIMEDOUT"],
    [fetchFailed(`${url}: Network is unreachable (os error 101)`), "connect EHOSTUNREACH"],
    [
      fetchFailed(`${url}: client error (Connect): invalid peer certificate: UnknownIssuer`),
      "The request failed: invalid peer certificate: UnknownIssuer",
    ],
    [
      fetchFailed(`${url}: client error (Connect): handshake failure  \nat line 2 (x): y`),
      "The request failed: handshake failure",
    ],
    [fetchFailed(`${url}: client error (Connect): peer at 10.1.2.3 said no`), "The request failed"],
    [fetchFailed(`${url}: client error (Connect): port :8443 said no`), "The request failed"],
    [fetchFailed(`${url}: client error (Connect): user@host said no`), "The request failed"],
    [fetchFailed(`${url}: client error (Connect): @first`), "The request failed"],
    [fetchFailed(`${url}: client error (Connect): ${"x".repeat(121)}`), "The request failed"],
    [
      fetchFailed(`${url}: client error (Connect): ${"x".repeat(120)}`),
      `The request failed: ${"x".repeat(120)}`,
    ],
    [fetchFailed(`${url}: client error (Connect): a/b`), "The request failed"],
    [fetchFailed(`${url}: client error (Connect): `), "The request failed"],
    [new Error("error reading a body from connection"), "connect ECONNRESET"],
    [new Error("no cause (x): its own last words"), "The request failed: its own last words"],
    ["a thrown string (x): its words", "The request failed: its words"],
    [undefined, "The request failed"],
  ];
  for (const [error, message] of cases) {
    const result = unreachable(error);
    assert.equal(result.message, message, String((error as Error)?.cause ?? error));
    const code = /^connect (E[A-Z]+)$/.exec(message)?.[1];
    assert.equal((result as { code?: string }).code, code);
    for (const what of ["user", "pw", "sts.example", "8443", "?q=1"]) {
      assert.ok(!mentions(result, what), `${what} in ${result.message}`);
    }
  }
});
