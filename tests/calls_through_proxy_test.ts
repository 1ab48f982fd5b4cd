// What `exec --masked --calls` reports: calls made through the signing proxy in process (an
// endpoint in process answers them), counted as exec counts them, and the report's lines and
// JSON lines exactly as the user reads them. The bound on distinct calls is fed records directly:
// ten thousand calls through a proxy would say nothing more.
import assert from "node:assert/strict";
import type { CallRecord } from "../lib/delivery/call_record.ts";
import {
  createCallTally,
  MAX_DISTINCT_CALLS,
  renderCallJson,
  renderCallLines,
} from "../lib/delivery/call_tally.ts";
import { startSigningProxy } from "../lib/delivery/signing_proxy.ts";
import { signedCall } from "./support/signed_call.ts";

/** What the endpoint answers, by method and path. */
function answer(request: Request): Response {
  const { pathname } = new URL(request.url);
  const xml = (code: string) => `<Error><Code>${code}</Code><Message>m</Message></Error>`;
  switch (`${request.method} ${pathname}`) {
    case "GET /":
      return new Response("<ListAllMyBucketsResult/>");
    case "GET /b/report.csv":
      return new Response("a,b\n");
    case "GET /b/missing.csv":
      return new Response(xml("NoSuchKey"), { status: 404 });
    case "PUT /b/out.csv":
      return new Response(xml("AccessDenied"), { status: 403 });
    case "PUT /b/late.csv":
      return new Response(xml(request.headers.get("x-amz-meta-code") ?? "AccessDenied"), {
        status: 403,
      });
    case "DELETE /b/report.csv":
      return new Response("", { status: 403 });
    default:
      return new Response(null, { status: 200 });
  }
}

Deno.test("--calls counts each distinct call through the proxy, refused ones marked with their code", async () => {
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, answer);
  const proxy = await startSigningProxy({
    env: { AWS_ENDPOINT_URL: `http://127.0.0.1:${upstream.addr.port}` },
  });
  const tally = createCallTally();
  try {
    const grant = proxy.addGrant({
      session: () => ({
        accessKeyId: "ASIAREALKEY000000000",
        secretAccessKey: "real-secret",
        sessionToken: "real-token",
        expiration: new Date(Date.now() + 3600_000),
      }),
      onCall: tally.record,
    });
    const call = async (
      method: string,
      path: string,
      more: { service?: string; body?: string; signed?: Record<string, string> } = {},
    ) => {
      const response = await signedCall(proxy, grant.standIn, {
        method,
        path,
        service: more.service ?? "s3",
        body: more.body,
        signed: more.signed,
      });
      await response.body?.cancel();
    };
    await call("GET", "/b/report.csv");
    await call("GET", "/b/report.csv");
    await call("GET", "/b/missing.csv");
    await call("GET", "/");
    await call("GET", "/b/with%20space.csv");
    await call("GET", "/b/it%27s.csv");
    // The same call allowed and refused: two lines. A refusal with no code says only "refused".
    await call("DELETE", "/b/report.csv");
    await call("PUT", "/b/out.csv", { body: "x" });
    // Refused twice, with two codes: the last one is shown.
    await call("PUT", "/b/late.csv", { body: "x" });
    await call("PUT", "/b/late.csv", { body: "x", signed: { "x-amz-meta-code": "ExpiredToken" } });
    // Refused by the proxy itself, never sent on.
    await call("POST", "/", {
      service: "sts",
      body: "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr" +
        "&RoleSessionName=s",
      signed: { "content-type": "application/x-www-form-urlencoded" },
    });
    const calls = tally.calls();
    assert.equal(
      renderCallLines(calls, tally),
      [
        "calls: 11 (9 distinct)",
        "  s3 GetObject b/report.csv 2",
        "  s3 GetObject b/missing.csv 1",
        "  s3 ListBuckets - 1",
        '  s3 GetObject "b/with space.csv" 1',
        `  s3 GetObject "b/it's.csv" 1`,
        "  s3 DeleteObject b/report.csv 1 refused",
        "  s3 PutObject b/out.csv 1 refused (AccessDenied)",
        "  s3 PutObject b/late.csv 2 refused (ExpiredToken)",
        "  sts AssumeRole - 1 refused (AccessDenied): credential-minting action refused under " +
        "--masked",
        "",
      ].join("\n"),
    );
    assert.equal(tally.total, 11);
    assert.deepEqual(renderCallJson(calls).trim().split("\n").map((line) => JSON.parse(line)), [
      { service: "s3", action: "GetObject", resource: "b/report.csv", count: 2, refused: false },
      { service: "s3", action: "GetObject", resource: "b/missing.csv", count: 1, refused: false },
      { service: "s3", action: "ListBuckets", count: 1, refused: false },
      {
        service: "s3",
        action: "GetObject",
        resource: "b/with space.csv",
        count: 1,
        refused: false,
      },
      { service: "s3", action: "GetObject", resource: "b/it's.csv", count: 1, refused: false },
      { service: "s3", action: "DeleteObject", resource: "b/report.csv", count: 1, refused: true },
      {
        service: "s3",
        action: "PutObject",
        resource: "b/out.csv",
        count: 1,
        refused: true,
        error_code: "AccessDenied",
      },
      {
        service: "s3",
        action: "PutObject",
        resource: "b/late.csv",
        count: 2,
        refused: true,
        error_code: "ExpiredToken",
      },
      {
        service: "sts",
        action: "AssumeRole",
        count: 1,
        refused: true,
        error_code: "AccessDenied",
        refused_by: "proxy",
        refusal_reason: "credential-minting action refused under --masked",
      },
    ]);
  } finally {
    await proxy.close();
    await upstream.shutdown();
  }
});

