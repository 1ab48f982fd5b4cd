/**
 * What the signing proxy of `--masked` adds to a call, on loopback: the same signed STS
 * `GetCallerIdentity` sent straight to the local endpoint with the session's keys, and through
 * the proxy with the stand-ins, the two taking turns, one at a time (median and p99 of each, and
 * the difference); then 200 calls at once through one proxy, counting the answers that came back
 * right (none may be lost). Requests are signed here with the product's own SigV4 code, so that
 * the timings are the HTTP round trips, not an SDK's.
 *
 * The endpoint and the proxy run in a process of their own, as timebound-iam runs beside its
 * child: the client's own work is not counted against the proxy.
 *
 * Run: `deno task bench:proxy` (300 rounds; `-- --runs 1000` for more).
 *
 * @module
 */

import { startSigningProxy } from "../lib/delivery/signing_proxy.ts";
import { sha256Hex, signRequest } from "../lib/core/sigv4.ts";
import { LocalAws } from "../tests/support/local_aws.ts";

const runsFlag = Deno.args.indexOf("--runs");
const RUNS = runsFlag >= 0 ? Number(Deno.args[runsFlag + 1]) : 300;
const CONCURRENT = 200;
const BODY = "Action=GetCallerIdentity&Version=2011-06-15";

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** A SigV4-signed GetCallerIdentity for `base` with `keys`, as an SDK would send it. */
function signedRequest(base: string, keys: Keys): Request {
  const url = new URL(base);
  const headers = new Headers({
    host: url.host,
    "content-type": "application/x-www-form-urlencoded; charset=utf-8",
  });
  signRequest(
    { method: "POST", path: "/", query: "", headers, payloadHash: sha256Hex(BODY) },
    { keys, region: "us-east-1", service: "sts", time: new Date() },
  );
  headers.delete("host");
  return new Request(url, { method: "POST", headers, body: BODY });
}

async function call(base: string, keys: Keys): Promise<{ ms: number; ok: boolean }> {
  const start = performance.now();
  const response = await fetch(signedRequest(base, keys));
  const text = await response.text();
  return { ms: performance.now() - start, ok: response.ok && text.includes("<Arn>") };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const ms = (value: number) => `${value.toFixed(2)} ms`;

/** Writes one line on stdout (a benchmark's output is its report). */
function say(line: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`));
}

/** What the servers' process tells the bench: where to call, and with which keys. */
interface Servers {
  endpoint: string;
  proxy: string;
  real: Keys;
  standIn: Keys;
}

/**
 * The servers' process: the local endpoint and the proxy, as timebound-iam runs it beside a
 * client in another process. Prints where they listen, serves until stdin closes, then prints how
 * many calls the grant and the endpoint saw.
 */
async function serve(): Promise<void> {
  await using aws = await LocalAws.start();
  const session = aws.addAssumedRoleCaller({ roleName: "timebound-iam-broker" });
  const real: Keys = { ...session, sessionToken: session.sessionToken! };
  const proxy = await startSigningProxy({ env: { AWS_ENDPOINT_URL: aws.url } });
  try {
    const grant = proxy.addGrant({ session: () => ({ ...real, expiration: session.expiration! }) });
    const servers: Servers = { endpoint: aws.url, proxy: proxy.url, real, standIn: grant.standIn };
    say(JSON.stringify(servers));
    for await (const _ of Deno.stdin.readable) { /* until the bench closes stdin */ }
    say(JSON.stringify({ calls: grant.callCount, reached: aws.requests.length }));
  } finally {
    await proxy.close();
  }
}

async function measure(): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "-P=test", import.meta.filename!, "--servers"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const nextLine = async () => {
    while (!buffered.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("the servers' process ended");
      buffered += value;
    }
    const line = buffered.slice(0, buffered.indexOf("\n"));
    buffered = buffered.slice(line.length + 1);
    return JSON.parse(line);
  };
  const servers: Servers = await nextLine();
  // Warm both paths (connections, JIT) before timing.
  for (let i = 0; i < 30; i++) {
    await call(servers.endpoint, servers.real);
    await call(servers.proxy, servers.standIn);
  }
  const direct: number[] = [];
  const proxied: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const order = i % 2 === 0 ? ["direct", "proxy"] : ["proxy", "direct"];
    for (const which of order) {
      const result = which === "direct"
        ? await call(servers.endpoint, servers.real)
        : await call(servers.proxy, servers.standIn);
      if (!result.ok) throw new Error(`a ${which} call failed`);
      (which === "direct" ? direct : proxied).push(result.ms);
    }
  }
  direct.sort((a, b) => a - b);
  proxied.sort((a, b) => a - b);
  const row = (name: string, values: number[]) =>
    `${name.padEnd(8)} median ${ms(percentile(values, 50))}  p99 ${ms(percentile(values, 99))}`;
  say(
    `GetCallerIdentity on loopback, ${RUNS} calls each, one at a time (client in this process, ` +
      `endpoint and proxy in another):`,
  );
  say(row("direct", direct));
  say(row("proxy", proxied));
  say(
    `added    median ${ms(percentile(proxied, 50) - percentile(direct, 50))}  ` +
      `p99 ${ms(percentile(proxied, 99) - percentile(direct, 99))}`,
  );
  const started = performance.now();
  const results = await Promise.all(
    Array.from(
      { length: CONCURRENT },
      () => call(servers.proxy, servers.standIn).catch(() => undefined),
    ),
  );
  const wall = performance.now() - started;
  const right = results.filter((r) => r?.ok).length;
  await child.stdin.close();
  const counts = await nextLine();
  await lines.cancel();
  await child.status;
  const expected = 30 + RUNS + CONCURRENT;
  say(
    `${CONCURRENT} calls at once through one proxy: ${right} answered right, ` +
      `${CONCURRENT - right} lost, in ${ms(wall)}; the grant counted ${counts.calls} calls ` +
      `(${expected} expected), the endpoint ${counts.reached} (${expected + 30 + RUNS} expected)`,
  );
  if (right !== CONCURRENT || counts.calls !== expected) Deno.exitCode = 1;
}

if (Deno.args.includes("--servers")) await serve();
else await measure();
