// What STS says about expiry is bounded by what was asked: an Expiration past the request's
// time + TTL is clamped, and credentials that have already expired are refused before a child,
// a file or a cache sees them. The local endpoint's clock is moved to make it say so.
import assert from "node:assert/strict";
import { runCli } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";

const PRINT_EXPIRY = [
  "--",
  Deno.execPath(),
  "eval",
  'console.log(Deno.env.get("AWS_CREDENTIAL_EXPIRATION"))',
];

Deno.test("an Expiration later than the request's time + TTL is clamped to it", async () => {
  await using fx = await startFixture({ prefix: "tbi-expiry-late-" });
  // The endpoint's clock runs two hours ahead: its sessions "expire" at 2h15m from now.
  fx.aws.clock.advance(2 * 3600_000);
  const before = Date.now();
  const result = await runCli(
    ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", ...PRINT_EXPIRY],
    { env: fx.env },
  );
  const after = Date.now();
  assert.equal(result.code, 0, result.stderr);
  const said = new Date(fx.aws.sessions().at(-1)!.expiration).getTime();
  assert.ok(said > after + 2 * 3600_000, "the endpoint said more than was asked");
  const expiry = Date.parse(result.stdout.trim());
  assert.ok(expiry <= after + 15 * 60_000, `${result.stdout.trim()} is past 15m from the request`);
  assert.ok(expiry >= before - 1000 + 15 * 60_000, `${result.stdout.trim()} is short of 15m`);
});

Deno.test("credentials that have already expired are refused, never handed on or cached", async (t) => {
  await using fx = await startFixture({ prefix: "tbi-expiry-past-" });
  // Two hours behind: a 15-minute session "expired" an hour and 45 minutes ago.
  fx.aws.clock.advance(-2 * 3600_000);
  const error =
    /^error: AssumeRole returned credentials that expired at \d{4}-\d\d-\d\dT[\d:.]+Z, before they arrived \(now [^)]+\)\nhint: no credentials were handed out; check this machine's clock/;
  await t.step("exec: the child never runs", async () => {
    const marker = `${fx.home}/child-ran`;
    const result = await runCli(
      [
        "exec",
        "--no-confirm",
        "-s",
        "s3:ro",
        "-t",
        "15m",
        "--",
        Deno.execPath(),
        "eval",
        `Deno.writeTextFileSync(${JSON.stringify(marker)}, "ran")`,
      ],
      { env: fx.env },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, error);
    await assert.rejects(() => Deno.stat(marker), Deno.errors.NotFound);
  });
  await t.step("credential-process: nothing printed, nothing cached", async () => {
    const env = { ...fx.env, XDG_CACHE_HOME: `${fx.home}/.cache` };
    const result = await runCli(["credential-process", "-s", "s3:ro", "-t", "15m"], { env });
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, error);
    const cached = await Array.fromAsync(
      Deno.readDir(`${fx.home}/.cache/timebound-iam/credential-process`),
    ).catch(() => []);
    // The cache's lock file may stay; no entry (which would hold credentials) is written.
    assert.deepEqual(cached.map((e) => e.name).filter((name) => !name.endsWith(".lock")), []);
  });
  await t.step("env: no export statements", async () => {
    const result = await runCli(["env", "--no-confirm", "-s", "s3:ro", "-t", "15m"], {
      env: fx.env,
    });
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, "");
  });
});
