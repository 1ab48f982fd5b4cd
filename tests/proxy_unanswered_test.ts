// A call the signing proxy sent to AWS and got no answer for (the proxy closed as the command
// ended, or AWS took longer than the proxy waits) reached AWS: its record says the outcome is
// unknown, never that the proxy refused it, and --learn counts it. A call that never left the
// proxy (AWS could not be reached) stays a refusal. These tests wait for an idle timeout.
import assert from "node:assert/strict";
import { startSigningProxy } from "../lib/delivery/signing_proxy.ts";
import { createCallTally, renderCallJson } from "../lib/delivery/call_tally.ts";
import { reportCalls } from "../lib/cli/call_report.ts";
import { signedCall } from "./support/signed_call.ts";

const session = () => ({
  accessKeyId: "ASIAREALKEY000000000",
  secretAccessKey: "real-secret",
  sessionToken: "real-token",
  expiration: new Date(Date.now() + 3600_000),
});

const deleteTable = {
  method: "POST",
  path: "/",
  service: "dynamodb",
  body: '{"TableName":"orders"}',
  signed: {
    "x-amz-target": "DynamoDB_20120810.DeleteTable",
    "content-type": "application/x-amz-json-1.0",
  },
};

/** An endpoint that records each call it gets and answers after `delayMs`. */
function slowEndpoint(delayMs: number) {
  const received: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const what = req.headers.get("x-amz-target") ?? `${req.method} ${new URL(req.url).pathname}`;
    received.push(`${what} ${await req.text()}`);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return new Response("{}", { headers: { "content-type": "application/x-amz-json-1.0" } });
  });
  return { received, server, url: `http://127.0.0.1:${server.addr.port}` };
}

async function reported(tally: ReturnType<typeof createCallTally>, flags: { calls?: boolean }) {
  let text = "";
  await reportCalls({ stderr: (t) => text += t }, tally, { ...flags, learn: true });
  return text;
}

Deno.test("a call AWS answers later than the proxy's idle timeout is recorded as sent to AWS with no answer, and --learn allows it", async () => {
  const endpoint = slowEndpoint(1500);
  const proxy = await startSigningProxy({
    env: { AWS_ENDPOINT_URL: endpoint.url },
    idleTimeoutMs: 300,
  });
  const tally = createCallTally();
  const grant = proxy.addGrant({ session, onCall: tally.record });
  try {
    const response = await signedCall(proxy, grant.standIn, deleteTable);
    assert.equal(response.status, 504);
    await response.body?.cancel();
    assert.deepEqual(endpoint.received, ['DynamoDB_20120810.DeleteTable {"TableName":"orders"}']);
    const [call] = grant.calls;
    assert.equal(call.refused, undefined);
    assert.equal(call.unanswered, "sent to AWS, no answer within the proxy's idle timeout");
    assert.equal(
      renderCallJson(tally.calls(), tally),
      '{"service":"dynamodb","action":"DeleteTable","resource":"orders","count":1,' +
        '"refused":false,"outcome":"unknown",' +
        '"outcome_reason":"sent to AWS, no answer within the proxy\'s idle timeout"}\n',
    );
    assert.equal(
      await reported(tally, { calls: true }),
      "calls: 1 (1 distinct)\n" +
        "  dynamodb DeleteTable orders 1 outcome unknown: sent to AWS, no answer within the " +
        "proxy's idle timeout\n" +
        "learned: the narrowest scopes that allow the 1 call it made:\n" +
        "  -s 'dynamodb:full@orders'\n" +
        "note: 1 distinct call was sent to AWS and got no answer: whether AWS carried it out is " +
        "unknown; the line allows it\n",
    );
  } finally {
    await proxy.close();
    await endpoint.server.shutdown();
  }
});

