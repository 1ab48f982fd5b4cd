// An approval ends when its question said: the time the human takes to answer comes off the
// session. The real `serve` over stdio with a client that asks its human (elicitation) and
// answers two seconds later, against the local STS endpoint.
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { cliCommand } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";

const ANSWER_AFTER_MS = 2000;

Deno.test("an approved grant ends when the approval's question said, not later", async () => {
  await using fx = await startFixture({ prefix: "tbi-approval-" });
  await Deno.mkdir(`${fx.home}/tmp`);
  const env = {
    ...fx.childEnv,
    TMPDIR: `${fx.home}/tmp`,
    XDG_STATE_HOME: `${fx.home}/state`,
    // The question gives the end in UTC only.
    TZ: "UTC",
  };
  const [command, args] = cliCommand(["serve", "--approve", "always", "--max-ttl", "1h"]);
  const transport = new StdioClientTransport({ command, args, env, stderr: "ignore" });
  const client = new Client(
    { name: "slow-human", version: "1" },
    { capabilities: { elicitation: { form: {} } } },
  );
  const questions: string[] = [];
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    questions.push(request.params.message);
    await new Promise((resolve) => setTimeout(resolve, ANSWER_AFTER_MS));
    return { action: "accept", content: { approve: true } };
  });
  await client.connect(transport);
  try {
    const result = await client.callTool({
      name: "grant_access",
      arguments: { services: ["s3"], ttl: "1h" },
    });
    assert.equal(result.isError, undefined, JSON.stringify(result.content));
    const shown = /\(until (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) UTC\)/.exec(questions[0]);
    assert.ok(shown, questions[0]);
    const until = `${shown[1]}T${shown[2]}Z`;
    const approvedEnd = new Date(until);

    const [assume] = fx.aws.requests.filter((r) => r.action === "AssumeRole");
    const duration = Number(assume.params.DurationSeconds);
    // The human's two seconds came off the hour (and a little more, for the calls before it).
    assert.ok(duration <= 3600 - ANSWER_AFTER_MS / 1000, `DurationSeconds ${duration}`);
    assert.ok(duration >= 3600 - 60, `DurationSeconds ${duration}`);
    // The policy denies everything after the end the question named.
    const policy = JSON.parse(assume.params.Policy);
    const deny = policy.Statement.find((s: { Effect: string; Condition?: unknown }) =>
      s.Effect === "Deny" && s.Condition
    );
    assert.deepEqual(deny?.Condition, {
      DateGreaterThan: { "aws:CurrentTime": until },
    });
    // What the agent is told, and what the endpoint issued, end no later.
    const expiresAt = new Date((result.structuredContent as { expires_at: string }).expires_at);
    assert.ok(expiresAt <= approvedEnd, `${expiresAt.toISOString()} after ${until}`);
    // STS counts the duration from its own receipt of the call, a few milliseconds later: the
    // session itself ends within a second of the end (the policy's Deny holds from the end on).
    const issued = new Date(fx.aws.sessions().at(-1)!.expiration);
    assert.ok(
      issued.getTime() <= approvedEnd.getTime() + 1000,
      `the session lasts until ${issued.toISOString()}`,
    );

    // A one-minute grant approved two seconds late keeps what is left of its minute.
    const short = await client.callTool({
      name: "grant_access",
      arguments: { services: ["s3"], ttl: "1m" },
    });
    assert.equal(short.isError, undefined, JSON.stringify(short.content));
    const shortShown = /\(until (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) UTC\)/.exec(questions[1]);
    assert.ok(shortShown, questions[1]);
    const shortUntil = `${shortShown[1]}T${shortShown[2]}Z`;
    const shortAssume = fx.aws.requests.filter((r) => r.action === "AssumeRole")[1];
    const shortDeny = JSON.parse(shortAssume.params.Policy).Statement.find(
      (s: { Effect: string; Condition?: unknown }) => s.Effect === "Deny" && s.Condition,
    );
    assert.deepEqual(shortDeny?.Condition, {
      DateGreaterThan: { "aws:CurrentTime": shortUntil },
    });
    const shortEnd = new Date((short.structuredContent as { expires_at: string }).expires_at);
    assert.ok(shortEnd <= new Date(shortUntil), `${shortEnd.toISOString()} after ${shortUntil}`);
  } finally {
    await client.close();
  }
});

Deno.test("an approval that leaves less than half a short grant's time is refused", async () => {
  await using fx = await startFixture({ prefix: "tbi-approval-late-" });
  await Deno.mkdir(`${fx.home}/tmp`);
  const env = { ...fx.childEnv, TMPDIR: `${fx.home}/tmp`, XDG_STATE_HOME: `${fx.home}/state` };
  const [command, args] = cliCommand(["serve", "--approve", "always", "--max-ttl", "1h"]);
  const transport = new StdioClientTransport({ command, args, env, stderr: "ignore" });
  const client = new Client(
    { name: "slower-human", version: "1" },
    { capabilities: { elicitation: { form: {} } } },
  );
  // A one-minute grant answered 31 seconds after the question: 29 seconds would be left.
  client.setRequestHandler(ElicitRequestSchema, async () => {
    await new Promise((resolve) => setTimeout(resolve, 31_000));
    return { action: "accept", content: { approve: true } };
  });
  await client.connect(transport);
  try {
    const late = await client.callTool(
      { name: "grant_access", arguments: { services: ["s3"], ttl: "1m" } },
      undefined,
      { timeout: 90_000 },
    );
    assert.equal(late.isError, true);
    assert.match(
      (late.content as Array<{ text: string }>)[0].text,
      /^The approval came too late: the approved time ended at \S+, or less than 30s of it is left, so no credentials were requested\nhint: /,
    );
    assert.equal(fx.aws.requests.filter((r) => r.action === "AssumeRole").length, 0);
  } finally {
    await client.close();
  }
});
