// exec --masked --calls and --learn end to end: the real CLI against the local endpoint, which
// stands in for AWS behind the proxy and, here, evaluates each session's policy with an IAM
// simulator (@cloud-copilot/iam-simulate, AGPL: tests only), so a call outside the scopes is
// refused as AWS would refuse it. The child's client is the AWS CLI v1 that endpointAwareAws
// finds on PATH (it honours AWS_ENDPOINT_URL; Debian's /usr/bin/aws 2.9.19 does not), called by
// its full path from sh scripts: Linux and macOS only.
import assert from "node:assert/strict";
import { baseEnv, runCli } from "./support/cli.ts";
import { endpointAwareAws } from "./support/aws_cli.ts";
import { LocalAws } from "./support/local_aws.ts";
import { allows, IAM_ACTION, simulated } from "./support/iam_simulator.ts";
import { loadCatalog } from "../lib/request/catalog.ts";
import { prepareGrant } from "../lib/request/grant_request.ts";

const cli = await endpointAwareAws();
const ignore = cli.path === undefined || Deno.build.os === "windows";
const note = cli.path === undefined ? ` (ignored: ${cli.version})` : "";
const catalog = await loadCatalog();

function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** A local endpoint holding a bucket with one object and a table with one item. */
async function callsRig() {
  const aws = await LocalAws.start({ sessionPolicy: simulated });
  const home = await Deno.makeTempDir({ prefix: "tbi-calls-" });
  await baseEnv(home);
  const env = { HOME: home, ...aws.env(), AWS_ENDPOINT_URL: aws.url };
  const A = shQuote(cli.path!);
  const setup = await runCli([
    "exec",
    "--no-confirm",
    "--masked",
    "-t",
    "15m",
    "-s",
    "s3:full,dynamodb:full",
    "--",
    "sh",
    "-c",
    [
      "set -e",
      `cd ${shQuote(home)}`,
      "printf 'a,b\\n1,2\\n' > report.csv",
      `${A} s3 mb s3://learn-bucket > /dev/null`,
      `${A} s3api put-object --bucket learn-bucket --key data/report.csv --body report.csv ` +
      "> /dev/null",
      `${A} dynamodb create-table --table-name Orders --billing-mode PAY_PER_REQUEST ` +
      `--attribute-definitions AttributeName=id,AttributeType=S ` +
      `--key-schema AttributeName=id,KeyType=HASH > /dev/null`,
      `${A} dynamodb put-item --table-name Orders --item '{"id":{"S":"o-1"}}'`,
    ].join("\n"),
  ], { env });
  assert.equal(setup.code, 0, setup.stderr);
  return {
    aws,
    home,
    env,
    /** Runs `exec --masked FLAGS -- sh -c SCRIPT`. */
    exec(flags: string[], script: string) {
      return runCli(
        ["exec", "--no-confirm", "--masked", "-t", "15m", ...flags, "--", "sh", "-c", script],
        { env },
      );
    },
    async [Symbol.asyncDispose]() {
      await aws.close();
      await Deno.remove(home, { recursive: true });
    },
  };
}

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
          [`${home}/plain/calls.jsonl`, "its directory is not a directory"],
          [`${home}/plain/deeper/calls.jsonl`, "its directory is not a directory"],
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

