// Grants from the vault's keys end to end: exec, env, serve and credential-process sign with the
// vault's key, which is nowhere else, and the real `aws` CLI as the child
// (tests/support/vault_world.ts).
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { baseEnv, cliCommand, runCli } from "./support/cli.ts";
import { canRun, findTool, ignoredBecause } from "./support/system_tool.ts";
import { PtySession, shQuote } from "./support/pty.ts";
import {
  addDevKeys,
  assertNoSecrets,
  filesHolding,
  PASSPHRASE,
  world,
} from "./support/vault_world.ts";

const awsCli = await findTool("aws", "awscli");
const hasScript = Deno.build.os !== "windows" && await canRun("script");

Deno.test(
  `a grant from vault keys, no key in the environment nor credentials file, to the aws CLI${
    ignoredBecause(awsCli)
  }`,
  { ignore: !awsCli.found },
  async () => {
    await using w = await world();
    const user = w.aws.defaultUser;
    const keys = {
      AWS_ACCESS_KEY_ID: user.accessKeyId,
      AWS_SECRET_ACCESS_KEY: user.secretAccessKey,
    };
    assert.equal((await w.run(["keys", "add", "dev", "--from-env"], keys)).code, 0);
    await Deno.remove(`${w.home}/.aws/credentials`);
    const result = await w.run([
      "exec",
      "--profile",
      "dev",
      "--no-confirm",
      "-s",
      "s3:ro",
      "-t",
      "15m",
      "--",
      "aws",
      "sts",
      "get-caller-identity",
      "--endpoint-url",
      w.aws.url,
      "--output",
      "json",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      JSON.parse(result.stdout).Arn,
      /^arn:aws:sts::123456789012:assumed-role\/timebound-iam-broker\/timebound-iam-/,
    );
    const assume = w.aws.requests.find((r) => r.action === "AssumeRole");
    assert.equal(assume?.accessKeyId, user.accessKeyId, "AssumeRole signed with the vault's key");
    assertNoSecrets(w, [user.secretAccessKey]);
  },
);

Deno.test("serve grants from vault keys, and no process's arguments hold a key", async () => {
  await using w = await world();
  await addDevKeys(w);
  const env = { ...await baseEnv(w.home), ...w.env, XDG_STATE_HOME: `${w.home}/state` };
  await Deno.remove(`${w.home}/.aws/credentials`);
  const [command, args] = cliCommand(["serve", "--profile", "dev", "--allow", "s3:ro"]);
  const transport = new StdioClientTransport({ command, args, env, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
  const client = new Client({ name: "vault-test", version: "1" }, { capabilities: {} });
  await client.connect(transport);
  try {
    const result = await client.callTool({
      name: "grant_access",
      arguments: { services: ["s3"], level: "read_only", ttl: "15m" },
    });
    const text = (result.content as Array<{ text: string }>).map((c) => c.text).join("\n");
    w.outputs.push(text);
    assert.notEqual(result.isError, true, text);
    assert.match(JSON.parse(text).credential_file, /\.env$/);
    const assume = w.aws.requests.find((r) => r.action === "AssumeRole");
    assert.equal(assume?.accessKeyId, w.aws.defaultUser.accessKeyId);
    if (Deno.build.os === "linux") {
      // Every process's argument list while serve runs (Deno may not read /proc itself).
      const all = await new Deno.Command("sh", {
        args: ["-c", "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '"],
        stdout: "piped",
      }).output();
      const cmdlines = new TextDecoder().decode(all.stdout);
      assert.match(cmdlines, /main\.ts serve --profile dev/, "serve's own arguments were read");
      for (const secret of [w.aws.defaultUser.secretAccessKey, w.aws.defaultUser.accessKeyId]) {
        assert.ok(!cmdlines.includes(secret), "a key in a process's arguments");
      }
    }
    // The human rotates the keys while serve runs: its next grant signs with the new key.
    const rotated = await w.run(["keys", "rotate", "dev", "--yes"]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const [current] = w.aws.accessKeyIds("developer");
    const again = await client.callTool({
      name: "grant_access",
      arguments: { services: ["s3"], level: "read_only", ttl: "15m" },
    });
    const againText = (again.content as Array<{ text: string }>).map((c) => c.text).join("\n");
    w.outputs.push(againText);
    assert.notEqual(again.isError, true, againText);
    const assumes = w.aws.requests.filter((r) => r.action === "AssumeRole");
    assert.equal(assumes.at(-1)?.accessKeyId, current, "the rotated key signs");
  } finally {
    await client.close();
  }
  w.outputs.push(
    stderr,
    await Deno.readTextFile(`${w.home}/state/timebound-iam/audit.jsonl`).catch(() => ""),
  );
  assertNoSecrets(w, [w.aws.defaultUser.secretAccessKey]);
});

Deno.test({
  name: "serve on a terminal never asks the vault's passphrase: its standard input and output " +
    "stay MCP's, and the grant says to set TIMEBOUND_IAM_VAULT_PASSPHRASE",
  ignore: !hasScript,
  async fn() {
    await using w = await world();
    await addDevKeys(w);
    const env: Record<string, string> = {
      ...await baseEnv(w.home),
      ...w.env,
      XDG_STATE_HOME: `${w.home}/state`,
      TERM: "xterm",
    };
    delete env.TIMEBOUND_IAM_VAULT_PASSPHRASE;
    const out = `${w.home}/serve.out`;
    const err = `${w.home}/serve.err`;
    const [deno, args] = cliCommand(["serve", "--profile", "dev", "--allow", "s3:ro"]);
    // Standard input is the terminal; the protocol's answers and the log go to files.
    const pty = new PtySession(
      `${[deno, ...args].map(shQuote).join(" ")} >${shQuote(out)} 2>${shQuote(err)}`,
      env,
    );
    const answers = async (count: number): Promise<Array<Record<string, unknown>>> => {
      // Well under the minute a passphrase question would wait for a line that never comes.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const lines = (await Deno.readTextFile(out).catch(() => "")).split("\n").filter(Boolean);
        if (lines.length >= count) return lines.map((line) => JSON.parse(line));
        if (Date.now() > deadline) {
          throw new Error(
            `${lines.length} answers of ${count}; stderr:\n${await Deno.readTextFile(err).catch(
              () => "",
            )}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const send = (message: Record<string, unknown>) =>
      pty.type(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`);
    try {
      await send({
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "terminal-test", version: "1" },
        },
      });
      await answers(1);
      await send({ method: "notifications/initialized" });
      await send({
        id: 2,
        method: "tools/call",
        params: {
          name: "grant_access",
          arguments: { services: ["s3"], level: "read_only", ttl: "15m" },
        },
      });
      const grant = (await answers(2))[1].result as {
        isError?: boolean;
        content: { text: string }[];
      };
      assert.equal(grant.isError, true, JSON.stringify(grant));
      assert.match(grant.content[0].text, /passphrase.*TIMEBOUND_IAM_VAULT_PASSPHRASE/s);
      // The terminal still carries the protocol: the next request is answered.
      await send({ id: 3, method: "tools/call", params: { name: "list_active_sessions" } });
      assert.equal((await answers(3))[2].id, 3);
    } finally {
      await pty.close(10_000);
    }
    const stderr = await Deno.readTextFile(err);
    assert.doesNotMatch(stderr, /Vault passphrase: /);
    // Standard output held MCP messages only.
    const stdout = await Deno.readTextFile(out);
    for (const line of stdout.split("\n").filter(Boolean)) {
      assert.equal(JSON.parse(line).jsonrpc, "2.0", line);
    }
    assert.ok(!w.aws.requests.some((r) => r.action === "AssumeRole"), "nothing was granted");
    w.outputs.push(stdout, stderr, pty.text);
    assertNoSecrets(w, [w.aws.defaultUser.secretAccessKey, PASSPHRASE]);
  },
});

Deno.test("credential-process from vault keys caches its entry in the vault, not the cache directory", async () => {
  await using w = await world();
  await addDevKeys(w);
  const run = () =>
    runCli(["credential-process", "--profile", "dev", "-s", "s3:ro", "-t", "15m"], { env: w.env });
  const first = await run();
  assert.equal(first.code, 0, first.stderr);
  const second = await run();
  assert.equal(second.code, 0, second.stderr);
  assert.equal(JSON.parse(first.stdout).AccessKeyId, JSON.parse(second.stdout).AccessKeyId);
  assert.equal(w.aws.requests.filter((r) => r.action === "AssumeRole").length, 1, "cached");
  const cache = `${w.home}/.cache/timebound-iam`;
  assert.deepEqual(await filesHolding(cache, w.aws.issuedSecrets()), []);
  assert.deepEqual(await filesHolding(w.home, w.aws.issuedSecrets()), []);
});

Deno.test("the vault's passphrase never reaches a child that exec runs", async () => {
  await using w = await world();
  await addDevKeys(w);
  const seen = `${w.home}/child-env`;
  const grant = await w.run([
    "exec",
    "--profile",
    "dev",
    "--no-confirm",
    "-s",
    "s3:ro",
    "-t",
    "15m",
    "--",
    "sh",
    "-c",
    `env > '${seen}'`,
  ]);
  assert.equal(grant.code, 0, grant.stderr);
  const childEnv = await Deno.readTextFile(seen);
  assert.match(childEnv, /^AWS_SESSION_TOKEN=/m, "the child ran with the grant");
  assert.ok(!childEnv.includes(PASSPHRASE), "the passphrase reached the child's environment");
});
