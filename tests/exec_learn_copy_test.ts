// exec --masked --learn of copies: a CopyObject's or UploadPartCopy's source, from its signed
// x-amz-copy-source, is learned as a read, and a hostile source cannot widen the line; through
// the real CLI against the local endpoint (tests/support/masked.ts). Linux and macOS only.
import assert from "node:assert/strict";
import { allows } from "./support/iam_simulator.ts";
import { callsRig, cli, ignore, note } from "./support/masked.ts";
import { shQuote } from "./support/pty.ts";
import { loadCatalog } from "../lib/request/catalog.ts";
import { prepareGrant } from "../lib/request/grant_request.ts";

const catalog = await loadCatalog();

Deno.test(
  `exec --masked --learn learns a copy's source from its signed x-amz-copy-source: the line ` +
    `reads the source and writes the target, and a second run with it copies${note}`,
  { ignore },
  async () => {
    await using rig = await callsRig();
    const A = shQuote(cli.path!);
    const cd = `set -e\ncd ${shQuote(rig.home)}`;
    const made = await rig.exec(
      ["-s", "s3:full"],
      `${cd}\n${A} s3 mb s3://copy-target > /dev/null\n` +
        `${A} s3 cp report.csv s3://learn-bucket/other.csv > /dev/null`,
    );
    assert.equal(made.code, 0, made.stderr);
    const file = `${rig.home}/copy-calls.jsonl`;
    const copy = `${A} s3 cp s3://learn-bucket/data/report.csv s3://copy-target/in/q3.csv`;
    const learning = await rig.exec(
      ["--learn", `--calls=${file}`, "-s", "s3:full"],
      `${cd}\n${copy} > /dev/null`,
    );
    assert.equal(learning.code, 0, learning.stderr);
    const line = /^ {2}-s '([^']+)'$/m.exec(learning.stderr)?.[1];
    assert.equal(line, "s3:ro@learn-bucket/data/report.csv,s3:full@copy-target/in/q3.csv");
    assert.doesNotMatch(learning.stderr, /^note:/m);
    const calls = (await Deno.readTextFile(file)).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(calls.find((call) => call.action === "CopyObject"), {
      service: "s3",
      action: "CopyObject",
      resource: "copy-target/in/q3.csv",
      source: "learn-bucket/data/report.csv",
      count: 1,
      refused: false,
    });
    // The line's own policy: exactly the source's read and the target's write, by the simulator.
    const { policy } = await prepareGrant({ scopes: [line!], ttl: "15m" }, {
      catalog,
      target: { account: rig.aws.accountId, region: "us-east-1", partition: "aws" },
    });
    const may = (action: string, object: string) =>
      allows(policy.document, action, `arn:aws:s3:::${object}`, rig.aws.accountId);
    assert.ok(await may("s3:GetObject", "learn-bucket/data/report.csv"));
    assert.ok(await may("s3:PutObject", "copy-target/in/q3.csv"));
    assert.ok(!await may("s3:PutObject", "learn-bucket/data/report.csv"));
    assert.ok(!await may("s3:GetObject", "learn-bucket/other.csv"));
    assert.ok(!await may("s3:PutObject", "copy-target/in/other.csv"));
    // A second run with the line copies; a copy of another source or to another target is
    // refused by the local endpoint's simulator, as AWS would refuse it.
    const again = await rig.exec(
      ["--calls", "-s", line!],
      `${cd}\n${copy} > /dev/null\n` +
        `${A} s3api copy-object --copy-source learn-bucket/other.csv --bucket copy-target ` +
        "--key in/q3.csv > /dev/null 2> other-source.txt && exit 8\n" +
        `${A} s3api copy-object --copy-source learn-bucket/data/report.csv --bucket copy-target ` +
        "--key in/other.csv > /dev/null 2> other-target.txt && exit 9\nexit 0",
    );
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stderr,
      /^ {2}s3 CopyObject copy-target\/in\/q3\.csv 1 from learn-bucket\/data\/report\.csv$/m,
    );
    assert.match(
      again.stderr,
      /^ {2}s3 CopyObject copy-target\/in\/q3\.csv 1 from learn-bucket\/other\.csv refused \(AccessDenied\)$/m,
    );
    assert.match(
      again.stderr,
      /^ {2}s3 CopyObject copy-target\/in\/other\.csv 1 from learn-bucket\/data\/report\.csv refused \(AccessDenied\)$/m,
    );
    for (const name of ["other-source.txt", "other-target.txt"]) {
      assert.match(
        await Deno.readTextFile(`${rig.home}/${name}`),
        /\(AccessDenied\) when calling the CopyObject operation/,
      );
    }
  },
);

