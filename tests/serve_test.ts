/**
 * `timebound-iam serve` as agents run it: the real CLI (compile permission set) over stdio with
 * the SDK's stdio client, against the local STS endpoint, and the real `aws` CLI using the env
 * files it writes.
 */

import assert from "node:assert/strict";
import { normalize } from "node:path";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { parse as parseDotenv } from "dotenv";
import { cliCommand, runCli, windowsSystemEnv } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";
import { accountTrustPolicy, oneIdentityTrustPolicy } from "./support/policy_document.ts";
import type { LocalAws } from "./support/local_aws.ts";
import { cacheSsoToken, SSO_SETTINGS } from "./support/sso_token.ts";

interface Served extends AsyncDisposable {
  aws: LocalAws;
  client: Client;
  transport: StdioClientTransport;
  tmp: string;
  auditPath: string;
  stderr: () => string;
  call(name: string, args?: Record<string, unknown>): Promise<{
    isError?: boolean;
    text: string;
    structured: Record<string, unknown>;
  }>;
  envDir(): Promise<string>;
  /** The server's HOME. */
  home: string;
}

/** `serve ARGS` with `config` as its config file and `env` over the fixture's environment. */
async function serve(
  args: string[] = [],
  options: { config?: unknown; env?: Record<string, string> } = {},
): Promise<Served> {
  const { config } = options;
  const fx = await startFixture({ prefix: "tbi-serve-", env: options.env });
  const { aws } = fx;
  const tmp = fx.path("tmp");
  await Deno.mkdir(tmp);
  if (config !== undefined) {
    await Deno.mkdir(fx.path(".config", "timebound-iam"), { recursive: true });
    await Deno.writeTextFile(
      fx.path(".config", "timebound-iam", "config.json"),
      JSON.stringify(config),
    );
  }
  const env = { ...fx.childEnv, TMPDIR: tmp, XDG_STATE_HOME: fx.path("state") };
  const [command, cliArgs] = cliCommand(["serve", ...args]);
  const transport = new StdioClientTransport({ command, args: cliArgs, env, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
  const client = new Client({ name: "stdio-test", version: "0.0.1" });
  await client.connect(transport);
  return {
    aws,
    client,
    transport,
    tmp,
    home: fx.home,
    auditPath: fx.path("state", "timebound-iam", "audit.jsonl"),
    stderr: () => stderr,
    async call(name, callArgs = {}) {
      const result = await client.callTool({ name, arguments: callArgs });
      const content = result.content as Array<{ text: string }>;
      return {
        isError: result.isError as boolean | undefined,
        text: content.map((c) => c.text).join("\n"),
        structured: (result.structuredContent ?? {}) as Record<string, unknown>,
      };
    },
    async envDir() {
      const entries = await Array.fromAsync(Deno.readDir(tmp));
      assert.equal(entries.length, 1, JSON.stringify(entries));
      return `${tmp}/${entries[0].name}`;
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

const windows = Deno.build.os === "windows";

/**
 * Runs `aws sts get-caller-identity` with the variables of an env file, as the grant's usage
 * says: `env $(cat FILE) aws …` on POSIX; Windows has neither `env` nor `cat`, so there the
 * file's variables (read as dotenv) go to `aws` directly.
 */
async function awsCallerIdentity(file: string, endpoint: string, home: string) {
  const env = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    AWS_CONFIG_FILE: `${home}/none`,
    AWS_SHARED_CREDENTIALS_FILE: `${home}/none`,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
  };
  const out = windows
    ? await new Deno.Command("aws", {
      args: ["--endpoint-url", endpoint, "sts", "get-caller-identity", "--output", "json"],
      clearEnv: true,
      env: {
        ...windowsSystemEnv(),
        ...env,
        USERPROFILE: home,
        ...parseDotenv(await Deno.readTextFile(file)),
      },
    }).output()
    : await new Deno.Command("sh", {
      args: [
        "-c",
        'env $(cat "$1") aws --endpoint-url "$2" sts get-caller-identity --output json',
        "sh",
        file,
        endpoint,
      ],
      clearEnv: true,
      env,
    }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("serve over stdio: tools, a real grant in a private file, aws, list, revoke, concurrency, exit", async () => {
  await using s = await serve();
  const { tools } = await s.client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), [
    "grant_access",
    "list_active_sessions",
    "list_services",
    "revoke_session",
  ]);
  for (const tool of tools) {
    assert.equal(tool.inputSchema.type, "object");
    assert.equal(tool.outputSchema?.type, "object");
  }
  assert.equal(s.client.getServerVersion()?.name, "timebound-iam");

  const granted = await s.call("grant_access", {
    services: ["s3"],
    level: "read_only",
    ttl: "15m",
  });
  assert.ok(!granted.isError, granted.text);
  const id = String(granted.structured.session_id);
  const file = String(granted.structured.credential_file);
  const dir = await s.envDir();
  // normalize: on Windows the server joins with \ where this test joins with /.
  assert.equal(normalize(file), normalize(`${dir}/${id}.env`));
  if (!windows) {
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
  }
  const vars = parseDotenv(await Deno.readTextFile(file));
  const session = s.aws.sessions().find((x) => x.sessionName === id);
  assert.ok(session, "the endpoint issued this session");
  assert.equal(vars.AWS_ACCESS_KEY_ID, session.accessKeyId);
  assert.ok(s.aws.issuedSecrets().includes(vars.AWS_SECRET_ACCESS_KEY));
  assert.ok(s.aws.issuedSecrets().includes(vars.AWS_SESSION_TOKEN));
  assert.equal(vars.AWS_REGION, "us-east-1");
  for (const secret of [vars.AWS_SECRET_ACCESS_KEY, vars.AWS_SESSION_TOKEN]) {
    assert.ok(!granted.text.includes(secret));
  }

  const who = await awsCallerIdentity(file, s.aws.url, s.home);
  assert.equal(who.code, 0, who.stderr);
  assert.equal(
    JSON.parse(who.stdout).Arn,
    `arn:aws:sts::${s.aws.accountId}:assumed-role/timebound-iam-broker/${id}`,
  );

  const listed = await s.call("list_active_sessions");
  const sessions = JSON.parse(listed.text);
  assert.equal(sessions.length, 1);
  assert.equal(sessions[0].id, id);
  assert.match(sessions[0].ttl_remaining, /^1[45]m/);

  const revoked = await s.call("revoke_session", { session_id: id });
  assert.ok(!revoked.isError, revoked.text);
  await assert.rejects(() => Deno.stat(file), Deno.errors.NotFound);

  const refused = await s.call("grant_access", { services: ["s3"], ttl: "forever" });
  assert.ok(refused.isError);

  // Calls at once (within the 20 a minute an agent may make): each its own session and file.
  const many = await Promise.all(
    Array.from({ length: 16 }, () => s.call("grant_access", { services: ["dynamodb"] })),
  );
  assert.ok(many.every((r) => !r.isError), many.find((r) => r.isError)?.text);
  const ids = new Set(many.map((r) => r.structured.session_id));
  const files = new Set(many.map((r) => r.structured.credential_file));
  assert.equal(ids.size, 16);
  assert.equal(files.size, 16);
  const onDisk = (await Array.fromAsync(Deno.readDir(dir))).filter((e) => e.name.endsWith(".env"));
  assert.equal(onDisk.length, 16);

  // Closing stdin stops the server, which removes its directory.
  await s.transport.close();
  await assert.rejects(() => Deno.stat(dir), Deno.errors.NotFound);

  const audit = (await Deno.readTextFile(s.auditPath)).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(audit.filter((e) => e.event === "grant" && e.outcome === "granted").length, 17);
  assert.equal(audit.filter((e) => e.event === "refusal").length, 1);
  assert.equal(audit.filter((e) => e.event === "revocation").length, 1);
  assert.equal(audit.length, 19);
  assert.deepEqual(audit[0].client, { name: "stdio-test", version: "0.0.1" });
  if (!windows) assert.equal((await Deno.stat(s.auditPath)).mode! & 0o777, 0o600);
  const auditText = await Deno.readTextFile(s.auditPath);
  for (const secret of s.aws.issuedSecrets()) {
    assert.ok(!auditText.includes(secret), "a secret is in the audit log");
    assert.ok(!s.stderr().includes(secret), "a secret is on stderr");
  }
  assert.match(s.stderr(), /stopping \(end of input\)/);
});

// Windows has no SIGTERM (Deno's kill() there ends the server at once, with no clean-up), so
// there the server is stopped by the end of its input instead.
Deno.test("serve writes only JSON-RPC on stdout, also for bad input, and stops on SIGTERM (end of input on Windows)", async () => {
  await using fx = await startFixture({ prefix: "tbi-serve-" });
  const { aws } = fx;
  const tmp = fx.path("tmp");
  await Deno.mkdir(tmp);
  const env = { ...fx.childEnv, TMPDIR: tmp, XDG_STATE_HOME: fx.path("state") };
  const [command, args] = cliCommand(["serve", "--allow", "s3:ro", "--max-ttl", "30m"]);
  const child = new Deno.Command(command, {
    args,
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const requests = [
    {
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "raw", version: "1" },
      },
    },
    { method: "notifications/initialized" },
    "this is not json",
    '{"jsonrpc":"2.0","id":',
    { id: 2, method: "no/such/method" },
    { id: 3, method: "tools/call", params: { name: "no_such_tool", arguments: {} } },
    {
      id: 4,
      method: "tools/call",
      params: { name: "grant_access", arguments: { services: 42 } },
    },
    {
      id: 5,
      method: "tools/call",
      params: { name: "grant_access", arguments: { services: ["s3"], level: "full" } },
    },
    {
      id: 6,
      method: "tools/call",
      params: { name: "grant_access", arguments: { services: ["s3"], ttl: "1h" } },
    },
    {
      id: 7,
      method: "tools/call",
      params: { name: "revoke_session", arguments: { session_id: "../../x" } },
    },
    {
      id: 8,
      method: "tools/call",
      params: { name: "grant_access", arguments: { services: ["s3"] } },
    },
  ];
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  for (const request of requests) {
    const line = typeof request === "string"
      ? request
      : JSON.stringify({ jsonrpc: "2.0", ...request });
    await writer.write(encoder.encode(`${line}\n`));
  }
  // Wait for the last answer, then stop the server with SIGTERM (closing stdin on Windows).
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  while (!stdout.includes('"id":8')) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += value;
  }
  const dir = (await Array.fromAsync(Deno.readDir(`${tmp}`)))[0].name;
  if (windows) await writer.close();
  else child.kill("SIGTERM");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += value;
  }
  await writer.close().catch(() => {});
  const status = await child.status;
  const stderr = new TextDecoder().decode(
    new Uint8Array(await new Response(child.stderr).arrayBuffer()),
  );
  assert.equal(status.code, 0, stderr);
  const lines = stdout.split("\n").filter((l) => l !== "");
  const messages = lines.map((line) => JSON.parse(line));
  for (const message of messages) assert.equal(message.jsonrpc, "2.0");
  const byId = new Map(messages.map((m) => [m.id, m]));
  assert.equal(byId.get(2).error.code, -32601);
  for (const id of [3, 4, 5, 6, 7]) assert.equal(byId.get(id).result.isError, true, `id ${id}`);
  assert.match(byId.get(5).result.content[0].text, /Not allowed by this server: s3:full/);
  assert.match(byId.get(6).result.content[0].text, /the maximum is 30m/);
  assert.equal(byId.get(8).result.isError, undefined, JSON.stringify(byId.get(8)));
  assert.match(stderr, /ready: env files in/);
  assert.match(stderr, windows ? /stopping \(end of input\)/ : /stopping \(SIGTERM\)/);
  await assert.rejects(() => Deno.stat(`${tmp}/${dir}`), Deno.errors.NotFound);
  for (const secret of aws.issuedSecrets()) assert.ok(!stderr.includes(secret));
});

Deno.test("serve resolves credentials at the first grant and does not cache a failure", async () => {
  await using s = await serve();
  s.aws.failNext("GetCallerIdentity", "ExpiredToken");
  const first = await s.call("grant_access", { services: ["s3"] });
  assert.ok(first.isError);
  assert.equal(
    first.text,
    "The base credentials of the default credentials have expired\n" +
      "hint: refresh them (aws sso login, or new session credentials) and try again",
  );
  const second = await s.call("grant_access", { services: ["s3"] });
  assert.ok(!second.isError, second.text);
});

Deno.test("an agent is told that AWS could not be reached, never the endpoint's host; the server's log names it", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const endpoint = `127.0.0.1:${listener.addr.port}`;
  listener.close();
  await using s = await serve([], { env: { AWS_ENDPOINT_URL_STS: `http://${endpoint}` } });
  const refused = await s.call("grant_access", { services: ["s3"] });
  assert.ok(refused.isError, refused.text);
  assert.equal(
    refused.text,
    "Could not reach AWS STS\n" +
      "hint: the server's log says why; try again later, or ask the human who started the server",
  );
  assert.ok(!refused.text.includes(String(listener.addr.port)), refused.text);
  assert.ok(
    s.stderr().includes(`Could not reach http://${endpoint}: connection refused`),
    s.stderr(),
  );
});

Deno.test("an agent is told that IAM Identity Center could not be reached, never its host; the server's log names it", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const endpoint = `127.0.0.1:${listener.addr.port}`;
  listener.close();
  // The profile must exist when serve starts: its config file lives beside the test's HOME.
  const dir = await Deno.makeTempDir({ prefix: "tbi-serve-sso-" });
  await using _dir = { [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
  await Deno.writeTextFile(
    `${dir}/config`,
    `[profile prod]\n${SSO_SETTINGS}endpoint_url = http://${endpoint}\n`,
  );
  await using s = await serve(["--profile", "prod"], {
    env: { AWS_CONFIG_FILE: `${dir}/config`, AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" },
  });
  await cacheSsoToken(s.home);
  const refused = await s.call("grant_access", { services: ["s3"] });
  assert.ok(refused.isError, refused.text);
  assert.equal(
    refused.text,
    "Could not reach AWS IAM Identity Center (SSO)\n" +
      "hint: the server's log says why; try again later, or ask the human who started the server",
  );
  assert.ok(
    s.stderr().includes(
      `Could not reach AWS IAM Identity Center (SSO) at ${endpoint} for profile "prod": ` +
        "connection refused",
    ),
    s.stderr(),
  );
});

Deno.test("serve takes its guardrails from the config file, and flags win", async () => {
  await using served = await serve(["--max-ttl", "30m"], {
    config: {
      serve: { allow: "s3:ro", maxTtl: "15m", approve: "never" },
    },
  });
  const beyondAllow = await served.call("grant_access", {
    services: ["s3"],
    level: "full",
    ttl: "15m",
  });
  assert.equal(beyondAllow.isError, true);
  assert.match(beyondAllow.text, /s3:ro/);
  // The flag's 30m wins over the file's 15m.
  const withinFlag = await served.call("grant_access", {
    services: ["s3"],
    level: "read_only",
    ttl: "30m",
  });
  assert.equal(withinFlag.isError, undefined, withinFlag.text);
  const beyondFlag = await served.call("grant_access", {
    services: ["s3"],
    level: "read_only",
    ttl: "45m",
  });
  assert.equal(beyondFlag.isError, true);
  assert.match(beyondFlag.text, /30m/);
});

Deno.test("serve --max-ttl 5m: the default TTL is 5m, and the env file and expires_at hold the deadline", async () => {
  await using s = await serve(["--max-ttl", "5m"]);
  const granted = await s.call("grant_access", { services: ["s3"] });
  assert.ok(!granted.isError, granted.text);
  const [call] = s.aws.requests.filter((r) => r.action === "AssumeRole");
  assert.equal(call.params.DurationSeconds, "900");
  const deny = JSON.parse(call.params.Policy).Statement.find((x: { Effect: string }) =>
    x.Effect === "Deny"
  );
  const deadline = new Date(deny.Condition.DateGreaterThan["aws:CurrentTime"]).toISOString();
  assert.equal(granted.structured.expires_at, deadline);
  assert.match(String(granted.structured.ttl_remaining), /^(5m|4m5\ds)$/);
  const vars = parseDotenv(await Deno.readTextFile(String(granted.structured.credential_file)));
  assert.equal(vars.AWS_CREDENTIAL_EXPIRATION, deadline);
  const listed = JSON.parse((await s.call("list_active_sessions")).text);
  assert.equal(listed[0].expires_at, deadline);
});

Deno.test("grant_access tells the agent of a bucket name that only an old bucket has, in one bounded line, and refuses a directory bucket with the scope to use", async () => {
  await using s = await serve();
  const note = '"Old_Logs" can only be a bucket created in us-east-1 before March 2018 ' +
    "(uppercase letters, underscores): if it is not one, check the spelling";
  const legacy = await s.call("grant_access", {
    services: ["s3"],
    resources: { s3: ["Old_Logs", "my-bucket"] },
  });
  assert.ok(!legacy.isError, legacy.text);
  assert.equal(legacy.structured.resource_note, note);
  assert.equal(JSON.parse(legacy.text).resource_note, note);
  // Said once, however many scopes name the bucket.
  const twice = await s.call("grant_access", { scopes: "s3:ro@Old_Logs,s3:full@Old_Logs/tmp/*" });
  assert.ok(!twice.isError, twice.text);
  assert.equal(twice.structured.resource_note, note);
  const plain = await s.call("grant_access", { scopes: "s3:ro@my-bucket,s3:ro@logs-*" });
  assert.ok(!plain.isError, plain.text);
  assert.equal(plain.structured.resource_note, undefined);

  const names = "ABCDEFGH".split("").map((c) => `Old_${c}_${"x".repeat(54)}`);
  const many = await s.call("grant_access", { services: ["s3"], resources: { s3: names } });
  assert.ok(!many.isError, many.text);
  const long = String(many.structured.resource_note);
  assert.match(long, /^"Old_A_x+" can only be a bucket .*… \(\d+ more characters\)$/);
  assert.ok(long.length < 1100, String(long.length));

  const directory = await s.call("grant_access", { scopes: "s3:ro@data--usw2-az1--x-s3" });
  assert.ok(directory.isError);
  assert.equal(
    directory.text,
    'Invalid S3 bucket "data--usw2-az1--x-s3": a name ending in --x-s3 is a directory bucket, ' +
      "whose actions are s3express's, not s3's\nhint: name it in an s3express scope by its ARN, " +
      "e.g. s3express:ro@arn:aws:s3express:REGION:ACCOUNT:bucket/data--usw2-az1--x-s3",
  );
  assert.equal(s.aws.requests.filter((r) => r.action === "AssumeRole").length, 4);
});

Deno.test("serve names the human and the MCP client in CloudTrail; --source-identity is audited beside the caller", async () => {
  await using s = await serve(["--source-identity", "alice@example.com"]);
  const granted = await s.call("grant_access", { services: ["s3", "dynamodb"] });
  assert.ok(!granted.isError, granted.text);
  const session = s.aws.sessions().find((x) => x.sessionName === granted.structured.session_id);
  assert.equal(session?.sourceIdentity, "alice@example.com");
  assert.deepEqual(session?.tags, {
    "timebound-iam:client": "mcp:stdio-test/0.0.1",
    "timebound-iam:scopes": "s3:ro dynamodb:ro",
  });
  await s.transport.close();
  const [line] = (await Deno.readTextFile(s.auditPath)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assert.equal(line.source_identity, "alice@example.com");
  assert.equal(line.caller_name, "developer");
});

/**
 * A broker role whose identity permissions hang on the client tag, written the way an
 * administrator would: SourceIdentity and tags only for the command line and Claude Code.
 */
function clientListTrustPolicy(accountId: string): string {
  const root = { AWS: `arn:aws:iam::${accountId}:root` };
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Principal: root, Action: "sts:AssumeRole" },
      {
        Effect: "Allow",
        Principal: root,
        Action: ["sts:SetSourceIdentity", "sts:TagSession"],
        Condition: {
          StringLike: { "aws:RequestTag/timebound-iam:client": ["cli", "mcp:claude-code/*"] },
        },
      },
    ],
  });
}