function record(action: string, more: Partial<CallRecord> = {}): CallRecord {
  return {
    time: new Date(0),
    service: "s3",
    action,
    region: "us-east-1",
    status: 200,
    bytesIn: 0,
    bytesOut: 0,
    ...more,
  };
}

Deno.test("--calls keeps 10,000 distinct calls; past that it counts the calls only and says the record is incomplete", () => {
  assert.equal(MAX_DISTINCT_CALLS, 10_000);
  const tally = createCallTally();
  for (let i = 0; i < MAX_DISTINCT_CALLS; i++) {
    tally.record(record("GetObject", { resource: `b/${i}` }));
  }
  // One more distinct call, and one more of a kept one.
  tally.record(record("GetObject", { resource: "b/one-too-many" }));
  tally.record(record("GetObject", { resource: "b/0" }));
  const calls = tally.calls();
  assert.equal(calls.length, 10_000);
  assert.equal(tally.total, 10_002);
  assert.equal(tally.dropped, 1);
  assert.ok(!calls.some((call) => call.resource === "b/one-too-many"));
  const lines = renderCallLines(calls, tally).split("\n");
  assert.equal(lines[0], "calls: 10002 (10000 distinct)");
  assert.equal(lines[1], "  s3 GetObject b/0 2");
  assert.equal(lines.at(-2), "  (incomplete: 1 call not recorded after 10,000 distinct ones)");
  assert.equal(lines.at(-1), "");
  const json = renderCallJson(calls, tally).split("\n");
  assert.equal(json.length, 10_002);
  assert.deepEqual(JSON.parse(json.at(-2)!), {
    incomplete: true,
    calls_not_recorded: 1,
    distinct_calls_kept: 10_000,
  });
});

Deno.test("--calls lists only requests signed with the stand-in secret: one that only names the key id is refused, counted and never listed", async () => {
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, answer);
  const proxy = await startSigningProxy({
    env: { AWS_ENDPOINT_URL: `http://127.0.0.1:${upstream.addr.port}` },
  });
  const tally = createCallTally();
  try {
    const grant = proxy.addGrant({
      session: () => ({
        accessKeyId: "ASIAREALKEY000000000",
        secretAccessKey: "real-secret",
        sessionToken: "real-token",
        expiration: new Date(Date.now() + 3600_000),
      }),
      onCall: tally.record,
      onUnverified: tally.countUnverified,
    });
    const call = async (
      standIn: typeof grant.standIn,
      path: string,
      more: { service?: string; body?: string; signed?: Record<string, string> } = {},
    ) => {
      const response = await signedCall(proxy, standIn, {
        method: more.body === undefined ? "GET" : "POST",
        path,
        service: more.service ?? "s3",
        body: more.body,
        signed: more.signed,
      });
      await response.body?.cancel();
      return response.status;
    };
    const own = grant.standIn;
    assert.equal(await call(own, "/b/report.csv"), 200);
    // The key id with a secret or a token of the sender's choosing: refused as before.
    assert.equal(await call({ ...own, secretAccessKey: "x".repeat(40) }, "/planted/secret"), 403);
    assert.equal(await call({ ...own, sessionToken: "planted" }, "/planted/token"), 403);
    assert.equal(
      await call({ ...own, secretAccessKey: "x".repeat(40) }, "/", {
        service: "dynamodb",
        body: '{"TableName":"Planted"}',
        signed: {
          "x-amz-target": "DynamoDB_20120810.DeleteTable",
          "content-type": "application/x-amz-json-1.0",
        },
      }),
      400,
    );
    assert.equal(tally.unverified, 3);
    assert.equal(grant.unverifiedCount, 3);
    assert.equal(grant.callCount, 1);
    assert.equal(
      renderCallLines(tally.calls(), tally),
      "calls: 1 (1 distinct)\n  s3 GetObject b/report.csv 1\n" +
        "  (3 requests not verified as signed with the stand-in key were refused, not listed)\n",
    );
    assert.equal(
      renderCallJson(tally.calls(), tally),
      '{"service":"s3","action":"GetObject","resource":"b/report.csv","count":1,' +
        '"refused":false}\n{"unverified_requests_refused":3}\n',
    );
    // Revoked: the client's own call is still listed (refused), a forged one only counted.
    grant.revoke();
    assert.equal(await call(own, "/b/after.csv"), 400);
    assert.equal(await call({ ...own, secretAccessKey: "x".repeat(40) }, "/planted/after"), 400);
    assert.equal(
      renderCallLines(tally.calls(), tally),
      "calls: 2 (2 distinct)\n  s3 GetObject b/report.csv 1\n" +
        "  s3 GetObject b/after.csv 1 refused (ExpiredToken): grant expired or revoked\n" +
        "  (4 requests not verified as signed with the stand-in key were refused, not listed)\n",
    );
  } finally {
    await proxy.close();
    await upstream.shutdown();
  }
});

