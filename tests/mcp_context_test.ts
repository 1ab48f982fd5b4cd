// What the MCP tools share: how a session is described to an agent, how a failure reads, and
// the shape of a JSON result.
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { RuntimeError, UsageError } from "../lib/core/errors.ts";
import {
  clientOf,
  describeSession,
  jsonResult,
  levelName,
  sessionSchema,
  type ToolContext,
  toolError,
} from "../lib/mcp/context.ts";

const SESSION = {
  id: "timebound-iam-abc",
  scopes: [{ service: "s3", level: "ro" as const }, { service: "ec2", level: "full" as const }],
  region: "eu-west-1",
  expiresAt: new Date("2030-01-01T01:01:01Z"),
  file: "/tmp/timebound-iam-mcp-x/timebound-iam-abc.env",
};

Deno.test("describeSession() tells an agent everything but a secret", async (t) => {
  await t.step("mixed levels, no profile, the time left by the clock", () => {
    assert.deepEqual(describeSession(SESSION, new Date("2030-01-01T00:00:00.500Z")), {
      id: "timebound-iam-abc",
      services: ["s3", "ec2"],
      level: "mixed",
      scopes: "s3:read_only,ec2:full",
      region: "eu-west-1",
      expires_at: "2030-01-01T01:01:01.000Z",
      ttl_remaining: "1h1m",
      ttl_remaining_seconds: 3660,
      credential_file: "/tmp/timebound-iam-mcp-x/timebound-iam-abc.env",
    });
  });
  await t.step("one level, a profile, and an expired session has nothing left", () => {
    const session = { ...SESSION, scopes: [SESSION.scopes[0]], profile: "prod" };
    const described = describeSession(session, new Date("2030-01-01T02:00:00Z"));
    assert.equal(described.level, "read_only");
    assert.equal(described.profile, "prod");
    assert.equal(described.ttl_remaining, "0s");
    assert.equal(described.ttl_remaining_seconds, 0);
  });
  await t.step("only full scopes", () => {
    const session = { ...SESSION, scopes: [SESSION.scopes[1]] };
    assert.equal(describeSession(session, new Date("2030-01-01T00:00:00Z")).level, "full");
  });
});

Deno.test("levelName() speaks the tools' words", () => {
  assert.equal(levelName("ro"), "read_only");
  assert.equal(levelName("full"), "full");
});

Deno.test("toolError() gives a user error's message and hint, and one line of anything else", () => {
  assert.equal(toolError(new UsageError("Bad scope")).message, "Bad scope");
  assert.equal(
    toolError(new RuntimeError("No credentials", { hint: "log in" })).message,
    "No credentials\nhint: log in",
  );
  assert.equal(
    toolError(new TypeError("x is undefined\n    at f (file.ts:1:1)")).message,
    "Unexpected failure: x is undefined",
  );
  assert.equal(toolError("a string").message, "Unexpected failure: a string");
});

Deno.test("jsonResult() carries the structure and its JSON text", () => {
  assert.deepEqual(jsonResult({ a: 1 }), {
    content: [{ type: "text", text: '{\n  "a": 1\n}' }],
    structuredContent: { a: 1 },
  });
  assert.deepEqual(jsonResult({ a: 1 }, ["shown"]), {
    content: [{ type: "text", text: '[\n  "shown"\n]' }],
    structuredContent: { a: 1 },
  });
});

Deno.test("sessionSchema accepts every description describeSession() gives, field for field", () => {
  // The tools declare this schema as their output: the SDK refuses a result it does not accept,
  // and parsing drops any field it does not name.
  const at = new Date("2030-01-01T00:00:00Z");
  const sessions = [
    SESSION,
    { ...SESSION, scopes: [SESSION.scopes[0]], profile: "prod" },
    { ...SESSION, scopes: [SESSION.scopes[1]] },
    { ...SESSION, scopes: [{ service: "s3", level: "list" as const }] },
  ];
  const levels = [];
  for (const session of sessions) {
    const described = describeSession(session, at);
    assert.deepEqual(sessionSchema.parse(described), described);
    levels.push(described.level);
  }
  assert.deepEqual(levels, ["mixed", "read_only", "full", "list"]);
  // A masked grant's calls, the latest refused by the proxy: its reason, and the count by reason.
  const minting = "credential-minting action refused under --masked" as const;
  const masked = describeSession(SESSION, at, {
    calls: 3,
    refused: 2,
    refusalReasons: { [minting]: 1 },
    unanswered: 0,
    unverified: 0,
    last: {
      time: at,
      service: "sts",
      action: "GetSessionToken",
      region: "eu-west-1",
      status: 403,
      bytesIn: 0,
      bytesOut: 0,
      refused: "AccessDenied",
      refusalReason: minting,
    },
  });
  assert.deepEqual(sessionSchema.parse(masked), masked);
  assert.deepEqual(masked.refusal_reasons, { [minting]: 1 });
  assert.equal(masked.last_call?.refusal_reason, minting);
  assert.equal(masked.unverified_requests, undefined, "none: not said");
  assert.equal(masked.unanswered_calls, undefined, "none: not said");
  // A call sent to AWS that got no answer: counted apart, never refused, its reason in last_call.
  const waited = "sent to AWS, no answer within the proxy's idle timeout" as const;
  const unanswered = describeSession(SESSION, at, {
    calls: 1,
    refused: 0,
    refusalReasons: {},
    unanswered: 1,
    unverified: 0,
    last: {
      time: at,
      service: "lambda",
      action: "Invoke",
      region: "eu-west-1",
      resource: "wipe-prod",
      status: 504,
      bytesIn: 2,
      bytesOut: 0,
      unanswered: waited,
    },
  });
  assert.deepEqual(sessionSchema.parse(unanswered), unanswered);
  assert.deepEqual(
    [unanswered.refused_calls, unanswered.unanswered_calls, unanswered.refusal_reasons],
    [0, 1, undefined],
  );
  assert.equal(unanswered.last_call?.refused, false);
  assert.equal(unanswered.last_call?.outcome_reason, waited);
  // Requests that only named the grant's stand-in key id: counted apart from its calls.
  const forged = describeSession(SESSION, at, {
    calls: 0,
    refused: 0,
    refusalReasons: {},
    unanswered: 0,
    unverified: 5,
  });
  assert.deepEqual(sessionSchema.parse(forged), forged);
  assert.deepEqual([forged.calls, forged.refused_calls, forged.unverified_requests], [0, 0, 5]);
  const { level: _, ...withoutLevel } = describeSession(SESSION, at);
  assert.equal(sessionSchema.safeParse({ ...withoutLevel, level: "admin" }).success, false);
  assert.equal(sessionSchema.safeParse(withoutLevel).success, false);
});

Deno.test("clientOf() names the client from the MCP handshake, and nothing before it", async () => {
  const server = new McpServer({ name: "timebound-iam", version: "0" });
  const ctx = { server } as unknown as ToolContext;
  assert.deepEqual(clientOf(ctx), { name: undefined, version: undefined });
  const client = new Client({ name: "claude-code", version: "2.0.1" });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await server.connect(serverTransport);
  await client.connect(clientTransport);
  try {
    assert.deepEqual(clientOf(ctx), { name: "claude-code", version: "2.0.1" });
  } finally {
    await client.close();
    await server.close();
  }
});
