// exec --masked --calls=FILE --learn when the command ends while a call it sent is still waiting
// for AWS's answer: the call reached AWS, so it is listed with an unknown outcome (never as
// refused by the proxy) and --learn's line allows it. The real CLI against the local endpoint,
// which holds DeleteTable until the test ends (tests/support/masked.ts). Linux and macOS only.
import assert from "node:assert/strict";
import { cli, ignore, MASKED_EXEC, maskedRig, note } from "./support/masked.ts";
import { shQuote } from "./support/pty.ts";

Deno.test(
  `exec --masked: a call still waiting for AWS when the command ends is listed as sent to AWS ` +
    `with an unknown outcome, and --learn allows it${note}`,
  { ignore },
  async () => {
    await using rig = await maskedRig();
    rig.aws.answerAfter(120_000, "DeleteTable");
    const A = shQuote(cli.path!);
    const file = `${rig.home}/calls.jsonl`;
    // DeleteTable in the background; the command ends once the endpoint holds it (the test
    // creates `sent` then), before any answer.
    const script = [
      `cd ${shQuote(rig.home)}`,
      `${A} dynamodb delete-table --table-name Orders > /dev/null 2>&1 < /dev/null &`,
      "i=0",
      'while [ ! -e sent ] && [ "$i" -lt 600 ]; do sleep 0.1; i=$((i + 1)); done',
      "exit 0",
    ].join("\n");
    const run = rig.run([
      ...MASKED_EXEC,
      `--calls=${file}`,
      "--learn",
      "-s",
      "dynamodb:full",
      "--",
      "sh",
      "-c",
      script,
    ]);
    await rig.aws.firstHeldAt();
    await Deno.writeTextFile(`${rig.home}/sent`, "");
    const result = await run;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      rig.aws.requests.filter((r) => r.service === "dynamodb").map((r) => r.action),
      ["DeleteTable"],
    );
    const lines = (await Deno.readTextFile(file)).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines, [{
      service: "dynamodb",
      action: "DeleteTable",
      resource: "Orders",
      count: 1,
      refused: false,
      outcome: "unknown",
      outcome_reason: "sent to AWS, no answer before the proxy closed",
    }]);
    const report = result.stderr.slice(result.stderr.indexOf("calls: "));
    assert.equal(
      report.replace(/written to .*\n/, "written to FILE\n"),
      "calls: 1 (1 distinct) written to FILE\n" +
        "learned: the narrowest scopes that allow the 1 call it made:\n" +
        "  -s 'dynamodb:full@Orders'\n" +
        "note: 1 distinct call was sent to AWS and got no answer: whether AWS carried it out is " +
        "unknown; the line allows it\n",
    );
  },
);
