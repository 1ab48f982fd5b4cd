// What `--calls` shows of a masked command's calls: the tally that counts them, one line each on
// stderr, and JSON lines for `--calls=FILE`; a call the proxy refused says why.
import assert from "node:assert/strict";
import type { CallRecord } from "../lib/delivery/call_record.ts";
import { createCallTally, renderCallJson, renderCallLines } from "../lib/delivery/call_tally.ts";

const MINTING = "credential-minting action refused under --masked";

function call(fields: Partial<CallRecord>): CallRecord {
  return {
    time: new Date(0),
    service: "sts",
    action: "GetSessionToken",
    region: "us-east-1",
    status: 200,
    bytesIn: 0,
    bytesOut: 0,
    ...fields,
  };
}

Deno.test("a call the proxy refused is its own line, with the proxy's reason", () => {
  const tally = createCallTally();
  tally.record(call({ status: 403, refused: "AccessDenied", refusalReason: MINTING }));
  tally.record(call({ status: 403, refused: "AccessDenied", refusalReason: MINTING }));
  tally.record(
    call({ status: 403, refused: "ExpiredToken", refusalReason: "grant expired or revoked" }),
  );
  tally.record(
    call({
      service: "s3",
      action: "PutObject",
      resource: "b/k",
      status: 403,
      errorCode: "AccessDenied",
    }),
  );
  tally.record(call({ service: "s3", action: "GetObject", resource: "b/k" }));
  assert.equal(
    renderCallLines(tally.calls(), tally),
    [
      "calls: 5 (4 distinct)",
      `  sts GetSessionToken - 2 refused (AccessDenied): ${MINTING}`,
      "  sts GetSessionToken - 1 refused (ExpiredToken): grant expired or revoked",
      "  s3 PutObject b/k 1 refused (AccessDenied)",
      "  s3 GetObject b/k 1",
      "",
    ].join("\n"),
  );
  assert.deepEqual(
    renderCallJson(tally.calls()).trim().split("\n").map((line) => JSON.parse(line)),
    [
      {
        service: "sts",
        action: "GetSessionToken",
        count: 2,
        refused: true,
        error_code: "AccessDenied",
        refused_by: "proxy",
        refusal_reason: MINTING,
      },
      {
        service: "sts",
        action: "GetSessionToken",
        count: 1,
        refused: true,
        error_code: "ExpiredToken",
        refused_by: "proxy",
        refusal_reason: "grant expired or revoked",
      },
      {
        service: "s3",
        action: "PutObject",
        resource: "b/k",
        count: 1,
        refused: true,
        error_code: "AccessDenied",
      },
      { service: "s3", action: "GetObject", resource: "b/k", count: 1, refused: false },
    ],
  );
});

Deno.test("a call AWS refused is not merged with the same call the proxy refused", () => {
  const tally = createCallTally();
  tally.record(call({ status: 403, errorCode: "AccessDenied" }));
  tally.record(call({ status: 403, refused: "AccessDenied", refusalReason: MINTING }));
  const [byAws, byProxy] = tally.calls();
  assert.equal(byAws.byProxy, undefined, "AWS answered it: --learn counts it");
  assert.equal(byProxy.byProxy, true);
  assert.equal(tally.calls().length, 2);
});

Deno.test("--calls shows a copy's source: 'from SOURCE' on its line, a source field in JSON", () => {
  const tally = createCallTally();
  const copy = { service: "s3", action: "CopyObject", resource: "b2/k2" };
  tally.record(call({ ...copy, source: "b1/k" }));
  tally.record(call({ ...copy, source: "b1/k" }));
  tally.record(call({ ...copy, source: "b1/other file" }));
  tally.record(call(copy));
  assert.equal(
    renderCallLines(tally.calls(), tally),
    "calls: 4 (3 distinct)\n" +
      "  s3 CopyObject b2/k2 2 from b1/k\n" +
      '  s3 CopyObject b2/k2 1 from "b1/other file"\n' +
      "  s3 CopyObject b2/k2 1\n",
  );
  // A call without a source has no source field at all, in the tally as in JSON.
  assert.deepEqual(tally.calls()[2], { ...copy, count: 1, refused: false });
  assert.deepEqual(tally.calls()[0], { ...copy, source: "b1/k", count: 2, refused: false });
  assert.deepEqual(
    renderCallJson(tally.calls()).trim().split("\n").map((line) => JSON.parse(line)),
    [
      { ...copy, source: "b1/k", count: 2, refused: false },
      { ...copy, source: "b1/other file", count: 1, refused: false },
      { ...copy, count: 1, refused: false },
    ],
  );
});

Deno.test("a call sent to AWS that got no answer is its own line, with an unknown outcome and why, never refused", () => {
  const tally = createCallTally();
  const closed = "sent to AWS, no answer before the proxy closed" as const;
  const dynamodb = { service: "dynamodb", action: "DeleteTable", resource: "Orders" };
  tally.record(call({ ...dynamodb, status: 502, unanswered: closed }));
  tally.record(call({ ...dynamodb, status: 502, unanswered: closed }));
  tally.record(
    call({
      ...dynamodb,
      status: 504,
      unanswered: "sent to AWS, connection lost before the answer",
    }),
  );
  tally.record(call({ ...dynamodb }));
  assert.equal(
    renderCallLines(tally.calls(), tally),
    "calls: 4 (3 distinct)\n" +
      "  dynamodb DeleteTable Orders 2 outcome unknown: sent to AWS, no answer before the proxy " +
      "closed\n" +
      "  dynamodb DeleteTable Orders 1 outcome unknown: sent to AWS, connection lost before the " +
      "answer\n" +
      "  dynamodb DeleteTable Orders 1\n",
  );
  assert.equal(
    renderCallJson(tally.calls(), tally),
    '{"service":"dynamodb","action":"DeleteTable","resource":"Orders","count":2,"refused":false,' +
      '"outcome":"unknown","outcome_reason":"sent to AWS, no answer before the proxy closed"}\n' +
      '{"service":"dynamodb","action":"DeleteTable","resource":"Orders","count":1,"refused":false,' +
      '"outcome":"unknown","outcome_reason":"sent to AWS, connection lost before the answer"}\n' +
      '{"service":"dynamodb","action":"DeleteTable","resource":"Orders","count":1,"refused":false}\n',
  );
});
