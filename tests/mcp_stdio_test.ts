/**
 * What `serve` does with a connection's raw lines: one handshake per connection, and a message
 * over the bound refused before it is parsed. The real CLI over stdio, against the local STS
 * endpoint, and the transport itself with streams in memory.
 */

import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { cliCommand } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";
import { createStdioTransport } from "../lib/mcp/stdio_transport.ts";

const windows = Deno.build.os === "windows";

/** A `serve` child spoken to in raw JSON-RPC lines. */
interface RawServe {
  send(message: unknown): Promise<void>;
  sendLine(line: string): Promise<void>;
  /** The answer to the request with this id. */
  answer(id: number): Promise<Record<string, unknown>>;
  auditLines(): Promise<Array<Record<string, unknown>>>;
  /** Stops the server (end of input) and returns all it wrote on stderr. */
  stop(): Promise<string>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function rawServe(args: string[] = []): Promise<RawServe> {
  const fx = await startFixture({ prefix: "tbi-stdio-" });
  await Deno.mkdir(fx.path("tmp"));
  const env = { ...fx.childEnv, TMPDIR: fx.path("tmp"), XDG_STATE_HOME: fx.path("state") };
  const [command, cliArgs] = cliCommand(["serve", ...args]);
  const child = new Deno.Command(command, {
    args: cliArgs,
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let ended = false;
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const answers = new Map<number, Record<string, unknown>>();
  let buffered = "";
  return {
    send: (message) => writer.write(encoder.encode(`${JSON.stringify(message)}\n`)),
    sendLine: (line) => writer.write(encoder.encode(`${line}\n`)),
    async answer(id) {
      while (!answers.has(id)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`serve ended before answering ${id}`);
        buffered += value;
        const lines = buffered.split("\n");
        buffered = lines.pop()!;
        for (const line of lines.filter(Boolean)) {
          const message = JSON.parse(line);
          answers.set(message.id, message);
        }
      }
      return answers.get(id)!;
    },
    async auditLines() {
      const text = await Deno.readTextFile(fx.path("state", "timebound-iam", "audit.jsonl"));
      return text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
    },
    async stop() {
      ended = true;
      await writer.close().catch(() => {});
      await child.status;
      return await stderr;
    },
    async [Symbol.asyncDispose]() {
      if (windows || ended) await writer.close().catch(() => {});
      else child.kill("SIGTERM");
      await writer.close().catch(() => {});
      await reader.cancel().catch(() => {});
      await child.status;
      await stderr;
      await fx[Symbol.asyncDispose]();
    },
  };
}

function initialize(id: number, name: string, capabilities: Record<string, unknown> = {}) {
  return {
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities, clientInfo: { name, version: "1" } },
  };
}

function grant(id: number, args: Record<string, unknown>) {
  return {
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: "grant_access", arguments: args },
  };
}

Deno.test("serve refuses a second initialize and keeps the first client's name", async () => {
  await using serve = await rawServe();
  await serve.send(initialize(1, "first-agent"));
  assert.ok((await serve.answer(1)).result, "the first handshake is answered");
  await serve.send({ jsonrpc: "2.0", method: "notifications/initialized" });
  // The second one claims another name and the elicitation capability the approval gate reads.
  await serve.send(initialize(2, "second-agent", { elicitation: { form: {} } }));
  const refused = await serve.answer(2) as { error?: { code: number; message: string } };
  assert.equal(refused.error?.code, -32600, JSON.stringify(refused));
  assert.equal(refused.error?.message, "Already initialized: one handshake per connection");
  const granted = await serve.answer((await serve.send(grant(3, { services: ["s3"] })), 3));
  assert.equal((granted.result as { isError?: boolean }).isError, undefined);
  const audited = (await serve.auditLines()).filter((line) => line.event === "grant");
  assert.equal(audited.length, 1, JSON.stringify(audited));
  assert.deepEqual(audited[0].client, { name: "first-agent", version: "1" });
});

Deno.test("serve refuses a message over the bound without parsing it, and goes on", async () => {
  await using serve = await rawServe();
  await serve.send(initialize(1, "big-sender"));
  await serve.answer(1);
  await serve.send({ jsonrpc: "2.0", method: "notifications/initialized" });
  const huge = JSON.stringify(grant(7, { services: ["x".repeat(2_000_000)] }));
  await serve.sendLine(huge);
  const refused = await serve.answer(7) as { error?: { code: number; message: string } };
  assert.equal(refused.error?.code, -32600, JSON.stringify(refused).slice(0, 300));
  assert.equal(refused.error?.message, "Message too long: over 1048576 bytes");
  // The connection is intact: the next request is answered.
  await serve.send({ jsonrpc: "2.0", id: 8, method: "tools/list" });
  assert.ok((await serve.answer(8)).result);
});

