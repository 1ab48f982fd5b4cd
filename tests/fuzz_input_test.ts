/**
 * Generated bad input: hundreds of malformed scopes, TTLs, regions, ARNs and profiles
 * through the CLI's entry point and through `grant_access` of one running server. Each is refused
 * with one line (exit 2, or an `isError` result), no stack trace, the server keeps answering,
 * and nothing is written anywhere but the server's own directories.
 */

import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { main } from "../main.ts";
import type { Io } from "../lib/core/io.ts";
import { baseEnv, cliCommand } from "./support/cli.ts";

/** A small deterministic generator, so a failure names a case that reproduces. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const NASTY = [
  "",
  " ",
  "\n",
  "\r\n",
  "\x1b[31m",
  "\x00",
  "\u202e",
  "'",
  '"',
  "$(id)",
  "`id`",
  ";",
  "|",
  "&&",
  "*",
  ",",
  ":",
  "::",
  "@",
  "/",
  "..",
  "constructor",
  "__proto__",
  "toString",
  "🙂",
  "é",
  "%00",
  "\\",
];

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)];
}

function junk(next: () => number, max = 12): string {
  let text = "";
  const length = 1 + Math.floor(next() * max);
  for (let i = 0; i < length; i++) text += pick(next, NASTY) || "x";
  return text;
}

/** Bad scope lists: bad levels, bad services, empty items, separators, huge ones. */
function badScopes(next: () => number, n: number): string[] {
  const out = [
    "s3:constructor",
    "s3:__proto__",
    "constructor:ro",
    "s3:ro,,dynamodb:ro",
    "s3",
    ":ro",
    "s3:",
    "s3:ro:full",
    "s3:ro,".repeat(800),
    "x".repeat(5000) + ":ro",
  ];
  while (out.length < n) {
    const kind = Math.floor(next() * 4);
    out.push(
      kind === 0
        ? `s3:${junk(next)}`
        : kind === 1
        ? `${junk(next)}:ro`
        : kind === 2
        ? `s3:ro,${junk(next)}`
        : junk(next, 30),
    );
  }
  return out;
}

/** Bad TTLs: out of bounds, malformed, huge. */
function badTtls(next: () => number, n: number): string[] {
  const out = [
    "0",
    "0m",
    "13h",
    "12h1m",
    "-1h",
    "1e9h",
    "99999999999999999999h",
    "1h-",
    "h",
    "1.5h",
  ];
  while (out.length < n) out.push(`${Math.floor(next() * 1000)}${junk(next, 3)}`);
  return out;
}

function badRegions(next: () => number, n: number): string[] {
  const out = ["garbage", "us-east-1; id", "us-east-1\nx", "US-EAST-1", "us-east", "useast1"];
  while (out.length < n) {
    const region = `us-${junk(next, 4)}-1`;
    // "us-constructor-1" has a region's form: only what could never be a region is bad input.
    if (!/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(region)) out.push(region);
  }
  return out;
}

function badArns(next: () => number, n: number): string[] {
  const out = [
    "arn:awsfoo-bar:iam::123456789012:role/x",
    "arn:aws:iam::12345:role/x",
    "arn:aws:iam::123456789012:user/x",
    "arn:aws:sts::123456789012:role/x",
    "arn:aws:iam::123456789012:role/",
    "role/x",
  ];
  while (out.length < n) out.push(`arn:aws:iam::123456789012:role/${junk(next, 4)}`);
  return out.filter((arn) => !/^arn:aws:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(arn));
}

function badProfiles(next: () => number, n: number): string[] {
  const out = ["", " ", "a\nb", "[x]", "p".repeat(200), "\x1b[2J"];
  while (out.length < n) {
    const name = junk(next, 5);
    if (/[^\x21-\x7e]|[[\]]/.test(name) || name.trim() === "") out.push(name);
  }
  return out;
}

function bufferIo(env: Record<string, string>): Io & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    env,
    stdinIsTerminal: false,
    stderrIsTerminal: false,
    stdout(text: string) {
      io.out += text;
    },
    stderr(text: string) {
      io.err += text;
    },
  };
  return io;
}

function assertRefusedLine(text: string, label: string): void {
  const lines = text.trimEnd().split("\n");
  // The MCP SDK's own schema check lists one issue per line (it joins zod's issues with
  // newlines, and offers no hook to change that); every message of ours is one line.
  if (!/^MCP error -32602: Input validation error/.test(text)) {
    assert.ok(lines.length <= 2, `${label}: ${JSON.stringify(text)}`);
    if (lines[1] !== undefined) assert.match(lines[1], /^hint: /, label);
  }
  assert.doesNotMatch(text, /\n\s+at |unexpected failure|os error/i, label);
  assert.ok(text.length < 2000, `${label}: ${text.length} characters`);
}

