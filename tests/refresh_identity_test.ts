// exec --refresh and a broker role that refuses SourceIdentity, from the start or from the middle
// of a run: the real CLI against a local STS endpoint that issues 12-second sessions, so that
// renewals come every 6 s.
import assert from "node:assert/strict";
import { startFixture } from "./support/fixture.ts";
import { accountTrustPolicy } from "./support/policy_document.ts";

/** Sessions this short are renewed every 6 s. */
const SESSION_SECONDS = 12;

Deno.test({
  name:
    "exec --refresh on a broker role too old to name anyone: renewals go without identity at once",
  // `sleep` is a POSIX program.
  ignore: Deno.build.os === "windows",
  async fn() {
    await using fx = await startFixture({
      aws: { sessionSeconds: SESSION_SECONDS },
      prefix: "tbi-refresh-",
    });
    const { aws } = fx;
    aws.addRole({
      roleName: "timebound-iam-broker",
      trustPolicy: accountTrustPolicy(aws.accountId, { identity: false }),
    });
    // Long enough for at least one renewal (every 6 s).
    const result = await fx.run(
      ["exec", "--no-confirm", "-s", "sts:ro", "-t", "15m", "--refresh=1h", "--", "sleep", "8"],
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
  },
});

Deno.test({
  name: "exec --refresh: a role that stops accepting identity mid-run is never followed silently",
  // `sleep` is a POSIX program.
  ignore: Deno.build.os === "windows",
  async fn() {
    await using fx = await startFixture({
      aws: { sessionSeconds: SESSION_SECONDS },
      prefix: "tbi-refresh-",
    });
    const { aws, home } = fx;
    const run = fx.run(
      ["exec", "--no-confirm", "-s", "sts:ro", "-t", "15m", "--refresh=1h", "--", "sleep", "9"],
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
  },
});
