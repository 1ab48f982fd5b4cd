// Grants shorter than STS's 15-minute floor: STS is asked for 15 minutes, the session policy
// denies everything after the deadline, and everything that reports an expiry reports the
// deadline. The real CLI against the local STS endpoint.
import assert from "node:assert/strict";
import { runCli } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";

const DENO_PRINT_EXPIRY = [
  Deno.execPath(),
  "eval",
  "-q",
  "console.log(Deno.env.get('AWS_CREDENTIAL_EXPIRATION'))",
];

/** The deadline in a policy's Deny statement, or undefined. */
function policyDeadline(packed: string): string | undefined {
  const policy = JSON.parse(packed);
  const deny = policy.Statement.find((s: { Effect: string }) => s.Effect === "Deny");
  return deny?.Condition?.DateGreaterThan?.["aws:CurrentTime"];
}

Deno.test("exec -t 5m asks STS for 15m and hands the child the 5-minute deadline", async () => {
  await using fx = await startFixture({ prefix: "tbi-short-" });
  const { aws } = fx;
  const before = Date.now();
  const result = await fx.run(
    ["exec", "--no-confirm", "-s", "s3:ro", "-t", "5m", "--", ...DENO_PRINT_EXPIRY],
  );
  const after = Date.now();
  assert.equal(result.code, 0, result.stderr);
  const [call] = aws.requests.filter((r) => r.action === "AssumeRole");
  assert.equal(call.params.DurationSeconds, "900");
  const deadline = policyDeadline(call.params.Policy);
  assert.match(deadline ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const expiry = new Date(result.stdout.trim());
  assert.equal(expiry.getTime(), new Date(deadline!).getTime());
  // The deadline is 5 minutes from the request, to the second; STS's expiry is 15.
  assert.ok(expiry.getTime() >= Math.floor(before / 1000) * 1000 + 300_000);
  assert.ok(expiry.getTime() <= after + 300_000);
  const session = aws.sessions().at(-1)!;
  assert.ok(session.expiration.getTime() - expiry.getTime() >= 599_000);
});

Deno.test("a grant of 15m or more has no deadline statement", async () => {
  const result = await runCli(["policy", "-s", "s3:ro", "-t", "15m"]);
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stdout, /Deny|aws:CurrentTime/);
});

Deno.test("policy -t 1m shows the Deny after the deadline; the summary shows the deadline", async () => {
  const result = await runCli(["policy", "-s", "s3:ro", "-t", "1m"]);
  assert.equal(result.code, 0, result.stderr);
  const deadline = policyDeadline(JSON.stringify(JSON.parse(result.stdout)));
  assert.ok(deadline, result.stdout);
  const dry = await runCli(["exec", "--dry-run", "-s", "s3:ro", "-t", "2m", "--", "true"]);
  assert.equal(dry.code, 0, dry.stderr);
  const until = /ttl +2m, until (\S+ \S+) UTC/.exec(dry.stderr)?.[1];
  assert.ok(until, dry.stderr);
  const shown = new Date(`${until.replace(" ", "T")}Z`).getTime();
  assert.ok(Math.abs(shown - (Date.now() + 120_000)) < 30_000, dry.stderr);
  const policy = /session policy:\n([\s\S]*?\n\})/.exec(dry.stderr)![1];
  assert.equal(new Date(policyDeadline(policy)!).getTime(), shown);
});