Deno.test("the CLI refuses 200+ generated bad inputs with exit 2 and one line", async () => {
  const next = random(10);
  const root = await Deno.makeTempDir({ prefix: "tbi-fuzz-cli-" });
  const env = { HOME: `${root}/home`, TMPDIR: `${root}/tmp`, XDG_STATE_HOME: `${root}/state` };
  const exec = ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m"];
  const cases: string[][] = [
    ...badScopes(next, 70).map((s) => ["policy", "-s", s]),
    ...badTtls(next, 40).map((t) => ["policy", "-s", "s3:ro", "-t", t]),
    ...badRegions(next, 40).map((r) => [...exec, "--region", r, "--", "true"]),
    ...badArns(next, 40).map((a) => [...exec, "--role-arn", a, "--", "true"]),
    ...badProfiles(next, 30).map((p) => [...exec, "--profile", p, "--", "true"]),
  ];
  assert.ok(cases.length >= 200, `${cases.length} cases`);
  try {
    for (const args of cases) {
      const io = bufferIo(env);
      const code = await main(args, io);
      const label = JSON.stringify(args).slice(0, 200);
      assert.equal(code, 2, `${label}: ${io.err}`);
      assert.equal(io.out, "", label);
      assert.match(io.err, /^error: /, label);
      assertRefusedLine(io.err, label);
    }
    // Nothing was written: no home, no temporary files, no state.
    assert.deepEqual(await Array.fromAsync(Deno.readDir(root)), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("grant_access refuses 200+ generated bad requests; the server keeps answering", async () => {
  const next = random(20);
  const root = await Deno.makeTempDir({ prefix: "tbi-fuzz-mcp-" });
  const tmp = `${root}/tmp`;
  await Deno.mkdir(tmp);
  const env = {
    ...await baseEnv(`${root}/home`),
    TMPDIR: tmp,
    XDG_STATE_HOME: `${root}/state`,
    // No endpoint: a request that got as far as AWS would fail, not be refused.
    AWS_ENDPOINT_URL_STS: "http://127.0.0.1:9",
  };
  const requests: Array<Record<string, unknown>> = [
    ...badScopes(next, 60).map((scopes) => ({ scopes })),
    ...badScopes(next, 40).map((s) => ({ services: [s] })),
    ...badTtls(next, 40).map((ttl) => ({ services: ["s3"], ttl })),
    ...badProfiles(next, 25).map((profile) => ({ services: ["s3"], profile })),
    ...Array.from({ length: 30 }, () => ({ services: ["s3"], level: junk(next) })),
    { services: Array(5000).fill("s3") },
    { services: "s3" },
    { services: [1, 2] },
    { ttl: 15 },
    {},
    { scopes: "s3:ro".repeat(1_000_000) },
  ];
  assert.ok(requests.length >= 200, `${requests.length} requests`);
  const [command, args] = cliCommand(["serve", "--allow", "s3:full,dynamodb:ro"]);
  const transport = new StdioClientTransport({ command, args, env, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
  const client = new Client({ name: "fuzz", version: "1" });
  await client.connect(transport);
  try {
    for (const [i, request] of requests.entries()) {
      const label = `#${i} ${JSON.stringify(request).slice(0, 200)}`;
      // A message over the transport's bound is refused whole, as a JSON-RPC error.
      const result = await client.callTool({ name: "grant_access", arguments: request })
        .catch((error: Error) => ({ isError: true, content: [{ text: error.message }] }));
      const text = (result.content as Array<{ text: string }>).map((c) => c.text).join("\n");
      assert.equal(result.isError, true, `${label}: ${text}`);
      assertRefusedLine(text, label);
      const listed = await client.callTool({ name: "list_active_sessions", arguments: {} });
      assert.equal(listed.isError, undefined, label);
    }
  } finally {
    await client.close();
  }
  try {
    assert.doesNotMatch(stderr, /\n\s+at |uncaught/i);
    // Each stderr line is one bounded line.
    for (const line of stderr.trimEnd().split("\n")) {
      assert.ok(line.length < 3000, line.slice(0, 99));
    }
    // Written: the audit log (bounded lines) and nothing else; the env directory is gone.
    assert.deepEqual(await Array.fromAsync(Deno.readDir(tmp)), []);
    const audit = await Deno.readTextFile(`${root}/state/timebound-iam/audit.jsonl`);
    const lines = audit.trimEnd().split("\n");
    // Requests the schema refuses never reach the tool, so fewer lines than requests.
    assert.ok(lines.length > 0 && lines.length <= requests.length, `${lines.length} lines`);
    for (const line of lines) assert.ok(line.length < 3000, line.slice(0, 99));
    const written = (await Array.fromAsync(Deno.readDir(root))).map((e) => e.name).sort();
    assert.deepEqual(written, ["home", "state", "tmp"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