Deno.test("serve logs ignored bad input a few times a minute, then counts the rest", async () => {
  await using serve = await rawServe();
  await serve.send(initialize(1, "noisy-client"));
  await serve.answer(1);
  await serve.sendLine(Array(2000).fill("x").join("\n"));
  await serve.send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
  assert.ok((await serve.answer(2)).result, "the connection goes on");
  const stderr = await serve.stop();
  const each = stderr.match(/ignored bad input: Unexpected token/g) ?? [];
  assert.equal(each.length, 10, stderr);
  const counted = [...stderr.matchAll(/ignored bad input: (\d+) more since \S+, not logged/g)]
    .reduce((sum, found) => sum + Number(found[1]), 0);
  assert.equal(each.length + counted, 2000, stderr);
  assert.ok(stderr.length < 5000, `${stderr.length} bytes of stderr`);
});

/** Standard input and output in memory, as Node's process streams behave for the transport. */
function memoryStreams() {
  const stdin = Object.assign(new EventEmitter(), { pause: () => stdin });
  const written: string[] = [];
  const stdout = Object.assign(new EventEmitter(), {
    write(text: string) {
      written.push(text);
      return true;
    },
  });
  return { stdin, stdout, written };
}

Deno.test("the stdio transport refuses a long line as it arrives, before any parse", async (t) => {
  const { stdin, stdout, written } = memoryStreams();
  const transport = createStdioTransport(stdin, stdout, { maxMessageBytes: 100 });
  const messages: unknown[] = [];
  const errors: string[] = [];
  transport.onmessage = (message) => messages.push(message);
  transport.onerror = (error) => errors.push(error.message);
  await transport.start();
  const encoder = new TextEncoder();
  const feed = (text: string) => stdin.emit("data", encoder.encode(text));

  await t.step("a message within the bound, in pieces, is delivered", () => {
    feed('{"jsonrpc":"2.0","id":1,');
    feed('"method":"ping"}\r\n{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
    assert.deepEqual(messages, [
      { jsonrpc: "2.0", id: 1, method: "ping" },
      { jsonrpc: "2.0", method: "notifications/initialized" },
    ]);
  });
  await t.step("a long line that is not even JSON gets 'too long', not a parse error", () => {
    feed(`{"jsonrpc":"2.0","method":"tools/call","params":{"x":"${"y".repeat(300)}`);
    assert.equal(written.length, 0, "nothing is answered before the line ends");
    feed(`${"z".repeat(300)}"},"id":"req-9"}\n`);
    assert.equal(written.length, 1);
    assert.deepEqual(JSON.parse(written[0]), {
      jsonrpc: "2.0",
      id: "req-9",
      error: { code: -32600, message: "Message too long: over 100 bytes" },
    });
    assert.match(errors.at(-1)!, /^Refused a message of \d+ bytes: longer than 100 bytes$/);
  });
  await t.step("an id only inside the arguments is not taken for the request's", () => {
    feed(`{"jsonrpc":"2.0","method":"x","params":{"a":"${"b".repeat(200)}","id":5}}\n`);
    assert.equal(JSON.parse(written.at(-1)!).id, null);
  });
  await t.step("an id written first is found", () => {
    feed(`{"jsonrpc":"2.0","id":12,"method":"x","params":{"a":"${"b".repeat(200)}"}}\n`);
    assert.equal(JSON.parse(written.at(-1)!).id, 12);
  });
  await t.step("a JSON-RPC batch is answered with an error, not left waiting", () => {
    const before = written.length;
    feed('[{"jsonrpc":"2.0","id":5,"method":"ping"}]\n');
    assert.deepEqual(written.slice(before).map((line) => JSON.parse(line)), [{
      jsonrpc: "2.0",
      id: null,
      error: { code: -32600, message: "Batches are not supported: send one message per line" },
    }]);
    assert.match(errors.at(-1)!, /^Refused a JSON-RPC batch of 1 messages$/);
  });

  await t.step("after a refusal the next message is delivered", () => {
    feed('{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    assert.deepEqual(messages.at(-1), { jsonrpc: "2.0", id: 2, method: "ping" });
  });
  await transport.close();
});
