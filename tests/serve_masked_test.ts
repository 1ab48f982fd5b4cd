// serve --masked end to end: the real CLI serving MCP over stdio to the SDK's Client, against the
// local endpoint, which stands in for AWS behind the proxy (serve's own AWS_ENDPOINT_URL is the
// proxy's upstream, as a user's would be) and refuses what a session's policy does not allow, by
// an IAM simulator. The agent's child is `sh -c 'env $(cat FILE) aws …'`
// with the AWS CLI v1 that endpointAwareAws finds on PATH (it honours AWS_ENDPOINT_URL; Debian's
// /usr/bin/aws 2.9.19 does not), called by its full path. sh children: Linux and macOS only.
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { parse as parseDotenv } from "dotenv";
import { cliCommand } from "./support/cli.ts";
import { endpointAwareAws } from "./support/aws_cli.ts";
import { startFixture } from "./support/fixture.ts";
import { simulated } from "./support/iam_simulator.ts";

const cli = await endpointAwareAws();
const ignore = cli.path === undefined || Deno.build.os === "windows";
const note = cli.path === undefined ? ` (ignored: ${cli.version})` : "";

function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

async function maskedServe(args: string[] = [], config?: unknown) {
  const fx = await startFixture({
    prefix: "tbi-serve-masked-",
    aws: { sessionPolicy: simulated },
  });
  const tmp = fx.path("tmp");
  await Deno.mkdir(tmp);
  if (config !== undefined) {
    await Deno.mkdir(fx.path(".config", "timebound-iam"), { recursive: true });
    await Deno.writeTextFile(
      fx.path(".config", "timebound-iam", "config.json"),
      JSON.stringify(config),
    );
  }
  const env = {
    ...fx.childEnv,
    TMPDIR: tmp,
    XDG_STATE_HOME: fx.path("state"),
    AWS_ENDPOINT_URL: fx.aws.url,
  };
  const [command, cliArgs] = cliCommand(["serve", ...args]);
  const transport = new StdioClientTransport({ command, args: cliArgs, env, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
  const client = new Client({ name: "masked-test", version: "0.0.1" });
  await client.connect(transport);
  return {
    fx,
    stderr: () => stderr,
    async call(name: string, callArgs: Record<string, unknown> = {}) {
      const result = await client.callTool({ name, arguments: callArgs });
      const content = result.content as Array<{ text: string }>;
      assert.ok(!result.isError, content.map((c) => c.text).join("\n"));
      return result.structuredContent as Record<string, unknown>;
    },
    /** Runs `sh -c SCRIPT` as an agent would, in a clean environment with no AWS files. */
    async agent(script: string) {
      const out = await new Deno.Command("sh", {
        args: ["-c", script],
        clearEnv: true,
        env: {
          PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
          HOME: fx.home,
          AWS_CONFIG_FILE: "/dev/null",
          AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
          AWS_EC2_METADATA_DISABLED: "true",
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decode = (b: Uint8Array) => new TextDecoder().decode(b);
      return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
    },
    async auditLines(): Promise<Array<Record<string, unknown>>> {
      const text = await Deno.readTextFile(fx.path("state", "timebound-iam", "audit.jsonl"));
      return text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
    },
    async [Symbol.asyncDispose]() {
      try {
        await client.close();
      } finally {
        await fx[Symbol.asyncDispose]();
      }
    },
  };
}

Deno.test(
  "serve --masked: stand-ins in the file, every call in the audit log, a refusal marked, the " +
    `counts listed, and revoke_session stops the next call${note}`,
  { ignore },
  async () => {
    await using served = await maskedServe(["--masked"]);
    const { fx } = served;
    const granted = await served.call("grant_access", { scopes: "s3:full", ttl: "15m" });
    assert.equal(granted.masked, true);
    assert.match(String(granted.credentials_note), /masked.*AWS_ENDPOINT_URL.*presigned/s);
    const file = String(granted.credential_file);
    const text = await Deno.readTextFile(file);
    const vars = parseDotenv(text);
    const session = fx.aws.sessions().find((s) => s.roleName === "timebound-iam-broker")!;
    assert.match(vars.AWS_ACCESS_KEY_ID, /^ASIA[A-Z2-7]{16}$/);
    assert.notEqual(vars.AWS_ACCESS_KEY_ID, session.accessKeyId);
    assert.match(vars.AWS_ENDPOINT_URL, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(vars.AWS_ENDPOINT_URL_STS, vars.AWS_ENDPOINT_URL, "serve's STS variable too");
    assert.equal(vars.AWS_REGION, "us-east-1");
    for (const secret of [...fx.aws.issuedSecrets(), session.accessKeyId]) {
      assert.ok(!text.includes(secret), "a real key, secret or token is in the env file");
    }
    const A = `env $(cat ${shQuote(file)}) ${shQuote(cli.path!)}`;
    const work = await served.agent([
      "set -e",
      `cd ${shQuote(fx.home)}`,
      "printf 'hello' > hello.txt",
      `${A} s3 mb s3://agent-bucket > /dev/null`,
      `${A} s3api put-object --bucket agent-bucket --key notes/a.txt --body hello.txt > /dev/null`,
      `${A} s3api get-object --bucket agent-bucket --key notes/a.txt back.txt > /dev/null`,
      `! ${A} dynamodb list-tables 2> denied.txt`,
      "cat back.txt",
    ].join("\n"));
    assert.equal(work.code, 0, work.stderr);
    assert.equal(work.stdout, "hello");
    const listed = await served.call("list_active_sessions");
    const [described] = listed.sessions as Array<Record<string, unknown>>;
    assert.equal(described.calls, 4);
    assert.equal(described.refused_calls, 1);
    assert.deepEqual(
      { ...described.last_call as Record<string, unknown>, time: undefined },
      { time: undefined, service: "dynamodb", action: "ListTables", status: 400, refused: true },
    );
    const revoked = await served.call("revoke_session", { session_id: granted.session_id });
    assert.match(String(revoked.note), /refuses every later call with ExpiredToken/);
    // The agent kept the variables (as one that copied them would): the very next call fails.
    const after = await served.agent(
      `env $(printf '%s\\n' ${shQuote(text)} | grep .) ${shQuote(cli.path!)} s3 ls`,
    );
    assert.equal(after.code, 255);
    assert.match(after.stderr, /\(ExpiredToken\)/);
    const calls = (await served.auditLines()).filter((line) => line.event === "call");
    assert.deepEqual(
      calls.map((c) => [c.service, c.action, c.resource, c.status, c.refused, c.refusal_reason]),
      [
        ["s3", "CreateBucket", "agent-bucket", 200, false, undefined],
        ["s3", "PutObject", "agent-bucket/notes/a.txt", 200, false, undefined],
        ["s3", "GetObject", "agent-bucket/notes/a.txt", 200, false, undefined],
        // Refused by AWS: the scopes say why, the proxy gives no reason of its own.
        ["dynamodb", "ListTables", undefined, 400, true, undefined],
        ["s3", "ListBuckets", undefined, 400, true, "grant expired or revoked"],
      ],
      "the audit log lists exactly the calls made, in order",
    );
    assert.ok(calls.every((c) => c.session_id === granted.session_id));
    const audit = await Deno.readTextFile(fx.path("state", "timebound-iam", "audit.jsonl"));
    for (const secret of [...fx.aws.issuedSecrets(), vars.AWS_SECRET_ACCESS_KEY]) {
      assert.ok(!audit.includes(secret) && !served.stderr().includes(secret));
    }
    assert.ok(!audit.includes("hello"), "no body in the audit log");
    assert.match(served.stderr(), /s3:GetObject agent-bucket\/notes\/a\.txt 200/);
  },
);

Deno.test(
  `serve.masked in the config file masks grants, one proxy serves them all, and --no-masked ` +
    `wins over it${note}`,
  { ignore },
  async (t) => {
    await t.step("serve.masked: true", async () => {
      await using served = await maskedServe([], { serve: { masked: true } });
      const granted = await served.call("grant_access", { scopes: "sts:ro", ttl: "5m" });
      assert.equal(granted.masked, true);
      const vars = parseDotenv(await Deno.readTextFile(String(granted.credential_file)));
      assert.match(vars.AWS_ENDPOINT_URL, /^http:\/\/127\.0\.0\.1:\d+$/);
      const who = await served.agent(
        `env $(cat ${shQuote(String(granted.credential_file))}) ${shQuote(cli.path!)} ` +
          "sts get-caller-identity --query Arn --output text",
      );
      assert.equal(who.code, 0, who.stderr);
      assert.match(who.stdout, new RegExp(`/${granted.session_id}\\n$`));
    });
    await t.step("two grants share one proxy; revoking one leaves the other working", async () => {
      await using served = await maskedServe(["--masked"]);
      const first = await served.call("grant_access", { scopes: "sts:ro", ttl: "5m" });
      const second = await served.call("grant_access", { scopes: "sts:ro", ttl: "5m" });
      const fileOf = (g: Record<string, unknown>) => String(g.credential_file);
      const [a, b] = [
        parseDotenv(await Deno.readTextFile(fileOf(first))),
        parseDotenv(await Deno.readTextFile(fileOf(second))),
      ];
      assert.equal(a.AWS_ENDPOINT_URL, b.AWS_ENDPOINT_URL);
      assert.notEqual(a.AWS_ACCESS_KEY_ID, b.AWS_ACCESS_KEY_ID);
      const keep = await Deno.readTextFile(fileOf(second));
      await served.call("revoke_session", { session_id: first.session_id });
      const who = await served.agent(
        `env $(printf '%s\\n' ${shQuote(keep)} | grep .) ${shQuote(cli.path!)} ` +
          "sts get-caller-identity --query Arn --output text",
      );
      assert.equal(who.code, 0, who.stderr);
      assert.match(who.stdout, new RegExp(`/${second.session_id}\\n$`));
    });
    await t.step("--no-masked over serve.masked", async () => {
      await using served = await maskedServe(["--no-masked"], { serve: { masked: true } });
      const granted = await served.call("grant_access", { scopes: "sts:ro", ttl: "5m" });
      assert.equal(granted.masked, undefined);
      const vars = parseDotenv(await Deno.readTextFile(String(granted.credential_file)));
      assert.equal(vars.AWS_ENDPOINT_URL, undefined);
    });
  },
);

Deno.test(
  `serve --masked: an agent's credential-minting call is refused, audited as refused by the ` +
    `proxy, and never reaches AWS${note}`,
  { ignore },
  async () => {
    await using served = await maskedServe(["--masked"]);
    const granted = await served.call("grant_access", { scopes: "sts:ro", ttl: "5m" });
    assert.match(
      String(granted.credentials_note),
      /presigned URLs are refused, and so are calls that mint credentials/,
    );
    const file = shQuote(String(granted.credential_file));
    const asked = await served.agent(
      `env $(cat ${file}) ${shQuote(cli.path!)} sts get-session-token`,
    );
    assert.equal(asked.code, 255);
    assert.equal(asked.stdout, "");
    assert.match(
      asked.stderr,
      /An error occurred \(AccessDenied\) when calling the GetSessionToken operation: timebound-iam's masked proxy refuses credential-minting actions such as sts:GetSessionToken: their answer would hand out real credentials/,
    );
    const minting = "credential-minting action refused under --masked";
    const [call] = (await served.auditLines()).filter((line) => line.event === "call");
    assert.deepEqual(
      [
        call.service,
        call.action,
        call.status,
        call.refused,
        call.error_code,
        call.reason,
        call.refusal_reason,
      ],
      [
        "sts",
        "GetSessionToken",
        403,
        true,
        "AccessDenied",
        "refused by the proxy: AccessDenied",
        minting,
      ],
    );
    assert.match(
      served.stderr(),
      new RegExp(`: sts:GetSessionToken 403 refused \\(AccessDenied\\): ${minting}\n`),
    );
    assert.equal(served.fx.aws.requests.filter((r) => r.action === "GetSessionToken").length, 0);
    const [described] = (await served.call("list_active_sessions")).sessions as Array<
      Record<string, unknown>
    >;
    assert.equal(described.refused_calls, 1);
    assert.deepEqual(described.refusal_reasons, { [minting]: 1 });
    assert.equal((described.last_call as Record<string, unknown>).refusal_reason, minting);
    // Revoking says the same, and so does the audit log's revocation line.
    const revoked = await served.call("revoke_session", { session_id: granted.session_id });
    assert.equal(revoked.revoked, true);
    assert.deepEqual(
      [revoked.masked, revoked.calls, revoked.refused_calls, revoked.refusal_reasons],
      [true, 1, 1, { [minting]: 1 }],
    );
    const [revocation] = (await served.auditLines()).filter((line) => line.event === "revocation");
    assert.deepEqual(
      [revocation.masked, revocation.calls, revocation.refused_calls, revocation.refusal_reasons],
      [true, 1, 1, { [minting]: 1 }],
    );
  },
);

Deno.test(
  `serve --masked: a copy's source is in its audit line, its stderr line and last_call, ` +
    `neutralised and bounded as --calls shows it${note}`,
  { ignore },
  async () => {
    await using served = await maskedServe(["--masked"]);
    const { fx } = served;
    const granted = await served.call("grant_access", { scopes: "s3:full", ttl: "15m" });
    const A = `env $(cat ${shQuote(String(granted.credential_file))}) ${shQuote(cli.path!)}`;
    const made = await served.agent([
      "set -e",
      `cd ${shQuote(fx.home)}`,
      "printf 'hello' > hello.txt",
      `${A} s3 mb s3://agent-bucket > /dev/null`,
      `${A} s3api put-object --bucket agent-bucket --key notes/a.txt --body hello.txt > /dev/null`,
      `${A} s3api copy-object --copy-source agent-bucket/notes/a.txt --bucket agent-bucket ` +
      "--key notes/b.txt > /dev/null",
    ].join("\n"));
    assert.equal(made.code, 0, made.stderr);
    const last = () =>
      served.call("list_active_sessions").then((listed) =>
        (listed.sessions as Array<Record<string, unknown>>)[0].last_call as Record<string, unknown>
      );
    assert.deepEqual({ ...await last(), time: undefined }, {
      time: undefined,
      service: "s3",
      action: "CopyObject",
      resource: "agent-bucket/notes/b.txt",
      source: "agent-bucket/notes/a.txt",
      status: 200,
      refused: false,
    });
    assert.match(
      served.stderr(),
      /: s3:CopyObject agent-bucket\/notes\/b\.txt from agent-bucket\/notes\/a\.txt 200\n/,
    );
    // A source with a zero-width space and a right-to-left override, past 256 characters: the
    // copy fails (no such object), and every view shows the same neutralised, visibly cut name.
    const long = `agent-bucket/x\u200by\u202ez${"k".repeat(300)}`;
    const shown = `agent-bucket/x?y?z${"k".repeat(255 - 18)}…`;
    const hostile = await served.agent(
      `${A} s3api copy-object --copy-source ${shQuote(long)} --bucket agent-bucket --key c ` +
        "> /dev/null 2>&1 && exit 9; exit 0",
    );
    assert.equal(hostile.code, 0, hostile.stderr);
    assert.equal((await last()).source, shown);
    const copies = (await served.auditLines()).filter((line) => line.action === "CopyObject");
    assert.deepEqual(copies.map((line) => [line.resource, line.source]), [
      ["agent-bucket/notes/b.txt", "agent-bucket/notes/a.txt"],
      ["agent-bucket/c", shown],
    ]);
    assert.ok(served.stderr().includes(`: s3:CopyObject agent-bucket/c from ${shown} 404`));
  },
);

Deno.test(
  `serve --masked: an agent's call the proxy refuses for its Host is in the audit log, the ` +
    `server's log and list_active_sessions, with its reason${note}`,
  { ignore },
  async () => {
    await using served = await maskedServe(["--masked"]);
    const granted = await served.call("grant_access", { scopes: "s3:full", ttl: "5m" });
    const file = String(granted.credential_file);
    const vars = parseDotenv(await Deno.readTextFile(file));
    // 127.1 is 127.0.0.1, but not a Host the proxy answers: the CLI signs for it all the same.
    const other = vars.AWS_ENDPOINT_URL.replace("127.0.0.1", "127.1");
    const asked = await served.agent(
      `env $(cat ${shQuote(file)}) ${shQuote(cli.path!)} --endpoint-url ${shQuote(other)} ` +
        "s3 ls s3://elsewhere-bucket",
    );
    assert.equal(asked.code, 255);
    assert.match(asked.stderr, /\(AccessDenied\).*Host 127\.0\.0\.1:PORT/);
    const reason = "not for a host, region or service the proxy serves";
    const [call] = (await served.auditLines()).filter((line) => line.event === "call");
    assert.deepEqual(
      [
        call.session_id,
        call.service,
        call.action,
        call.resource,
        call.status,
        call.refused,
        call.error_code,
        call.refusal_reason,
      ],
      [
        granted.session_id,
        "s3",
        "ListObjectsV2",
        "elsewhere-bucket",
        403,
        true,
        "AccessDenied",
        reason,
      ],
    );
    assert.match(
      served.stderr(),
      new RegExp(`: s3:ListObjectsV2 elsewhere-bucket 403 refused \\(AccessDenied\\): ${reason}\n`),
    );
    const [described] = (await served.call("list_active_sessions")).sessions as Array<
      Record<string, unknown>
    >;
    assert.deepEqual([described.calls, described.refused_calls], [1, 1]);
    assert.deepEqual(described.refusal_reasons, { [reason]: 1 });
    assert.equal((described.last_call as Record<string, unknown>).refusal_reason, reason);
    assert.equal(served.fx.aws.requests.filter((r) => r.service === "s3").length, 0);
  },
);
