// exec --masked --calls end to end: a request that names the child's stand-in key id but is not
// signed with its stand-in secret (a wrong secret, a wrong token, a made-up signature: what anyone
// who read the key id in a debug log can send) is refused, and only counted: never listed with the
// action or resource it names. The real CLI against the local endpoint (tests/support/masked.ts).
// Linux and macOS only.
import assert from "node:assert/strict";
import { cli, ignore, MASKED_EXEC, maskedRig, note } from "./support/masked.ts";
import { shQuote } from "./support/pty.ts";
import { canRun } from "./support/system_tool.ts";

/** One call of the child's own, then three signed with something else than its stand-ins. */
function plantingScript(home: string): string {
  const A = shQuote(cli.path!);
  const forged = `-H "Authorization: AWS4-HMAC-SHA256 ` +
    `Credential=$AWS_ACCESS_KEY_ID/$(date -u +%Y%m%d)/us-east-1/s3/aws4_request, ` +
    `SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}" ` +
    `-H "X-Amz-Date: $(date -u +%Y%m%dT%H%M%SZ)" -H "X-Amz-Security-Token: $AWS_SESSION_TOKEN"`;
  return [
    `cd ${shQuote(home)}`,
    `${A} s3api list-buckets > /dev/null || exit 9`,
    `AWS_SECRET_ACCESS_KEY=planted-secret ${A} s3api delete-bucket --bucket planted-bucket ` +
    "2> secret.err && exit 9",
    `AWS_SESSION_TOKEN=planted-token ${A} dynamodb delete-table --table-name PlantedTable ` +
    "2> token.err && exit 9",
    `curl -s -X DELETE ${forged} "$AWS_ENDPOINT_URL/planted-raw/key" > raw.txt`,
    "exit 0",
  ].join("\n");
}

Deno.test(
  `exec --masked --calls lists only calls signed with the stand-in secret, and counts the ` +
    `refused requests that only named its key id${note}`,
  { ignore: ignore || !(await canRun("curl")) },
  async (t) => {
    await using rig = await maskedRig();
    const read = (name: string) => Deno.readTextFile(`${rig.home}/${name}`);
    const flags = ["-s", "s3:full,dynamodb:full", "--", "sh", "-c", plantingScript(rig.home)];
    const reached = () => rig.aws.requests.filter((r) => /planted/i.test(JSON.stringify(r)));
    await t.step("on stderr", async () => {
      const result = await rig.run([...MASKED_EXEC, "--calls", ...flags]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        await read("secret.err"),
        /\(SignatureDoesNotMatch\) when calling the DeleteBucket/,
      );
      assert.match(
        await read("token.err"),
        /\(UnrecognizedClientException\) when calling the DeleteTable/,
      );
      assert.match(await read("raw.txt"), /<Code>SignatureDoesNotMatch<\/Code>/);
      assert.equal(
        result.stderr.slice(result.stderr.indexOf("calls: ")),
        [
          "calls: 1 (1 distinct)",
          "  s3 ListBuckets - 1",
          "  (3 requests not verified as signed with the stand-in key were refused, not listed)",
          "",
        ].join("\n"),
      );
      assert.doesNotMatch(result.stderr, /planted/i);
    });
    await t.step(
      "in --calls=FILE: no line of theirs, and their count on the last line",
      async () => {
        const file = `${rig.home}/calls.jsonl`;
        const result = await rig.run([...MASKED_EXEC, `--calls=${file}`, ...flags]);
        assert.equal(result.code, 0, result.stderr);
        assert.match(
          result.stderr,
          /calls: 1 \(1 distinct\) written to .*calls\.jsonl\n {2}\(3 requests not verified as signed with the stand-in key were refused, not listed\)\n$/,
        );
        const text = await read("calls.jsonl");
        assert.doesNotMatch(text, /planted/i);
        assert.deepEqual(text.trim().split("\n").map((line) => JSON.parse(line)), [
          { service: "s3", action: "ListBuckets", count: 1, refused: false },
          { unverified_requests_refused: 3 },
        ]);
      },
    );
    assert.deepEqual(reached(), [], "nothing planted reached the endpoint");
  },
);
