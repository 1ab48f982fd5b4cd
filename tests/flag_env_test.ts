// Flags from the environment: every flag of the granting commands has a TIMEBOUND_IAM_<FLAG>
// variable, the flag wins, and --help names the variable.
import assert from "node:assert/strict";
import { runCli } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";

const printNothing = [Deno.execPath(), "eval", "-q", ""];

Deno.test("exec takes its scope, TTL and --no-confirm from TIMEBOUND_IAM_ variables", async () => {
  await using fx = await startFixture();
  const { aws } = fx;
  const result = await fx.run(["exec", "--", ...printNothing], {
    env: {
      TIMEBOUND_IAM_SCOPE: "s3:ro",
      TIMEBOUND_IAM_TTL: "30m",
      TIMEBOUND_IAM_NO_CONFIRM: "1",
    },
  });
  assert.equal(result.code, 0, result.stderr);
  const calls = aws.requests.filter((r) => r.action === "AssumeRole");
  assert.equal(calls.length, 1);
  assert.equal(calls[0].params.DurationSeconds, "1800");
  const policy = await runCli(["policy", "-s", "s3:ro"]);
  assert.equal(calls[0].params.Policy, JSON.stringify(JSON.parse(policy.stdout)));
});

Deno.test("a flag on the command line wins over its variable", async () => {
  await using fx = await startFixture();
  const { aws } = fx;
  const result = await fx.run(["exec", "-t", "15m", "-s", "sqs:full", "--", ...printNothing], {
    env: {
      TIMEBOUND_IAM_SCOPE: "s3:ro",
      TIMEBOUND_IAM_TTL: "30m",
      TIMEBOUND_IAM_NO_CONFIRM: "true",
    },
  });
  assert.equal(result.code, 0, result.stderr);
  const [call] = aws.requests.filter((r) => r.action === "AssumeRole");
  assert.equal(call.params.DurationSeconds, "900");
  assert.deepEqual(JSON.parse(call.params.Policy).Statement[0].Action, ["sqs:*"]);
});

Deno.test("an on/off variable set to anything but 1 or true is a usage error", async () => {
  for (const value of ["0", "no", ""]) {
    const result = await runCli(["exec", "-s", "s3:ro", "-t", "15m", "--", "true"], {
      env: { TIMEBOUND_IAM_NO_CONFIRM: value },
    });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(
      result.stderr,
      `error: Invalid TIMEBOUND_IAM_NO_CONFIRM "${value}": set it to 1 to turn the flag on\n` +
        "hint: or unset it: unset TIMEBOUND_IAM_NO_CONFIRM\n",
    );
  }
});

Deno.test("--help names the variable of every granting flag", async () => {
  for (const command of ["exec", "env"]) {
    const result = await runCli([command, "--help"]);
    assert.equal(result.code, 0);
    const help = result.stdout.replace(/\s+/g, " ");
    for (const flag of ["SCOPE", "TTL", "PROFILE", "REGION", "DRY_RUN", "NO_CONFIRM"]) {
      assert.ok(help.includes(`env: TIMEBOUND_IAM_${flag})`), `${command} --help: ${flag}`);
    }
    assert.ok(help.includes("TIMEBOUND_IAM_ROLE_ARN"), `${command} --help: ROLE_ARN`);
  }
});