const ROLE_ARN = "arn:aws:iam::123456789012:role/timebound-iam-broker";

Deno.test("an agent whose client name the broker role's conditions refuse gets an error, never a grant without identity, and nothing is remembered", async () => {
  await using s = await serve();
  s.aws.addRole({
    roleName: "timebound-iam-broker",
    trustPolicy: clientListTrustPolicy(s.aws.accountId),
  });
  for (let attempt = 0; attempt < 2; attempt++) {
    const refused = await s.call("grant_access", { services: ["s3"] });
    assert.ok(refused.isError, refused.text);
    const expected = `The trust policy of ${ROLE_ARN} refuses this grant's source identity or ` +
      "session tags (sts:SetSourceIdentity), and this grant never goes without them";
    assert.ok(refused.text.includes(expected), refused.text);
  }
  // One request per grant: no second one without identity (which this role would grant).
  const calls = s.aws.requests.filter((r) => r.action === "AssumeRole");
  assert.deepEqual(
    calls.map((c) => [c.status, c.params.SourceIdentity, c.params["Tags.member.1.Value"]]),
    [
      [403, "developer", "mcp:stdio-test/0.0.1"],
      [403, "developer", "mcp:stdio-test/0.0.1"],
    ],
  );
  // No credentials file was written, nor the config file.
  const written = await Array.fromAsync(Deno.readDir(await s.envDir()));
  assert.deepEqual(written.map((e) => e.name).filter((n) => n !== ".lock"), []);
  const { home } = s;
  await assert.rejects(
    Deno.stat(`${home}/.config/timebound-iam/config.json`),
    Deno.errors.NotFound,
  );
  await s.transport.close();
  const audit = (await Deno.readTextFile(s.auditPath)).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(audit.map((e) => [e.event, e.outcome]), [
    ["grant", "failed"],
    ["grant", "failed"],
  ]);

  // The human's own grants are accepted, and name them.
  const cli = await runCli(["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"], {
    env: { HOME: home, ...s.aws.env() },
  });
  assert.equal(cli.code, 0, cli.stderr);
  const last = s.aws.requests.filter((r) => r.action === "AssumeRole").at(-1);
  assert.deepEqual([last?.status, last?.params.SourceIdentity], [200, "developer"]);
});

