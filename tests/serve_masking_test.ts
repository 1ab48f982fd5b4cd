// serve --masked's proxy driven in process: the calls of its grants in the audit log, their end
// and their env files. serve's masking (the real signing proxy) in front of the local endpoint, the JS SDK v3 as the agent's client (it
// honours the endpoint it is given), and the audit log in memory. The clock the log reads is the
// test's, so "a minute" does not depend on how fast this machine is.
import assert from "node:assert/strict";
import { GetCallerIdentityCommand, GetSessionTokenCommand, STSClient } from "@aws-sdk/client-sts";
import type { Grant } from "../lib/aws/broker.ts";
import { memoryAuditLog } from "../lib/mcp/audit_log.ts";
import { CALL_LINES_PER_MINUTE, createGrantCallAudit } from "../lib/mcp/call_audit.ts";
import { startMasking } from "../lib/mcp/masking.ts";
import { LocalAws } from "./support/local_aws.ts";

async function floodRig(options: { env?: Record<string, string>; lifetimeMs?: number } = {}) {
  const aws = await LocalAws.start();
  const real = aws.addAssumedRoleCaller({
    roleName: "timebound-iam-broker",
    sessionName: "timebound-iam-flood",
  });
  let clock = Date.now();
  const audit = memoryAuditLog({ now: () => new Date(clock) });
  const masking = await startMasking({ AWS_ENDPOINT_URL: aws.url, ...options.env }, {
    audit,
    now: () => new Date(clock),
  });
  const grant: Grant = {
    sessionName: "timebound-iam-00000000-0000-4000-8000-000000000001",
    roleArn: "arn:aws:iam::123456789012:role/timebound-iam-broker",
    assumedRoleArn: real.arn ?? "",
    region: "us-east-1",
    credentials: {
      accessKeyId: real.accessKeyId,
      secretAccessKey: real.secretAccessKey,
      sessionToken: real.sessionToken!,
      expiration: new Date(clock + (options.lifetimeMs ?? 3600_000)),
    },
  };
  const vars = masking.mask(grant);
  const client = new STSClient({
    endpoint: vars.AWS_ENDPOINT_URL,
    region: "us-east-1",
    maxAttempts: 1,
    credentials: {
      accessKeyId: vars.AWS_ACCESS_KEY_ID,
      secretAccessKey: vars.AWS_SECRET_ACCESS_KEY,
      sessionToken: vars.AWS_SESSION_TOKEN,
    },
  });
  return {
    aws,
    audit,
    masking,
    grant,
    vars,
    advance: (ms: number) => clock += ms,
    /** `count` GetCallerIdentity calls (or `mint`: GetSessionToken), 25 at a time; how many failed. */
    async calls(count: number, mint = false): Promise<number> {
      let failed = 0;
      for (let sent = 0; sent < count; sent += 25) {
        const batch = Array.from(
          { length: Math.min(25, count - sent) },
          () =>
            client.send(mint ? new GetSessionTokenCommand({}) : new GetCallerIdentityCommand({}))
              .then(() => 0, () => 1),
        );
        for (const f of await Promise.all(batch)) failed += f;
      }
      return failed;
    },
    async [Symbol.asyncDispose]() {
      client.destroy();
      await masking.close();
      await aws.close();
    },
  };
}

Deno.test("the audit log holds at most 60 call lines per grant a minute, as docs/masked.md says", () => {
  assert.equal(CALL_LINES_PER_MINUTE, 60);
});

Deno.test(
  "a flood of 1,000 calls in a minute through one grant: at most 61 audit lines, every call " +
    "counted, refusals too",
  async () => {
    await using rig = await floodRig();
    const id = rig.grant.sessionName;
    assert.equal(await rig.calls(900), 0);
    // The last 100 are refused by AWS: 403 ExpiredToken, the refusal GetCallerIdentity can meet
    // (no policy can deny it).
    rig.aws.failNext("GetCallerIdentity", "ExpiredToken", { times: 100 });
    assert.equal(await rig.calls(100), 100);
    assert.deepEqual(rig.masking.stats(id)?.calls, 1000);
    assert.deepEqual(rig.masking.stats(id)?.refused, 100);
    // The minute ends: the next call starts a new one, and the summary of the last is written.
    rig.advance(61_000);
    assert.equal(await rig.calls(1), 0);
    await rig.masking.end(id);
    const lines = rig.audit.events;
    const perCall = lines.filter((e) => e.event === "call");
    const summaries = lines.filter((e) => e.event === "calls");
    assert.equal(perCall.length, CALL_LINES_PER_MINUTE + 1, "60 in the first minute, 1 after");
    assert.equal(summaries.length, 1);
    assert.equal(lines.length, CALL_LINES_PER_MINUTE + 2);
    const [summary] = summaries;
    assert.equal(summary.session_id, id);
    assert.equal(summary.calls, 1000 - CALL_LINES_PER_MINUTE);
    assert.equal(summary.refused_calls, 100);
    assert.deepEqual(summary.actions, { "sts:GetCallerIdentity": 1000 - CALL_LINES_PER_MINUTE });
    // Every call is in the log: one by one or in the summary.
    assert.equal(perCall.length + (summary.calls as number), 1001);
    assert.ok(perCall.every((e) => e.action === "GetCallerIdentity" && e.session_id === id));
    assert.deepEqual(rig.masking.stats(id)?.calls, 1001);
  },
);

