// MFA sessions end to end: mfa login's session serves the grants after it, for as long as
// --mfa-session-ttl says, and one that expired or that AWS rejects is asked for again; the real
// CLI against the local endpoint, whose broker role trusts the account only with MFA
// (tests/support/mfa_fixture.ts).
import assert from "node:assert/strict";
import { runCli } from "./support/cli.ts";
import { callerArn, calls, GRANT, startMfaFixture } from "./support/mfa_fixture.ts";

Deno.test("mfa login once, then five grants with no code and exactly one GetSessionToken", async () => {
  await using fx = await startMfaFixture();
  const { aws, env, serial, home } = fx;
  const login = await runCli(
    ["mfa", "login", "--mfa-serial", serial, "--mfa-code", aws.mfaCode(serial)],
    { env },
  );
  fx.assertNoSecret(login.stdout, login.stderr);
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stderr, new RegExp(`^MFA session for ${serial} cached until `));
  for (let i = 0; i < 5; i++) {
    const grant = await runCli([...GRANT, "--mfa-serial", serial, "--", ...callerArn(aws)], {
      env,
    });
    fx.assertNoSecret(grant.stdout, grant.stderr);
    assert.equal(grant.code, 0, grant.stderr);
    assert.equal(grant.stderr, "");
  }
  assert.equal(calls(aws, "GetSessionToken").length, 1);
  assert.equal(calls(aws, "AssumeRole").length, 5);
  // The cache file is private.
  const dir = `${home}/.cache/timebound-iam/mfa-sessions`;
  const files = [...Deno.readDirSync(dir)];
  assert.equal(files.length, 1);
  if (Deno.build.os !== "windows") {
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700);
    assert.equal(Deno.statSync(`${dir}/${files[0].name}`).mode! & 0o777, 0o600);
  }
  const status = await runCli(["mfa", "status"], { env });
  fx.assertNoSecret(status.stdout, status.stderr);
  assert.equal(status.code, 0, status.stderr);
  assert.match(
    status.stdout,
    new RegExp(`^default\\s+${serial}\\s+until \\S+ \\S+ UTC \\(\\w+ left\\)\\n$`),
  );
  const logout = await runCli(["mfa", "logout"], { env });
  assert.equal(logout.code, 0, logout.stderr);
  assert.equal(logout.stderr, `Forgot the MFA session of profile "default" (${serial})\n`);
  assert.equal([...Deno.readDirSync(dir)].length, 0);
  const after = await runCli(["mfa", "status"], { env });
  assert.equal(after.stdout, "");
  assert.equal(after.stderr, "No cached MFA sessions\n");
});

Deno.test("--mfa-session-ttl outside 15m..36h is refused before any AWS call, by every command that takes it", async (t) => {
  await using fx = await startMfaFixture();
  const { aws, env, serial } = fx;
  const code = aws.mfaCode(serial);
  const commands: Array<[string[], string[]]> = [
    [["mfa", "login"], []],
    [["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m"], ["--", "true"]],
    [["exec", "--dry-run", "-s", "s3:ro", "-t", "15m"], ["--", "true"]],
    [["env", "--no-confirm", "-s", "s3:ro", "-t", "15m"], []],
    [["shell", "--no-confirm", "-s", "s3:ro", "-t", "15m"], []],
  ];
  const cases: Array<[string, string]> = [
    ["10m", "--mfa-session-ttl 10m is under AWS's minimum of 15m for GetSessionToken"],
    ["14m59s", "--mfa-session-ttl 14m59s is under AWS's minimum of 15m for GetSessionToken"],
    ["36h1s", "--mfa-session-ttl 36h1s is over AWS's maximum of 36h for GetSessionToken"],
    ["37h", "--mfa-session-ttl 37h is over AWS's maximum of 36h for GetSessionToken"],
  ];
  for (const [command, after] of commands) {
    for (const [ttl, message] of cases) {
      await t.step(`${command.join(" ")} --mfa-session-ttl ${ttl}`, async () => {
        const args = [...command, "--mfa-serial", serial, "--mfa-code", code];
        const result = await runCli([...args, "--mfa-session-ttl", ttl, ...after], { env });
        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.stdout, "");
        assert.equal(
          result.stderr,
          `error: ${message}\nhint: use --mfa-session-ttl between 15m and 36h (default 12h)\n`,
        );
      });
    }
  }
  assert.deepEqual(aws.requests, []);
});

Deno.test("--mfa-session-ttl 15m and 36h, the two ends, start an MFA session of that length", async (t) => {
  for (const [ttl, seconds] of [["15m", "900"], ["36h", "129600"]]) {
    await t.step(ttl, async () => {
      await using fx = await startMfaFixture();
      const { aws, env, serial } = fx;
      const login = await runCli(
        ["mfa", "login", "--mfa-serial", serial, "--mfa-code", aws.mfaCode(serial)]
          .concat(["--mfa-session-ttl", ttl]),
        { env },
      );
      fx.assertNoSecret(login.stdout, login.stderr);
      assert.equal(login.code, 0, login.stderr);
      assert.match(login.stderr, new RegExp(`^MFA session for ${serial} cached until `));
      assert.equal(calls(aws, "GetSessionToken")[0].params.DurationSeconds, seconds);
    });
  }
});

Deno.test("an expired cached session asks again; one AWS rejects is dropped and asked for once", async (t) => {
  await using fx = await startMfaFixture();
  const { aws, env, serial } = fx;
  const login = await runCli(
    ["mfa", "login", "--mfa-serial", serial, "--mfa-code", aws.mfaCode(serial)],
    { env },
  );
  assert.equal(login.code, 0, login.stderr);
  await t.step("rejected by AWS: dropped, then a code is needed", async () => {
    aws.failNext("GetCallerIdentity", "ExpiredToken");
    const again = await runCli([...GRANT, "--mfa-serial", serial, "--", "true"], { env });
    fx.assertNoSecret(again.stdout, again.stderr);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^error: An MFA code for .* is needed/);
    const status = await runCli(["mfa", "status"], { env });
    assert.equal(status.stderr, "No cached MFA sessions\n");
  });
  await t.step("expired: the next grant needs a code, and takes one", async () => {
    const relogin = await runCli(
      ["mfa", "login", "--mfa-serial", serial, "--mfa-code", aws.mfaCode(serial)],
      { env },
    );
    assert.equal(relogin.code, 0, relogin.stderr);
    aws.clock.advance(13 * 3600_000);
    const needs = await runCli([...GRANT, "--mfa-serial", serial, "--", "true"], { env });
    fx.assertNoSecret(needs.stdout, needs.stderr);
    assert.equal(needs.code, 2);
    assert.match(needs.stderr, /^error: An MFA code for .* is needed/);
    const given = await runCli(
      [...GRANT, "--mfa-serial", serial, "--mfa-code", aws.mfaCode(serial), "--", "true"],
      { env },
    );
    fx.assertNoSecret(given.stdout, given.stderr);
    assert.equal(given.code, 0, given.stderr);
  });
});