Deno.test("serve on a broker role too old to name anyone: an error until the human's grant remembers it, then grants without identity", async () => {
  {
    await using s = await serve();
    s.aws.addRole({
      roleName: "timebound-iam-broker",
      trustPolicy: accountTrustPolicy(s.aws.accountId, { identity: false }),
    });
    const refused = await s.call("grant_access", { services: ["s3"] });
    assert.ok(refused.isError, refused.text);
    assert.ok(
      refused.text.includes(
        "hint: ask the role's administrator: timebound-iam setup aws --apply adds " +
          "sts:SetSourceIdentity and sts:TagSession to its trust policy",
      ),
      refused.text,
    );
    const { home } = s;
    await assert.rejects(
      Deno.stat(`${home}/.config/timebound-iam/config.json`),
      Deno.errors.NotFound,
    );
    // The human's own grant meets the refusal and remembers it; the running server reads the
    // config file at each grant, and goes without identity from the next one, saying so.
    const cli = await runCli(["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"], {
      env: { HOME: home, ...s.aws.env() },
    });
    assert.equal(cli.code, 0, cli.stderr);
    const seen = s.aws.requests.length;
    const granted = await s.call("grant_access", { services: ["s3"] });
    assert.ok(!granted.isError, granted.text);
    const calls = s.aws.requests.slice(seen).filter((r) => r.action === "AssumeRole");
    assert.deepEqual(calls.map((c) => [c.status, c.params.SourceIdentity]), [[200, undefined]]);
    assert.match(s.stderr(), /no source identity or session tags: .* refused them to /);
  }
  // A refusal remembered more than a day ago counts no more: the grant fails again.
  {
    await using old = await serve([], {
      config: {
        identityRefusals: [{
          role: ROLE_ARN,
          caller: "arn:aws:iam::123456789012:user/developer",
          at: new Date(Date.now() - 25 * 3600_000).toISOString(),
        }],
      },
    });
    old.aws.addRole({
      roleName: "timebound-iam-broker",
      trustPolicy: accountTrustPolicy(old.aws.accountId, { identity: false }),
    });
    const refused = await old.call("grant_access", { services: ["s3"] });
    assert.match(refused.text, /and this grant never goes without them/);
  }
  // A refusal remembered for another caller, or by an earlier version for no caller in
  // particular, is not this caller's: the grant still fails rather than go without identity.
  {
    await using others = await serve([], {
      config: {
        identityRefusals: [{
          role: ROLE_ARN,
          caller: "arn:aws:iam::123456789012:user/ops",
          at: new Date().toISOString(),
        }],
        rolesWithoutIdentity: [ROLE_ARN],
      },
    });
    others.aws.addRole({
      roleName: "timebound-iam-broker",
      trustPolicy: accountTrustPolicy(others.aws.accountId, { identity: false }),
    });
    const refused = await others.call("grant_access", { services: ["s3"] });
    assert.ok(refused.isError, refused.text);
    assert.match(refused.text, /and this grant never goes without them/);
    const calls = others.aws.requests.filter((r) => r.action === "AssumeRole");
    assert.deepEqual(calls.map((c) => [c.status, c.params.SourceIdentity]), [
      [403, "developer"],
    ]);
  }
  // As the human's grant leaves the config file: serve grants without identity, one request
  // each, and says so on stderr.
  await using remembered = await serve([], {
    config: {
      identityRefusals: [{
        role: ROLE_ARN,
        caller: "arn:aws:iam::123456789012:user/developer",
        at: new Date().toISOString(),
      }],
    },
  });
  remembered.aws.addRole({
    roleName: "timebound-iam-broker",
    trustPolicy: accountTrustPolicy(remembered.aws.accountId, { identity: false }),
  });
  for (let attempt = 0; attempt < 2; attempt++) {
    const granted = await remembered.call("grant_access", { services: ["s3"] });
    assert.ok(!granted.isError, granted.text);
  }
  const calls = remembered.aws.requests.filter((r) => r.action === "AssumeRole");
  assert.deepEqual(calls.map((c) => [c.status, c.params.SourceIdentity]), [
    [200, undefined],
    [200, undefined],
  ]);
  assert.match(
    remembered.stderr(),
    /no source identity or session tags: arn:aws:iam::123456789012:role\/timebound-iam-broker refused them to arn:aws:iam::123456789012:user\/developer \(see /,
  );
});

Deno.test("serve --source-identity never goes without identity, even where the config file remembers a refusal of its caller", async () => {
  await using s = await serve(["--source-identity", "ci-bot"], {
    config: {
      identityRefusals: [{
        role: ROLE_ARN,
        caller: "arn:aws:iam::123456789012:user/developer",
        at: new Date().toISOString(),
      }],
    },
  });
  s.aws.addRole({
    roleName: "timebound-iam-broker",
    trustPolicy: oneIdentityTrustPolicy(s.aws.accountId, "ci-bot"),
  });
  const granted = await s.call("grant_access", { services: ["s3"] });
  assert.ok(!granted.isError, granted.text);
  const calls = s.aws.requests.filter((r) => r.action === "AssumeRole");
  assert.deepEqual(calls.map((c) => [c.status, c.params.SourceIdentity]), [[200, "ci-bot"]]);
  assert.doesNotMatch(s.stderr(), /no source identity/);
});