Deno.test(
  "serve's stderr line of a call quotes a name with spaces, as --calls does: an agent's key " +
    "cannot forge a copy's source or a status",
  async () => {
    const lines: string[] = [];
    const calls = createGrantCallAudit("timebound-iam-1", {
      audit: memoryAuditLog(),
      now: () => new Date(0),
      log: (line) => lines.push(line),
    });
    const call = { time: new Date(0), service: "s3", region: "us-east-1", bytesIn: 0, bytesOut: 0 };
    // A PutObject whose key reads as a copy from another bucket, and a copy whose target key
    // reads as another source (the real one follows it) and a success.
    calls.record({ ...call, action: "PutObject", resource: "bk1/k from secret/x", status: 200 });
    calls.record({
      ...call,
      action: "CopyObject",
      resource: "bk1/k from public/readme 200",
      source: "secret/x y",
      status: 403,
    });
    calls.record({ ...call, action: "GetObject", resource: "bk1/plain", status: 200 });
    await calls.flush();
    assert.deepEqual(lines, [
      'timebound-iam-1: s3:PutObject "bk1/k from secret/x" 200',
      'timebound-iam-1: s3:CopyObject "bk1/k from public/readme 200" from "secret/x y" 403 refused',
      "timebound-iam-1: s3:GetObject bk1/plain 200",
    ]);
  },
);

Deno.test("after end() the proxy refuses the grant's next call with ExpiredToken", async () => {
  await using rig = await floodRig();
  const id = rig.grant.sessionName;
  assert.equal(await rig.calls(1), 0);
  await rig.masking.end(id);
  assert.equal(await rig.calls(1), 1);
  await rig.masking.end(id);
  const last = rig.audit.events.at(-1)!;
  assert.equal(last.refused, true);
  assert.equal(last.error_code, "ExpiredToken");
  assert.equal(rig.aws.requests.filter((r) => r.action === "GetCallerIdentity").length, 1);
});

Deno.test("at the grant's end the proxy refuses the next call with ExpiredToken", async () => {
  await using rig = await floodRig({ lifetimeMs: 30_000 });
  assert.equal(await rig.calls(1), 0);
  rig.advance(31_000);
  assert.equal(await rig.calls(1), 1);
  await rig.masking.end(rig.grant.sessionName);
  const last = rig.audit.events.at(-1)!;
  assert.deepEqual([last.refused, last.error_code], [true, "ExpiredToken"]);
  assert.equal(rig.aws.requests.filter((r) => r.action === "GetCallerIdentity").length, 1);
});

Deno.test("a masked env file under an HTTP proxy names the signing proxy in NO_PROXY", async (t) => {
  await t.step("with HTTPS_PROXY", async () => {
    await using rig = await floodRig({ env: { HTTPS_PROXY: "http://proxy.corp:3128" } });
    assert.equal(rig.vars.NO_PROXY, "127.0.0.1");
    assert.equal(
      rig.vars.AWS_ENDPOINT_URL,
      `http://127.0.0.1:${new URL(rig.vars.AWS_ENDPOINT_URL).port}`,
    );
  });
  await t.step("without", async () => {
    await using rig = await floodRig();
    assert.equal(rig.vars.NO_PROXY, undefined);
  });
});

Deno.test(
  "past the per-call lines, the minute's summary counts the proxy's refusals by reason",
  async () => {
    await using rig = await floodRig();
    const id = rig.grant.sessionName;
    const minting = "credential-minting action refused under --masked";
    assert.equal(await rig.calls(CALL_LINES_PER_MINUTE), 0);
    // Refused by AWS (no reason of the proxy's), then by the proxy: they mint credentials.
    rig.aws.failNext("GetCallerIdentity", "ExpiredToken", { times: 3 });
    assert.equal(await rig.calls(3), 3);
    assert.equal(await rig.calls(5, true), 5);
    assert.deepEqual(rig.masking.stats(id)?.refusalReasons, { [minting]: 5 });
    await rig.masking.end(id);
    const [summary] = rig.audit.events.filter((e) => e.event === "calls");
    assert.equal(summary.calls, 8);
    assert.equal(summary.refused_calls, 8);
    assert.deepEqual(summary.refusal_reasons, { [minting]: 5 });
    assert.deepEqual(summary.actions, { "sts:GetCallerIdentity": 3, "sts:GetSessionToken": 5 });
    assert.equal(rig.aws.requests.filter((r) => r.action === "GetSessionToken").length, 0);
  },
);

Deno.test(
  "serve --masked: a request with a grant's stand-in key id but another secret or token is " +
    "refused and counted in its stats, never written to the audit log",
  async () => {
    await using rig = await floodRig();
    const id = rig.grant.sessionName;
    assert.equal(await rig.calls(1), 0);
    const forged = (more: { secretAccessKey?: string; sessionToken?: string }) =>
      new STSClient({
        endpoint: rig.vars.AWS_ENDPOINT_URL,
        region: "us-east-1",
        maxAttempts: 1,
        credentials: {
          accessKeyId: rig.vars.AWS_ACCESS_KEY_ID,
          secretAccessKey: more.secretAccessKey ?? rig.vars.AWS_SECRET_ACCESS_KEY,
          sessionToken: more.sessionToken ?? rig.vars.AWS_SESSION_TOKEN,
        },
      });
    for (const more of [{ secretAccessKey: "x".repeat(40) }, { sessionToken: "planted" }]) {
      const client = forged(more);
      try {
        await assert.rejects(client.send(new GetSessionTokenCommand({})));
      } finally {
        client.destroy();
      }
    }
    const stats = rig.masking.stats(id)!;
    assert.deepEqual([stats.calls, stats.refused, stats.unverified], [1, 0, 2]);
    await rig.masking.end(id);
    const calls = rig.audit.events.filter((e) => e.event === "call" || e.event === "calls");
    assert.deepEqual(calls.map((e) => e.action), ["GetCallerIdentity"]);
    assert.ok(!JSON.stringify(rig.audit.events).includes("GetSessionToken"));
    assert.equal(rig.aws.requests.filter((r) => r.action === "GetSessionToken").length, 0);
  },
);