Deno.test("a call in flight when the proxy closes (the command ended) is recorded as sent to AWS with no answer, and --learn allows it", async () => {
  const endpoint = slowEndpoint(2000);
  const proxy = await startSigningProxy({ env: { AWS_ENDPOINT_URL: endpoint.url } });
  const tally = createCallTally();
  const grant = proxy.addGrant({ session, onCall: tally.record });
  try {
    // The command sends DeleteTable, and an S3 upload (its body streamed through), and ends
    // before AWS answers.
    const pending = [
      signedCall(proxy, grant.standIn, deleteTable),
      signedCall(proxy, grant.standIn, {
        method: "PUT",
        path: "/reports/q3.csv",
        service: "s3",
        body: "a,b",
        signed: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
      }),
    ].map((call) => call.then((response) => response.body?.cancel(), () => {}));
    const deadline = Date.now() + 10_000;
    while (endpoint.received.length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(endpoint.received.sort(), [
      'DynamoDB_20120810.DeleteTable {"TableName":"orders"}',
      "PUT /reports/q3.csv a,b",
    ]);
    await proxy.close();
    await Promise.all(pending);
    const unanswered = "sent to AWS, no answer before the proxy closed";
    assert.deepEqual(
      tally.calls().map((c) => [c.action, c.refused, c.byProxy, c.unanswered]).sort(),
      [["DeleteTable", false, undefined, unanswered], ["PutObject", false, undefined, unanswered]],
    );
    assert.match(
      renderCallJson(tally.calls(), tally),
      /"refused":false,"outcome":"unknown","outcome_reason":"sent to AWS, no answer before the proxy closed"\}\n.*"outcome":"unknown"/,
    );
    const text = await reported(tally, {});
    assert.match(
      text,
      /^ {2}-s '(dynamodb:full@orders,s3:full@reports\/q3\.csv|s3:full@reports\/q3\.csv,dynamodb:full@orders)'$/m,
    );
    assert.doesNotMatch(text, /left out|never reached AWS/);
  } finally {
    await proxy.close();
    await endpoint.server.shutdown();
  }
});

Deno.test("a call the proxy could not send (AWS unreachable) stays refused by the proxy and is left out of --learn", async () => {
  // A port nothing listens on: the connection is refused before anything is sent.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const proxy = await startSigningProxy({ env: { AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` } });
  const tally = createCallTally();
  const grant = proxy.addGrant({ session, onCall: tally.record });
  try {
    const response = await signedCall(proxy, grant.standIn, deleteTable);
    assert.equal(response.status, 502);
    await response.body?.cancel();
    assert.equal(
      renderCallJson(tally.calls(), tally),
      '{"service":"dynamodb","action":"DeleteTable","resource":"orders","count":1,' +
        '"refused":true,"error_code":"ServiceUnavailable","refused_by":"proxy",' +
        '"refusal_reason":"no usable answer from AWS"}\n',
    );
    assert.equal(
      await reported(tally, {}),
      "learned: no call needs a scope\n" +
        "note: calls the signing proxy refused are left out (they never reached AWS)\n",
    );
  } finally {
    await proxy.close();
  }
});

Deno.test("a call whose connection AWS closes before answering is recorded as sent to AWS with no answer", async () => {
  // An endpoint that reads the request and closes the connection without a word.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: number[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      const buffer = new Uint8Array(64 * 1024);
      received.push((await conn.read(buffer)) ?? 0);
      conn.close();
    }
  })();
  const proxy = await startSigningProxy({
    env: { AWS_ENDPOINT_URL: `http://127.0.0.1:${listener.addr.port}` },
  });
  const tally = createCallTally();
  const grant = proxy.addGrant({ session, onCall: tally.record });
  try {
    const response = await signedCall(proxy, grant.standIn, deleteTable);
    assert.equal(response.status, 502);
    assert.match(await response.text(), /lost its connection to AWS before the answer/);
    assert.ok(received.length >= 1 && received[0] > 0);
    assert.deepEqual(tally.calls().map((c) => [c.action, c.refused, c.byProxy, c.unanswered]), [
      ["DeleteTable", false, undefined, "sent to AWS, connection lost before the answer"],
    ]);
  } finally {
    await proxy.close();
    listener.close();
    await serving.catch(() => {});
  }
});
