/**
 * How fast `serve` refuses a message over its transport's bound: a `grant_access` call whose one
 * argument is 2,000,000 characters, sent by the SDK's stdio client to the real CLI. The server
 * counts the line's bytes as they arrive and answers at its end, without parsing it; expect
 * well under 100 ms (parsing and checking it took 0.3 to 1.7 s). A small message's round trip is
 * measured beside it for scale.
 *
 * Run: `deno task bench:mcp-big` (optionally `-- --runs 50`).
 *
 * @module
 */

// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { baseEnv, cliCommand } from "../tests/support/cli.ts";

const runsFlag = Deno.args.indexOf("--runs");
const RUNS = runsFlag >= 0 ? Number(Deno.args[runsFlag + 1]) : 20;

function stats(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return `median ${at(0.5).toFixed(1)} ms, max ${
    sorted.at(-1)!.toFixed(1)
  } ms (n=${samples.length})`;
}

/** The time until `fn` rejects, as it must: the message is over the server's bound. */
async function timedRefusal(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  try {
    await fn();
  } catch {
    return performance.now() - start;
  }
  throw new Error("the server accepted a message over its bound");
}

const root = await Deno.makeTempDir({ prefix: "tbi-bench-big-" });
await Deno.mkdir(`${root}/tmp`);
const env = {
  ...await baseEnv(`${root}/home`),
  TMPDIR: `${root}/tmp`,
  XDG_STATE_HOME: `${root}/state`,
};
const [command, args] = cliCommand(["serve"]);
const client = new Client({ name: "bench-big", version: "1" });
await client.connect(new StdioClientTransport({ command, args, env, stderr: "ignore" }));
try {
  const huge = { services: ["x".repeat(2_000_000)] };
  // The client's own serializing of the message is timed too: it is measured alone below.
  const serializing: number[] = [];
  const big: number[] = [];
  const small: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    JSON.stringify({ jsonrpc: "2.0", id: i, method: "tools/call", params: { arguments: huge } });
    serializing.push(performance.now() - start);
    big.push(await timedRefusal(() => client.callTool({ name: "grant_access", arguments: huge })));
    const at = performance.now();
    await client.listTools();
    small.push(performance.now() - at);
  }
  // deno-lint-ignore no-console
  console.log([
    `a 2,000,000-character grant_access message, refused: ${stats(big)}`,
    `  of which the client's JSON.stringify: ${stats(serializing)}`,
    `tools/list, for scale: ${stats(small)}`,
  ].join("\n"));
} finally {
  await client.close();
  await Deno.remove(root, { recursive: true });
}