Deno.test(
  `exec --masked --learn: an UploadPartCopy's source is learned too, and a hostile source ` +
    `cannot widen the line${note}`,
  { ignore },
  async () => {
    await using rig = await callsRig();
    const A = shQuote(cli.path!);
    const cd = `set -e\ncd ${shQuote(rig.home)}`;
    const learn = async (script: string) => {
      const result = await rig.exec(["--learn", "--calls", "-s", "s3:full"], `${cd}\n${script}`);
      assert.equal(result.code, 0, result.stderr);
      return result.stderr;
    };
    const made = await learn(`${A} s3 mb s3://copy-target > /dev/null`);
    assert.match(made, /^ {2}-s 's3:full@copy-target'$/m);
    const parts = await learn([
      `id=$(${A} s3api create-multipart-upload --bucket copy-target --key parts ` +
      "--query UploadId --output text)",
      `etag=$(${A} s3api upload-part-copy --bucket copy-target --key parts --upload-id "$id" ` +
      "--part-number 1 --copy-source learn-bucket/data/report.csv " +
      "--query CopyPartResult.ETag --output text)",
      `printf '{"Parts":[{"PartNumber":1,"ETag":%s}]}' "$etag" > parts.json`,
      `${A} s3api complete-multipart-upload --bucket copy-target --key parts ` +
      '--upload-id "$id" --multipart-upload file://parts.json > /dev/null',
    ].join("\n"));
    assert.match(
      parts,
      /^ {2}s3 UploadPartCopy copy-target\/parts 1 from learn-bucket\/data\/report\.csv$/m,
    );
    assert.match(
      parts,
      /^ {2}-s 's3:ro@learn-bucket\/data\/report\.csv,s3:full@copy-target\/parts'$/m,
    );
    assert.doesNotMatch(parts, /^note:/m);
    // Sources that do not exist (404: not refused, so learned) and try to reach elsewhere.
    const hostile = await learn([
      "for source in 'learn-bucket/k,s3:full' 'learn-bucket/../copy-target/secret'; do",
      `  ${A} s3api copy-object --copy-source "$source" --bucket copy-target --key h ` +
      "2>/dev/null >/dev/null || true",
      "done",
    ].join("\n"));
    assert.match(hostile, /^ {2}s3 CopyObject copy-target\/h 1 from learn-bucket\/k,s3:full$/m);
    assert.match(
      hostile,
      /^ {2}s3 CopyObject copy-target\/h 1 from learn-bucket\/\.\.\/copy-target\/secret$/m,
    );
    const line = /^ {2}-s '([^']+)'$/m.exec(hostile)?.[1];
    // The comma's key is no scope's: its bucket's read, which covers the other source too.
    assert.equal(line, "s3:ro@learn-bucket,s3:full@copy-target/h");
    const { policy } = await prepareGrant({ scopes: [line!], ttl: "15m" }, {
      catalog,
      target: { account: rig.aws.accountId, region: "us-east-1", partition: "aws" },
    });
    const may = (action: string, object: string) =>
      allows(policy.document, action, `arn:aws:s3:::${object}`, rig.aws.accountId);
    assert.ok(!await may("s3:GetObject", "copy-target/secret"));
    assert.ok(!await may("s3:PutObject", "learn-bucket/k"));
    assert.ok(!await may("s3:PutObject", "copy-target/other"));
    assert.ok(!await may("s3:DeleteBucket", "learn-bucket"));
  },
);
