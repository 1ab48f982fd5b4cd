// exec --masked --calls end to end: the real CLI against the local endpoint, which stands in for
// AWS behind the proxy and evaluates each session's policy with an IAM simulator, so a call
// outside the scopes is refused as AWS would refuse it (tests/support/masked.ts). Linux and macOS
// only. --learn: exec_learn_test.ts, exec_learn_copy_test.ts; names: exec_calls_names_test.ts.
import assert from "node:assert/strict";
import { callsRig, cli, ignore, note } from "./support/masked.ts";
import { shQuote } from "./support/pty.ts";

/** Reads the object twice, the item once, and tries to write an object (refused by s3:ro). */
function readScript(home: string): string {
  const A = shQuote(cli.path!);
  return [
    `cd ${shQuote(home)}`,
    `${A} s3api get-object --bucket learn-bucket --key data/report.csv out.csv > /dev/null`,
    `${A} s3api get-object --bucket learn-bucket --key data/report.csv out.csv > /dev/null`,
    `${A} dynamodb get-item --table-name Orders --key '{"id":{"S":"o-1"}}' > /dev/null`,
    `${A} s3api put-object --bucket learn-bucket --key x.txt --body out.csv 2> refused.txt ` +
    "> /dev/null && exit 9",
    "exit 0",
  ].join("\n");
}

Deno.test(
  `exec --masked --calls lists exactly the calls the script made, refused ones marked${note}`,
  { ignore },
  async (t) => {
    await using rig = await callsRig();
    await t.step("on stderr", async () => {
      const result = await rig.exec(["--calls", "-s", "s3:ro,dynamodb:ro"], readScript(rig.home));
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        await Deno.readTextFile(`${rig.home}/refused.txt`),
        /\(AccessDenied\) when calling the PutObject operation/,
      );
      const listed = result.stderr.slice(result.stderr.indexOf("calls: "));
      assert.equal(
        listed,
        [
          "calls: 4 (3 distinct)",
          "  s3 GetObject learn-bucket/data/report.csv 2",
          "  dynamodb GetItem Orders 1",
          "  s3 PutObject learn-bucket/x.txt 1 refused (AccessDenied)",
          "",
        ].join("\n"),
      );
    });
    await t.step("as JSON lines in a new 0600 file", async () => {
      const file = `${rig.home}/calls.jsonl`;
      const result = await rig.exec(
        [`--calls=${file}`, "-s", "s3:ro,dynamodb:ro"],
        readScript(rig.home),
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /calls: 4 \(3 distinct\) written to .*calls\.jsonl\n/);
      const lines = (await Deno.readTextFile(file)).trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(lines, [
        {
          service: "s3",
          action: "GetObject",
          resource: "learn-bucket/data/report.csv",
          count: 2,
          refused: false,
        },
        { service: "dynamodb", action: "GetItem", resource: "Orders", count: 1, refused: false },
        {
          service: "s3",
          action: "PutObject",
          resource: "learn-bucket/x.txt",
          count: 1,
          refused: true,
          error_code: "AccessDenied",
        },
      ]);
      assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    });
    await t.step(
      "a FILE it cannot create is a usage error, before anything is granted",
      async () => {
        const home = rig.home;
        await Deno.writeTextFile(`${home}/plain`, "a file\n");
        await Deno.symlink(`${home}/nowhere`, `${home}/dangling`);
        const cases = [
          [`${home}/calls.jsonl`, "it exists already"],
          [`${home}/nowhere/calls.jsonl`, "its directory is missing"],
          [`${home}/dangling/calls.jsonl`, "its directory is missing"],
          [`${home}/plain/calls.jsonl`, "a part of its path is a file, not a directory"],
          [`${home}/plain/deeper/calls.jsonl`, "a part of its path is a file, not a directory"],
        ];
        for (const [file, reason] of cases) {
          const before = rig.aws.requests.filter((r) => r.action === "AssumeRole").length;
          const result = await rig.exec([`--calls=${file}`, "-s", "s3:ro"], "exit 0");
          assert.equal(result.code, 2, result.stderr);
          assert.equal(
            result.stderr,
            `error: Cannot write the calls to "${file}": ${reason}\n` +
              "hint: name a new file: --calls=FILE creates it 0600 and never overwrites one\n",
          );
          assert.equal(rig.aws.requests.filter((r) => r.action === "AssumeRole").length, before);
        }
        assert.equal(await Deno.readTextFile(`${home}/plain`), "a file\n");
      },
    );
    await t.step("without --masked: a usage error", async () => {
      const result = await rig.exec(["--no-masked", "--calls", "-s", "s3:ro"], "exit 0");
      assert.equal(result.code, 2);
      assert.match(result.stderr, /^error: --calls needs --masked: only the signing proxy sees/m);
    });
  },
);
