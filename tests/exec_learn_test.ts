// exec --masked --learn end to end: the line it prints allows every call the run made (by the IAM
// simulator) and refuses one outside it, through the real CLI against the local endpoint
// (tests/support/masked.ts). Linux and macOS only.
import assert from "node:assert/strict";
import { allows, IAM_ACTION } from "./support/iam_simulator.ts";
import { callsRig, cli, ignore, note } from "./support/masked.ts";
import { shQuote } from "./support/pty.ts";
import { loadCatalog } from "../lib/request/catalog.ts";
import { prepareGrant } from "../lib/request/grant_request.ts";

const catalog = await loadCatalog();

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
