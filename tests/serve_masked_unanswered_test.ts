// serve --masked's audit log, for a call the proxy sent to AWS and got no answer for: its line says
// the outcome is unknown (it reached AWS), never that the proxy refused it. In process: serve's
// masking in front of the local endpoint, which holds DeleteTable past the proxy's idle timeout.
import assert from "node:assert/strict";
import type { Grant } from "../lib/aws/broker.ts";
import { memoryAuditLog } from "../lib/mcp/audit_log.ts";
import { createGrantCallAudit } from "../lib/mcp/call_audit.ts";
import { startMasking } from "../lib/mcp/masking.ts";
import { LocalAws } from "./support/local_aws.ts";
import { signedCall } from "./support/signed_call.ts";

Deno.test("serve's audit log says a call sent to AWS that got no answer has an unknown outcome, not that the proxy refused it", async () => {
  await using aws = await LocalAws.start();
  const real = aws.addAssumedRoleCaller({
    roleName: "timebound-iam-broker",
    sessionName: "timebound-iam-slow",
  });
  aws.answerAfter(60_000, "DeleteTable");
  const audit = memoryAuditLog();
  const logged: string[] = [];
  const masking = await startMasking({ AWS_ENDPOINT_URL: aws.url }, {
    audit,
    now: () => new Date(),
    log: (line) => logged.push(line),
    idleTimeoutMs: 300,
  });
  try {
    const grant: Grant = {
      sessionName: "timebound-iam-00000000-0000-4000-8000-000000000002",
      roleArn: "arn:aws:iam::123456789012:role/timebound-iam-broker",
      assumedRoleArn: real.arn ?? "",
      region: "us-east-1",
      credentials: {
        accessKeyId: real.accessKeyId,
        secretAccessKey: real.secretAccessKey,
        sessionToken: real.sessionToken!,
        expiration: new Date(Date.now() + 3600_000),
      },
    };
    const vars = masking.mask(grant);
    const response = await signedCall({ url: vars.AWS_ENDPOINT_URL }, {
      accessKeyId: vars.AWS_ACCESS_KEY_ID,
      secretAccessKey: vars.AWS_SECRET_ACCESS_KEY,
      sessionToken: vars.AWS_SESSION_TOKEN,
    }, {
      method: "POST",
      path: "/",
      service: "dynamodb",
      body: '{"TableName":"Orders"}',
      signed: {
        "x-amz-target": "DynamoDB_20120810.DeleteTable",
        "content-type": "application/x-amz-json-1.0",
      },
    });
    assert.equal(response.status, 504);
    await response.body?.cancel();
    assert.deepEqual(aws.requests.map((r) => r.action), ["DeleteTable"]);
    await masking.end(grant.sessionName);
    const line = audit.events.find((e) => e.event === "call");
    assert.deepEqual({ ...line, time: undefined, call_time: undefined }, {
      time: undefined,
      call_time: undefined,
      event: "call",
      outcome: "unknown",
      session_id: grant.sessionName,
      service: "dynamodb",
      action: "DeleteTable",
      region: "us-east-1",
      resource: "Orders",
      status: 504,
      refused: false,
      outcome_reason: "sent to AWS, no answer within the proxy's idle timeout",
    });
    assert.deepEqual(logged, [
      `${grant.sessionName}: dynamodb:DeleteTable Orders 504 outcome unknown: sent to AWS, no ` +
      "answer within the proxy's idle timeout",
    ]);
    const stats = masking.stats(grant.sessionName)!;
    assert.deepEqual([stats.calls, stats.refused, stats.unanswered], [1, 0, 1]);
    assert.deepEqual(stats.refusalReasons, {});
  } finally {
    await masking.close();
  }
});

Deno.test("the audit log's summary of a minute's calls past the per-call lines counts those sent to AWS with no answer apart from refusals", async () => {
  const audit = memoryAuditLog();
  const calls = createGrantCallAudit("timebound-iam-1", { audit, now: () => new Date(0) });
  const call = {
    time: new Date(0),
    service: "lambda",
    action: "Invoke",
    region: "us-east-1",
    resource: "wipe-prod",
    status: 504,
    bytesIn: 2,
    bytesOut: 0,
    unanswered: "sent to AWS, no answer within the proxy's idle timeout" as const,
  };
  for (let i = 0; i < 63; i++) calls.record(call);
  await calls.flush();
  const summary = audit.events.find((e) => e.event === "calls");
  assert.deepEqual(
    [summary?.calls, summary?.refused_calls, summary?.unanswered_calls, summary?.refusal_reasons],
    [3, 0, 3, undefined],
  );
  assert.equal(audit.events.filter((e) => e.outcome === "unknown").length, 60);
});
