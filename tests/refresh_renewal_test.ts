// exec --refresh over many renewals: the real CLI serves renewing credentials on 127.0.0.1 to the
// real AWS CLI and to an AWS SDK for JavaScript script for 30 s, against a local STS endpoint
// that issues 12-second sessions (its own file: it runs beside the others under --parallel).
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startFixture } from "./support/fixture.ts";
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
    await using fx = await startFixture({
      aws: { sessionSeconds: SESSION_SECONDS },
      prefix: "tbi-refresh-",
    });
    const { aws, home } = fx;
    // Long-lived keys in the default profile, which the SDKs would prefer over any container
    // endpoint: the child must not see them.
    await Deno.writeTextFile(
      `${home}/.aws/credentials`,
      `[default]\naws_access_key_id = ${aws.defaultUser.accessKeyId}\n` +
        `aws_secret_access_key = ${aws.defaultUser.secretAccessKey}\n`,
    );
    const started = Date.now();
    const result = await fx.run([
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
    ]);
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
  },
});
