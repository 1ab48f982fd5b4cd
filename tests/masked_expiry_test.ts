// exec --masked after the session's end, with and without --refresh: a waiting test, in a file of
// its own (docs/development.md); the real CLI against the local endpoint
// (tests/support/masked.ts). Linux and macOS only.
import assert from "node:assert/strict";
import { cli, ignore, MASKED_EXEC, maskedRig, note } from "./support/masked.ts";
import { shQuote } from "./support/pty.ts";

Deno.test(
  `exec --masked: after the session's end ExpiredToken; with --refresh the same stand-ins keep ` +
    `working${note}`,
  { ignore },
  async (t) => {
    const A = shQuote(cli.path!);
    // botocore reads AWS_CREDENTIAL_EXPIRATION and, once it has passed, refuses to call at all
    // ("the refreshed credentials are still expired"); a client that does not read it calls,
    // and the proxy answers. The calls here leave it out, to see the proxy's answer.
    const call = `env -u AWS_CREDENTIAL_EXPIRATION ${A} sts get-caller-identity ` +
      "--query Arn --output text";
    await t.step("without --refresh", async () => {
      // A session long enough for one call on a loaded machine, then a wait past its end.
      await using rig = await maskedRig({ sessionSeconds: 12 });
      const result = await rig.run([
        ...MASKED_EXEC,
        "-s",
        "sts:ro",
        "--",
        "sh",
        "-c",
        `${call} && sleep 13 && ${call}`,
      ]);
      assert.equal(result.code, 255);
      assert.match(result.stdout, /assumed-role\/timebound-iam-broker\//);
      assert.match(
        result.stderr,
        /An error occurred \(ExpiredToken\) when calling the GetCallerIdentity operation: The security token included in the request is expired/,
      );
    });
    await t.step("with --refresh", async () => {
      await using rig = await maskedRig({ sessionSeconds: 4 });
      const before = rig.aws.requests.filter((r) => r.action === "AssumeRole").length;
      const script = `for i in 1 2 3 4; do ${call} || exit 1; echo "$AWS_ACCESS_KEY_ID"; ` +
        "sleep 2; done";
      const result = await rig.run([
        ...MASKED_EXEC,
        "--refresh=1h",
        "-s",
        "sts:ro",
        "--",
        "sh",
        "-c",
        script,
      ]);
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.trim().split("\n");
      const arns = lines.filter((l) => l.startsWith("arn:"));
      const keys = new Set(lines.filter((l) => l.startsWith("ASIA")));
      assert.equal(arns.length, 4);
      assert.equal(keys.size, 1, "one pair of stand-ins throughout");
      assert.ok(new Set(arns).size >= 2, "calls ran as renewed sessions");
      const renewals = rig.aws.requests.filter((r) => r.action === "AssumeRole").length - before;
      assert.ok(renewals >= 3, `${renewals} AssumeRole calls`);
    });
  },
);
