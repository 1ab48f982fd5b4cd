// exec --refresh end to end: the real CLI serves renewing credentials on 127.0.0.1 to the real
// AWS CLI and to an AWS SDK for JavaScript script, against a local STS endpoint that issues
// short-lived sessions.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { baseEnv, runCli } from "./support/cli.ts";
import { LocalAws } from "./support/local_aws.ts";
import { accountTrustPolicy } from "./support/policy_document.ts";
import { canRun } from "./support/system_tool.ts";

const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));
const LOOP = fileURLToPath(new URL("./support/caller_loop.ts", import.meta.url));
const hasAws = await canRun("aws");

/**
 * The issue asks for 60-second sessions and a three-minute loop; 12-second sessions (renewed
 * every 6 s) over 30 s show the same thing (several renewals, not one failed call) while
 * keeping the suite fast. The margin stays wide enough for a loaded CI machine, where the AWS CLI
 * can take seconds to start: the served credentials always have at least 6 s left.
 */
const SESSION_SECONDS = 12;
const LOOP_SECONDS = 30;

Deno.test({
  name: "exec --refresh keeps the AWS CLI and an SDK script working across renewals",
  ignore: !hasAws,
  async fn() {
    await using aws = await LocalAws.start({ sessionSeconds: SESSION_SECONDS });
    const home = await Deno.makeTempDir({ prefix: "tbi-refresh-" });
    try {
      await baseEnv(home);
      // Long-lived keys in the default profile, which the SDKs would prefer over any container
      // endpoint: the child must not see them.
      await Deno.writeTextFile(
        `${home}/.aws/credentials`,
        `[default]\naws_access_key_id = ${aws.defaultUser.accessKeyId}\n` +
          `aws_secret_access_key = ${aws.defaultUser.secretAccessKey}\n`,
      );
      const started = Date.now();
      const result = await runCli([
        "exec",
        "--no-confirm",
        "-s",
        "sts:ro",
        "-t",
        "15m",
        "--refresh=1h",
        "--",
        Deno.execPath(),
        "run",
        "-A",
        "--config",
        CONFIG,
        LOOP,
        String(LOOP_SECONDS),
        aws.url,
      ], { env: { ...aws.env(), HOME: home } });
      const elapsed = (Date.now() - started) / 1000;
      assert.equal(result.code, 0, result.stderr);
      const loop = JSON.parse(result.stdout);
      assert.deepEqual(loop.failures, []);
      assert.ok(loop.cli >= 2 && loop.sdk >= 2, result.stdout);
      for (const arn of loop.arns) {
        assert.match(arn, /^arn:aws:sts::123456789012:assumed-role\/timebound-iam-broker\//);
      }
      const sessions = new Set(loop.arns);
      assert.ok(sessions.size >= 3, `the children used ${sessions.size} sessions`);
      // One AssumeRole per renewal (every 6 s), plus the first; none failed, nothing expired.
      const assumes = aws.requests.filter((r) => r.action === "AssumeRole");
      assert.ok(assumes.length >= LOOP_SECONDS / 6, `${assumes.length} AssumeRole calls`);
      assert.ok(assumes.length <= elapsed / 6 + 2, `${assumes.length} AssumeRole in ${elapsed}s`);
      assert.deepEqual(aws.requests.filter((r) => r.status !== 200), []);
      assert.equal(result.stderr, "");
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

/**
 * The child of the next test: prints which credential variables it has, and what the endpoint
 * answers to a right request and to wrong ones (sent over raw TCP, so the Host header is ours).
 */
const PROBE = `
const uri = new URL(Deno.env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"));
const token = Deno.env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN");
async function get(path, headers) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(uri.port) });
  const head = [\`GET \${path} HTTP/1.1\`, "Connection: close", ...headers].join("\\r\\n");
  await conn.write(new TextEncoder().encode(head + "\\r\\n\\r\\n"));
  const text = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
  return { status: Number(text.split(" ")[1]), body: text.split("\\r\\n\\r\\n")[1] };
}
const host = \`Host: 127.0.0.1:\${uri.port}\`;
const good = await get(uri.pathname, [host, \`Authorization: \${token}\`]);
console.log(JSON.stringify({
  port: uri.port,
  tokenLength: token.length,
  names: Object.keys(Deno.env.toObject()).filter((n) => n.startsWith("AWS_")).sort(),
  good: { status: good.status, keys: Object.keys(JSON.parse(good.body)).sort() },
  wrongToken: (await get(uri.pathname, [host, "Authorization: " + "0".repeat(64)])).status,
  noToken: (await get(uri.pathname, [host])).status,
  wrongHost: (await get(uri.pathname, [\`Host: rebind.example:\${uri.port}\`, \`Authorization: \${token}\`])).status,
  wrongPath: (await get("/", [host, \`Authorization: \${token}\`])).status,
}));
`;

Deno.test("exec --refresh gives the child an endpoint and no keys; the port closes with it", async () => {
  await using aws = await LocalAws.start();
  const result = await runCli([
    "exec",
    "--no-confirm",
    "-s",
    "s3:ro",
    "-t",
    "15m",
    "--refresh",
    "--",
    Deno.execPath(),
    "eval",
    "-q",
    PROBE,
  ], { env: aws.env() });
  assert.equal(result.code, 0, result.stderr);
  const probe = JSON.parse(result.stdout);
  assert.deepEqual(probe.names, [
    "AWS_CONFIG_FILE",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_DEFAULT_REGION",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_ENDPOINT_URL_STS",
    "AWS_PAGER",
    "AWS_REGION",
    "AWS_SHARED_CREDENTIALS_FILE",
  ]);
  assert.equal(probe.tokenLength, 64);
  assert.deepEqual(probe.good, {
    status: 200,
    keys: ["AccessKeyId", "Expiration", "SecretAccessKey", "Token"],
  });
  assert.equal(probe.wrongToken, 401);
  assert.equal(probe.noToken, 401);
  assert.equal(probe.wrongHost, 404);
  assert.equal(probe.wrongPath, 404);
  for (const secret of aws.issuedSecrets()) assert.ok(!result.stdout.includes(secret));
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: Number(probe.port) }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("the summary says how --refresh renews, and a bad limit is a usage error", async () => {
  const dry = await runCli(["exec", "--dry-run", "-s", "s3:ro", "-t", "15m", "--refresh=4h"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(
    dry.stderr,
    /\n {2}renewal {2}renews every 10m until \d{4}-\d\d-\d\dT[\d:.]+Z \(4h\), through a local endpoint\n/,
  );
  const bad = await runCli(["exec", "-s", "s3:ro", "-t", "15m", "--refresh=forever", "--", "x"]);
  assert.equal(bad.code, 2);
  assert.equal(
    bad.stderr,
    'error: Invalid --refresh limit "forever": use a duration like 15m, 1h or 1h30m\n' +
      "hint: give how long to keep renewing, e.g. --refresh=8h (default 12h)\n",
  );
});

Deno.test("the summary gives the real renewal interval: half the TTL, at most 5m before expiry", async (t) => {
  for (const [ttl, every] of [["1h", "55m"], ["5m", "2m30s"]]) {
    await t.step(`-t ${ttl}`, async () => {
      const dry = await runCli(["exec", "--dry-run", "-s", "s3:ro", "-t", ttl, "--refresh=4h"]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stderr, new RegExp(`\n {2}renewal {2}renews every ${every} until `));
    });
  }
});

Deno.test("a --refresh limit too short for a single renewal is a usage error", async (t) => {
  const cases: Array<[string, string, string]> = [
    ["1h", "30m", "--refresh=30m is shorter than the TTL (1h): nothing would be renewed"],
    [
      "1h",
      "1h30m",
      "--refresh=1h30m is shorter than the TTL plus one renewal (1h55m): nothing would be renewed",
    ],
  ];
  const commands = [
    ["exec", "--dry-run"],
    ["exec", "--no-confirm"],
    ["shell", "--dry-run"],
    ["shell", "--no-confirm"],
  ];
  for (const [ttl, max, message] of cases) {
    for (const command of commands) {
      await t.step(`${command.join(" ")} -t ${ttl} --refresh=${max}`, async () => {
        const after = command[0] === "exec" ? ["--", "true"] : [];
        const result = await runCli([
          ...command,
          "-s",
          "s3:ro",
          "-t",
          ttl,
          `--refresh=${max}`,
          ...after,
        ]);
        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.stdout, "");
        assert.equal(
          result.stderr,
          `error: ${message}\n` +
            "hint: use --refresh=1h55m or longer (with -t 1h, renewals come every 55m), or drop " +
            "--refresh\n",
        );
      });
    }
  }
  await t.step("a limit that leaves room for one renewal is accepted", async () => {
    const dry = await runCli(["exec", "--dry-run", "-s", "s3:ro", "-t", "1h", "--refresh=1h55m"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, /renews every 55m until \S+ \(1h55m\)/);
  });
});

Deno.test({
  name:
    "exec --refresh on a broker role too old to name anyone: renewals go without identity at once",
  // `sleep` is a POSIX program.
  ignore: Deno.build.os === "windows",
  async fn() {
    await using aws = await LocalAws.start({ sessionSeconds: SESSION_SECONDS });
    aws.addRole({
      roleName: "timebound-iam-broker",
      trustPolicy: accountTrustPolicy(aws.accountId, { identity: false }),
    });
    const home = await Deno.makeTempDir({ prefix: "tbi-refresh-" });
    try {
      await baseEnv(home);
      // Long enough for at least one renewal (every 6 s).
      const result = await runCli(
        ["exec", "--no-confirm", "-s", "sts:ro", "-t", "15m", "--refresh=1h", "--", "sleep", "8"],
        { env: { ...aws.env(), HOME: home } },
      );
      assert.equal(result.code, 0, result.stderr);
      const calls = aws.requests.filter((r) => r.action === "AssumeRole")
        .map((r) => [r.status, r.params.SourceIdentity]);
      // The first grant: as asked, the source identity alone, then without; every renewal
      // after it: one request, without.
      assert.deepEqual(calls.slice(0, 3), [[403, "developer"], [403, "developer"], [
        200,
        undefined,
      ]]);
      assert.ok(calls.length >= 4, JSON.stringify(calls));
      assert.deepEqual(calls.slice(3).filter(([status, name]) => status !== 200 || name), []);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name: "exec --refresh: a role that stops accepting identity mid-run is never followed silently",
  // `sleep` is a POSIX program.
  ignore: Deno.build.os === "windows",
  async fn() {
    await using aws = await LocalAws.start({ sessionSeconds: SESSION_SECONDS });
    const home = await Deno.makeTempDir({ prefix: "tbi-refresh-" });
    try {
      await baseEnv(home);
      const run = runCli(
        ["exec", "--no-confirm", "-s", "sts:ro", "-t", "15m", "--refresh=1h", "--", "sleep", "9"],
        { env: { ...aws.env(), HOME: home } },
      );
      // After the first grant (renewals come every 6 s), the trust policy loses the permissions.
      await new Promise((resolve) => setTimeout(resolve, 4000));
      aws.addRole({
        roleName: "timebound-iam-broker",
        trustPolicy: accountTrustPolicy(aws.accountId, { identity: false }),
      });
      const result = await run;
      assert.equal(result.code, 0, result.stderr);
      const calls = aws.requests.filter((r) => r.action === "AssumeRole")
        .map((r) => [r.status, r.params.SourceIdentity]);
      assert.deepEqual(calls[0], [200, "developer"]);
      // Every renewal asked with identity, was refused, and none went without it.
      assert.ok(calls.length >= 2, JSON.stringify(calls));
      assert.deepEqual(calls.slice(1).filter(([, name]) => name !== "developer"), []);
      assert.match(result.stderr, /and this grant never goes without them/);
      await assert.rejects(
        Deno.stat(`${home}/.config/timebound-iam/config.json`),
        Deno.errors.NotFound,
      );
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});
