/**
 * Latency of the MCP server as an agent sees it: the real CLI's `serve` over stdio (the SDK's
 * stdio client), against the local STS endpoint. Reports the median and p99 of `grant_access`
 * (sequential, then 20 at a time), `list_active_sessions` and `list_services`, plus start-up
 * (spawn to `initialize` answered).
 *
 * Run: `deno task bench:mcp` (optionally `-- --runs 200`).
 *
 * @module
 */

// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { baseEnv, cliCommand } from "../tests/support/cli.ts";
import { LocalAws } from "../tests/support/local_aws.ts";

const runsFlag = Deno.args.indexOf("--runs");
const RUNS = runsFlag >= 0 ? Number(Deno.args[runsFlag + 1]) : 100;

function stats(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return `median ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms (n=${samples.length})`;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const aws = await LocalAws.start();
const root = await Deno.makeTempDir({ prefix: "tbi-bench-mcp-" });
await Deno.mkdir(`${root}/tmp`);
const env = {
  ...await baseEnv(`${root}/home`),
  ...aws.env(),
  TMPDIR: `${root}/tmp`,
  XDG_STATE_HOME: `${root}/state`,
};
const [command, args] = cliCommand(["serve", "--max-ttl", "1h"]);
const client = new Client({ name: "bench", version: "1" });
const transport = new StdioClientTransport({ command, args, env, stderr: "ignore" });
const startup = await timed(() => client.connect(transport));

const call = async (name: string, toolArgs: Record<string, unknown> = {}) => {
  const result = await client.callTool({ name, arguments: toolArgs });
  if (result.isError) throw new Error(JSON.stringify(result.content));
};

try {
  // The first grant also connects the broker (GetCallerIdentity) and warms the policy cache.
  const first = await timed(() => call("grant_access", { services: ["s3"] }));
  const grants: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    grants.push(await timed(() => call("grant_access", { scopes: "s3:ro,dynamodb:full" })));
  }
  const concurrent: number[] = [];
  for (let i = 0; i < Math.max(1, Math.floor(RUNS / 20)); i++) {
    concurrent.push(
      ...await Promise.all(
        Array.from({ length: 20 }, () => timed(() => call("grant_access", { services: ["sqs"] }))),
      ),
    );
  }
  const lists: number[] = [];
  for (let i = 0; i < RUNS; i++) lists.push(await timed(() => call("list_active_sessions")));
  const services: number[] = [];
  for (let i = 0; i < RUNS; i++) services.push(await timed(() => call("list_services")));
  const query: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    query.push(await timed(() => call("list_services", { query: "logs" })));
  }
  const lines = [
    `serve start-up to initialize answered: ${startup.toFixed(0)} ms`,
    `grant_access, first (connects the broker): ${first.toFixed(1)} ms`,
    `grant_access (s3:ro,dynamodb:full): ${stats(grants)}`,
    `grant_access, 20 concurrent (sqs:ro): ${stats(concurrent)}`,
    `list_active_sessions (${RUNS + 1 + concurrent.length} sessions): ${stats(lists)}`,
    `list_services (all): ${stats(services)}`,
    `list_services {query: "logs"}: ${stats(query)}`,
  ];
  // deno-lint-ignore no-console
  console.log(lines.join("\n"));
} finally {
  await client.close();
  await aws.close();
  await Deno.remove(root, { recursive: true });
}
