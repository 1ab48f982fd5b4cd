// exec --refresh end to end: the child's endpoint and its refusals, the summary and the limits.
// Renewals over time are in refresh_renewal_test.ts, and a role refusing SourceIdentity in
// refresh_identity_test.ts.
import assert from "node:assert/strict";
import { runCli } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";

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
  await using fx = await startFixture({ prefix: "tbi-refresh-" });
  const { aws } = fx;
  const result = await fx.run([
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
  ]);
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
    /\n {2}renewal {2}renews every 10m until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(4h\), through a local endpoint\n/,
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
    assert.match(dry.stderr, /renews every 55m until \S+ \S+ UTC \(1h55m\)/);
  });
});