Deno.test("--calls: an empty resource is '-', an error that is not a refusal carries no code", () => {
  const tally = createCallTally();
  tally.record(record("GetObject", { resource: "", status: 404, errorCode: "NoSuchKey" }));
  tally.record(
    record("GetItem", {
      service: "dynamodb",
      resource: "T",
      status: 400,
      errorCode: "AccessDeniedException",
    }),
  );
  assert.equal(
    renderCallLines(tally.calls(), tally),
    "calls: 2 (2 distinct)\n  s3 GetObject - 1\n  dynamodb GetItem T 1 refused (AccessDeniedException)\n",
  );
  assert.equal(
    renderCallJson(tally.calls()),
    '{"service":"s3","action":"GetObject","resource":"","count":1,"refused":false}\n' +
      '{"service":"dynamodb","action":"GetItem","resource":"T","count":1,"refused":true,"error_code":"AccessDeniedException"}\n',
  );
});

Deno.test("--calls: the same call refused by AWS and by the proxy (no reason given) are two lines", () => {
  const tally = createCallTally();
  tally.record(record("GetObject", { resource: "b/k", status: 403, errorCode: "AccessDenied" }));
  tally.record(record("GetObject", { resource: "b/k", status: 403, refused: "AccessDenied" }));
  assert.equal(
    renderCallJson(tally.calls()),
    '{"service":"s3","action":"GetObject","resource":"b/k","count":1,"refused":true,' +
      '"error_code":"AccessDenied"}\n' +
      '{"service":"s3","action":"GetObject","resource":"b/k","count":1,"refused":true,' +
      '"error_code":"AccessDenied","refused_by":"proxy"}\n',
  );
});

Deno.test("--calls: a later refusal that names no code keeps the code an earlier one named", () => {
  const tally = createCallTally();
  tally.record(record("PutObject", { resource: "b/k", status: 403, errorCode: "AccessDenied" }));
  tally.record(record("PutObject", { resource: "b/k", status: 403 }));
  assert.equal(
    renderCallLines(tally.calls(), tally),
    "calls: 2 (1 distinct)\n  s3 PutObject b/k 2 refused (AccessDenied)\n",
  );
});

Deno.test("--calls names a copy's source only from a signed x-amz-copy-source, the one AWS gets", async () => {
  const reached: Array<string | null> = [];
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    reached.push(request.headers.get("x-amz-copy-source"));
    return new Response("<CopyObjectResult/>");
  });
  const proxy = await startSigningProxy({
    env: { AWS_ENDPOINT_URL: `http://127.0.0.1:${upstream.addr.port}` },
  });
  const tally = createCallTally();
  try {
    const grant = proxy.addGrant({
      session: () => ({
        accessKeyId: "ASIAREALKEY000000000",
        secretAccessKey: "real-secret",
        sessionToken: "real-token",
        expiration: new Date(Date.now() + 3600_000),
      }),
      onCall: tally.record,
    });
    const copy = async (
      headers: { signed?: Record<string, string>; unsigned?: Record<string, string> },
    ) => {
      const response = await signedCall(proxy, grant.standIn, {
        method: "PUT",
        path: "/b2/k2",
        service: "s3",
        ...headers,
      });
      await response.body?.cancel();
    };
    await copy({ signed: { "x-amz-copy-source": "/b1/my%20report.csv?versionId=v1" } });
    // Unsigned, the header is not sent on: AWS would store an empty object, and so says the list.
    await copy({ unsigned: { "x-amz-copy-source": "/b1/secret,s3:full" } });
    assert.deepEqual(reached, ["/b1/my%20report.csv?versionId=v1", null]);
    assert.equal(
      renderCallLines(tally.calls(), tally),
      'calls: 2 (2 distinct)\n  s3 CopyObject b2/k2 1 from "b1/my report.csv"\n' +
        "  s3 PutObject b2/k2 1\n",
    );
    assert.deepEqual(JSON.parse(renderCallJson(tally.calls()).split("\n")[0]), {
      service: "s3",
      action: "CopyObject",
      resource: "b2/k2",
      source: "b1/my report.csv",
      count: 1,
      refused: false,
    });
  } finally {
    await proxy.close();
    await upstream.shutdown();
  }
});