Deno.test(
  `exec --masked --learn prints the narrowest -s line: it allows every call made, and a run ` +
    `with it works while a call outside it is refused${note}`,
  { ignore },
  async () => {
    await using rig = await callsRig();
    const A = shQuote(cli.path!);
    const file = `${rig.home}/learned-calls.jsonl`;
    const read = [
      "set -e",
      `cd ${shQuote(rig.home)}`,
      `${A} s3api get-object --bucket learn-bucket --key data/report.csv out.csv > /dev/null`,
      `${A} dynamodb get-item --table-name Orders --key '{"id":{"S":"o-1"}}' > /dev/null`,
    ].join("\n");
    const learning = await rig.exec(
      ["--learn", `--calls=${file}`, "-s", "s3:full,dynamodb:full"],
      read,
    );
    assert.equal(learning.code, 0, learning.stderr);
    const line = /^ {2}-s '([^']+)'$/m.exec(learning.stderr)?.[1];
    assert.equal(line, "s3:ro@learn-bucket/data/report.csv,dynamodb:ro@Orders", learning.stderr);
    // The line's own policy allows every call the run made, by the simulator.
    const { policy } = await prepareGrant({ scopes: [line!], ttl: "15m" }, {
      catalog,
      target: { account: rig.aws.accountId, region: "us-east-1", partition: "aws" },
    });
    const calls = (await Deno.readTextFile(file)).trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(calls.length, 2);
    for (const call of calls) {
      const resource = call.service === "s3"
        ? `arn:aws:s3:::${call.resource}`
        : `arn:aws:dynamodb:us-east-1:${rig.aws.accountId}:table/${call.resource}`;
      const action = IAM_ACTION[`${call.service}:${call.action}`];
      assert.ok(await allows(policy.document, action, resource, rig.aws.accountId), action);
    }
    // A second run with the line: the same calls work, one outside it is refused.
    const again = await rig.exec(
      ["--calls", "-s", line!],
      `${read}\n${A} s3api put-object --bucket learn-bucket --key data/other.csv --body out.csv ` +
        "2> refused.txt > /dev/null && exit 9\nexit 0",
    );
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      await Deno.readTextFile(`${rig.home}/refused.txt`),
      /\(AccessDenied\) when calling the PutObject operation/,
    );
    assert.match(again.stderr, /^ {2}s3 GetObject learn-bucket\/data\/report\.csv 1$/m);
    assert.match(again.stderr, /^ {2}dynamodb GetItem Orders 1$/m);
    assert.match(
      again.stderr,
      /^ {2}s3 PutObject learn-bucket\/data\/other\.csv 1 refused \(AccessDenied\)$/m,
    );
  },
);

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

Deno.test(
  `exec --masked --calls and --learn show a key's zero-width and direction characters as ?, on ` +
    `the terminal and in the file, so a name cannot display as another${note}`,
  { ignore },
  async () => {
    await using rig = await callsRig();
    const A = shQuote(cli.path!);
    // U+200B, U+200F, U+FEFF, U+061C, U+00AD, U+E0041 (a tag) in a key; U+200D in a source's
    // bucket (a bucket no scope can name: --learn's note quotes it). printf's octal is UTF-8.
    const script = [
      `cd ${shQuote(rig.home)}`,
      "key=$(printf 'data/a\\342\\200\\213b\\342\\200\\217c\\357\\273\\277d\\330\\234e\\302\\255f" +
      "\\363\\240\\201\\201g')",
      `${A} s3api head-object --bucket learn-bucket --key "$key" > /dev/null 2>&1`,
      "source=$(printf 'learn\\342\\200\\215bucket/k')",
      `${A} s3api copy-object --copy-source "$source" --bucket learn-bucket --key copied ` +
      "> /dev/null 2>&1",
      "exit 0",
    ].join("\n");
    const invisible = /[\u00ad\u061c\u200b-\u200f\ufeff]|\u{e0041}/u;
    const shown = await rig.exec(["--calls", "--learn", "-s", "s3:full"], script);
    assert.equal(shown.code, 0, shown.stderr);
    assert.doesNotMatch(shown.stderr, invisible);
    assert.match(shown.stderr, /^ {2}s3 HeadObject learn-bucket\/data\/a\?b\?c\?d\?e\?f\?g 1$/m);
    assert.match(shown.stderr, /^ {2}s3 CopyObject learn-bucket\/copied 1 from learn\?bucket\/k/m);
    const file = `${rig.home}/invisible.jsonl`;
    const written = await rig.exec([`--calls=${file}`, "-s", "s3:full"], script);
    assert.equal(written.code, 0, written.stderr);
    const text = await Deno.readTextFile(file);
    assert.doesNotMatch(text, invisible);
    const calls = text.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(
      calls.map((call) => [call.action, call.resource, call.source]),
      [
        ["HeadObject", "learn-bucket/data/a?b?c?d?e?f?g", undefined],
        ["CopyObject", "learn-bucket/copied", "learn?bucket/k"],
      ],
    );
  },
);
