/**
 * Hardening, end to end: the real CLI (compile permission set) against the local AWS endpoint and
 * hostile clients and directories. An agent cannot leave the profile, the server survives its
 * client, a hung endpoint times out, and hostile input or directories change nothing.
 */

import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { baseEnv, cliCommand, runCli } from "./support/cli.ts";
import { tempDir } from "./support/fixture.ts";
import { LocalAws } from "./support/local_aws.ts";
import { OTHER_USERS_SKIP, shAs } from "./support/users.ts";

const posix = Deno.build.os !== "windows";
const decoder = new TextDecoder();

/** stderr holds one `error:` line (and maybe one `hint:` line), no stack, no SDK or OS text. */
function assertOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split("\n");
  assert.ok(lines.length <= 2, stderr);
  assert.match(lines[0], /^error: /);
  if (lines[1] !== undefined) assert.match(lines[1], /^hint: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(stderr, /os error|unexpected failure|\n\s+at |Requires .* access/);
}

interface Served {
  client: Client;
  stderr: () => string;
  call(args: Record<string, unknown>): Promise<{ isError?: boolean; text: string }>;
  close(): Promise<void>;
}

async function serve(env: Record<string, string>, args: string[] = []): Promise<Served> {
  const [command, cliArgs] = cliCommand(["serve", ...args]);
  const transport = new StdioClientTransport({ command, args: cliArgs, env, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += decoder.decode(chunk));
  const client = new Client({ name: "hardening-test", version: "1" });
  await client.connect(transport);
  return {
    client,
    stderr: () => stderr,
    async call(callArgs) {
      const result = await client.callTool({ name: "grant_access", arguments: callArgs });
      const content = result.content as Array<{ text: string }>;
      return { isError: result.isError as boolean | undefined, text: content[0].text };
    },
    close: () => client.close(),
  };
}

Deno.test("serve uses the profile it was started with: an agent naming another is refused", async () => {
  await using aws = await LocalAws.start();
  const prod = aws.addUser({ userName: "prod-admin" });
  await using scratch = await tempDir("tbi-hard-");
  const root = await Deno.realPath(scratch.path);
  const home = `${root}/home`;
  const env: Record<string, string> = {
    ...await baseEnv(home),
    ...aws.env(),
    XDG_STATE_HOME: `${root}/state`,
  };
  delete env.AWS_ACCESS_KEY_ID;
  delete env.AWS_SECRET_ACCESS_KEY;
  await Deno.writeTextFile(
    `${home}/.aws/credentials`,
    `[dev]\naws_access_key_id = ${aws.defaultUser.accessKeyId}\n` +
      `aws_secret_access_key = ${aws.defaultUser.secretAccessKey}\n` +
      `[prod-admin]\naws_access_key_id = ${prod.accessKeyId}\n` +
      `aws_secret_access_key = ${prod.secretAccessKey}\n`,
  );
  const s = await serve({ ...env, AWS_PROFILE: "dev" });
  try {
    for (const profile of ["prod-admin", "nosuch"]) {
      const refused = await s.call({ services: ["s3"], profile });
      assert.equal(refused.isError, true);
      assert.match(
        refused.text,
        new RegExp(`^Profile "${profile}" is not allowed on this server`),
      );
      assert.doesNotMatch(refused.text, /\bdev\b|default|profiles found/);
    }
    const granted = await s.call({ services: ["s3"] });
    assert.equal(granted.isError, undefined, granted.text);
    const assumed = aws.requests.filter((r) => r.action === "AssumeRole");
    assert.deepEqual(assumed.map((r) => r.accessKeyId), [aws.defaultUser.accessKeyId]);
  } finally {
    await s.close();
  }
  assert.match(s.stderr(), /profile dev/);
  assert.match(
    s.stderr(),
    /granted s3:ro for 15m as timebound-iam-\S+ to hardening-test 1, profile dev/,
  );
  const audit = (await Deno.readTextFile(`${root}/state/timebound-iam/audit.jsonl`)).trim()
    .split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(audit.map((e) => [e.outcome, e.profile]), [
    ["refused", "prod-admin"],
    ["refused", "nosuch"],
    ["granted", "dev"],
  ]);

  // --allow-profiles widens it; the grant then uses that profile's keys.
  const wide = await serve({ ...env, AWS_PROFILE: "dev" }, ["--allow-profiles", "prod-admin"]);
  try {
    const granted = await wide.call({ services: ["s3"], profile: "prod-admin" });
    assert.equal(granted.isError, undefined, granted.text);
    assert.equal(
      aws.requests.filter((r) => r.action === "AssumeRole").at(-1)?.accessKeyId,
      prod.accessKeyId,
    );
  } finally {
    await wide.close();
  }
});

Deno.test("a profile an agent may name grants with its own broker role and MFA device from the config file", async () => {
  await using aws = await LocalAws.start();
  const prod = aws.addUser({ userName: "prod-admin" });
  // The human gave prod its own, narrower broker; the server's profile keeps the default one.
  const prodBroker = aws.addRole({ roleName: "timebound-iam-broker-prod" });
  await using scratch = await tempDir("tbi-hard-");
  const root = await Deno.realPath(scratch.path);
  const home = `${root}/home`;
  const config = `${root}/config/config.json`;
  const env: Record<string, string> = {
    ...await baseEnv(home),
    ...aws.env(),
    XDG_STATE_HOME: `${root}/state`,
    TIMEBOUND_IAM_CONFIG: config,
    AWS_PROFILE: "dev",
  };
  delete env.AWS_ACCESS_KEY_ID;
  delete env.AWS_SECRET_ACCESS_KEY;
  await Deno.writeTextFile(
    `${home}/.aws/credentials`,
    `[dev]\naws_access_key_id = ${aws.defaultUser.accessKeyId}\n` +
      `aws_secret_access_key = ${aws.defaultUser.secretAccessKey}\n` +
      `[prod-admin]\naws_access_key_id = ${prod.accessKeyId}\n` +
      `aws_secret_access_key = ${prod.secretAccessKey}\n`,
  );
  await Deno.mkdir(`${root}/config`, { mode: 0o700 });
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      profiles: {
        dev: { roleArn: aws.brokerRoleArn },
        "prod-admin": { roleArn: prodBroker.arn },
      },
    }),
    { mode: 0o600 },
  );
  const assumed = () =>
    aws.requests.filter((r) => r.action === "AssumeRole").map((r) => [
      r.accessKeyId,
      r.params.RoleArn,
    ]);
  const s = await serve(env, ["--allow-profiles", "prod-admin"]);
  try {
    const own = await s.call({ services: ["s3"] });
    assert.equal(own.isError, undefined, own.text);
    const other = await s.call({ services: ["s3"], profile: "prod-admin" });
    assert.equal(other.isError, undefined, other.text);
  } finally {
    await s.close();
  }
  assert.deepEqual(assumed(), [
    [aws.defaultUser.accessKeyId, aws.brokerRoleArn],
    [prod.accessKeyId, prodBroker.arn],
  ]);

  // Its MFA device too: a grant with prod's keys asks for prod's device, never dev's.
  const devDevice = aws.addMfaDevice().serialNumber;
  const prodDevice = aws.addMfaDevice({ userName: "prod-admin" }).serialNumber;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      profiles: {
        dev: { roleArn: aws.brokerRoleArn, mfaSerial: devDevice },
        "prod-admin": { roleArn: prodBroker.arn, mfaSerial: prodDevice },
      },
    }),
    { mode: 0o600 },
  );
  const mfa = await serve(env, ["--allow-profiles", "prod-admin"]);
  try {
    const refused = await mfa.call({ services: ["s3"], profile: "prod-admin" });
    assert.equal(refused.isError, true);
    assert.match(refused.text, new RegExp(`^An MFA code for ${prodDevice} is needed`));
  } finally {
    await mfa.close();
  }
});

Deno.test("bad CLI input is a usage error of one line, before any AWS call", async (t) => {
  await using aws = await LocalAws.start();
  const exec = ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m"];
  const cases: Array<[string, string[], RegExp, Record<string, string>?]> = [
    [
      "a garbage region",
      [...exec, "--region", "garbage", "--", "true"],
      /^error: Invalid region "garbage"/,
    ],
    [
      "a region with a shell fragment",
      [...exec, "--region", "us-east-1; id", "--", "true"],
      /Invalid region/,
    ],
    [
      "a region with a newline",
      [...exec, "--region", "us-east-1\nx", "--", "true"],
      /Invalid region "us-east-1\\u\{a\}x"/,
    ],
    [
      // The characters themselves, which must not read as the newline above.
      "a region with the characters \\u{a}",
      [...exec, "--region", "us-east-1\\u{a}x", "--", "true"],
      /Invalid region "us-east-1\\u\{5c\}u\{a\}x"/,
    ],
    // A scope, a TTL and a resource quote the characters \u{a} apart from a newline too.
    [
      "a scope with a newline",
      ["policy", "-s", "bogus\nx"],
      /^error: Invalid scope "bogus\\u\{a\}x"/,
    ],
    [
      "a scope with the characters \\u{a}",
      ["policy", "-s", "bogus\\u{a}x"],
      /^error: Invalid scope "bogus\\u\{5c\}u\{a\}x"/,
    ],
    [
      "a TTL with the characters \\u{a}",
      [...exec.slice(0, -1), "9\\u{a}m", "--", "true"],
      /^error: Invalid TTL "9\\u\{5c\}u\{a\}m"/,
    ],
    [
      "an ARN with the characters \\u{a}",
      ["policy", "-s", "sqs:ro@arn:aw\\u{a}s:sqs:eu-west-1:123456789012:q"],
      /^error: Invalid ARN "arn:aw\\u\{5c\}u\{a\}s:sqs:eu-west-1:123456789012:q"/,
    ],
    ["an empty region", [...exec, "--region", "", "--", "true"], /^error: Empty --region/],
    ["an empty role ARN", [...exec, "--role-arn", "", "--", "true"], /^error: Empty --role-arn/],
    ["an empty profile", [...exec, "--profile", "", "--", "true"], /^error: Empty --profile/],
    ["an unknown partition", [
      ...exec,
      "--role-arn",
      "arn:awsfoo-bar:iam::123456789012:role/x",
      "--",
      "true",
    ], /^error: Invalid role ARN/],
    ["an empty item in setup --services", [
      "setup",
      "aws",
      "--services",
      "s3,,dynamodb",
      "--max-session",
      "1h",
    ], /empty item between commas/],
    [
      "a wildcard in setup --services",
      ["setup", "aws", "--services", "*", "--max-session", "1h"],
      /^error: Invalid service "\*" in --services/,
    ],
    ["an empty --allow", ["serve", "--allow", ""], /^error: Empty --allow/],
    [
      "an unknown --profile",
      [...exec, "--profile", "nosuch", "--", "true"],
      /^error: Unknown profile "nosuch"/,
    ],
    [
      "a scope list over the bound",
      ["policy", "-s", "s3:ro,".repeat(1000)],
      /^error: Invalid --scope ".*": longer than 4,096 characters/,
    ],
  ];
  for (const [name, args, pattern, extra] of cases) {
    await t.step(name, async () => {
      const before = aws.requests.length;
      const result = await runCli(args, { env: { ...aws.env(), ...extra } });
      assert.equal(result.code, 2, result.stderr);
      assertOneLineError(result.stderr, pattern);
      assert.equal(aws.requests.length, before, "no AWS call");
    });
  }
  await t.step(
    "AWS_PROFILE naming a missing profile says so, and does not suggest --profile",
    async () => {
      const env = { ...aws.env(), AWS_PROFILE: "nosuch" };
      const result = await runCli(exec.concat("--", "true"), { env });
      assert.equal(result.code, 2, result.stderr);
      assertOneLineError(
        result.stderr,
        /^error: Profile "nosuch" named by AWS_PROFILE does not exist in ~\/\.aws\/config or ~\/\.aws\/credentials$/,
      );
      assert.match(result.stderr, /^hint: unset AWS_PROFILE/m);
    },
  );
  await t.step("an unknown --profile's hint does not suggest --profile", async () => {
    const result = await runCli(exec.concat("--profile", "nosuch", "--", "true"));
    assert.doesNotMatch(result.stderr, /pass --profile/);
  });
});

Deno.test("--debug output never ends with a hint to run again with --debug", async () => {
  await using aws = await LocalAws.start();
  aws.failNext("AssumeRole", "SomethingUnheardOf", { status: 400, message: "odd" });
  const result = await runCli(
    ["exec", "--debug", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"],
    { env: aws.env() },
  );
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: AssumeRole failed \(SomethingUnheardOf\): odd$/m);
  assert.doesNotMatch(result.stderr, /run again with --debug/);
  assert.match(result.stderr, /^debug: /m);
});

Deno.test("exec against an endpoint that never answers times out with one line naming it", async () => {
  await using aws = await LocalAws.start();
  const release = aws.neverAnswer();
  try {
    const result = await runCli(
      ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"],
      { env: { ...aws.env(), TIMEBOUND_IAM_TIMEOUT: "1" } },
    );
    assert.equal(result.code, 1, result.stderr);
    assertOneLineError(result.stderr, new RegExp(`^error: Could not reach ${aws.url}: timed out$`));
  } finally {
    release();
  }
});

Deno.test("a grant over https with NODE_EXTRA_CA_CERTS gets as far as the network", async () => {
  // Extra CAs (a corporate proxy's) make TLS load the system's too, which needs sys "ca". A port
  // with nothing behind it: the call must fail there, not on a permission before it.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `https://127.0.0.1:${listener.addr.port}`;
  listener.close();
  const result = await runCli(
    [
      "exec",
      "--no-confirm",
      "-s",
      "s3:ro",
      "-t",
      "15m",
      "--",
      "true",
    ],
    {
      env: {
        AWS_ENDPOINT_URL_STS: url,
        NODE_EXTRA_CA_CERTS: "/nonexistent/extra-ca.pem",
        AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        AWS_REGION: "us-east-1",
      },
    },
  );
  assert.equal(result.code, 1, result.stderr);
  assertOneLineError(
    result.stderr,
    new RegExp(`^error: Could not reach ${url}: connection refused$`),
  );
});

Deno.test("serve exits at end of input while a call to AWS is pending, removing its directory", async () => {
  await using aws = await LocalAws.start();
  await using scratch = await tempDir("tbi-hard-");
  const root = await Deno.realPath(scratch.path);
  const tmp = `${root}/tmp`;
  await Deno.mkdir(tmp);
  const env = {
    ...await baseEnv(`${root}/home`),
    ...aws.env(),
    TMPDIR: tmp,
    XDG_STATE_HOME: root,
  };
  const release = aws.neverAnswer();
  const s = await serve(env);
  const pending = s.call({ services: ["s3"] }).catch((error) => error);
  while (aws.waiting === 0) await new Promise((r) => setTimeout(r, 20));
  await s.close(); // closes stdin, then waits for the process to end
  assert.ok((await pending) instanceof Error);
  assert.match(s.stderr(), /stopping \((end of input|transport closed)\)/);
  assert.deepEqual(await Array.fromAsync(Deno.readDir(tmp)), []);
  release();
});

Deno.test({
  name: "serve treats a client that stops reading as gone: exit 0, no stack, nothing left",
  ignore: !posix,
  fn: async () => {
    await using aws = await LocalAws.start();
    await using scratch = await tempDir("tbi-hard-");
    const root = await Deno.realPath(scratch.path);
    const tmp = `${root}/tmp`;
    await Deno.mkdir(tmp);
    const env = {
      ...await baseEnv(`${root}/home`),
      ...aws.env(),
      TMPDIR: tmp,
      XDG_STATE_HOME: root,
    };
    const [command, args] = cliCommand(["serve"]);
    const child = new Deno.Command(command, {
      args,
      env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    await child.stdout.cancel(); // the client stops reading
    const writer = child.stdin.getWriter();
    const send = (message: unknown) =>
      writer.write(new TextEncoder().encode(`${JSON.stringify(message)}\n`));
    await send({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "gone", version: "1" },
      },
    });
    await send({ jsonrpc: "2.0", method: "notifications/initialized" });
    await send({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "grant_access", arguments: { services: ["s3"] } },
    }).catch(() => {});
    const [status, stderr] = await Promise.all([
      child.status,
      new Response(child.stderr).text(),
    ]);
    await writer.close().catch(() => {});
    assert.equal(status.code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|Broken pipe|\n\s+at |error:/);
    assert.match(stderr, /stopping \(the client stopped reading\)/);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(tmp)), []);
  },
});

Deno.test({
  name: "a closed stderr does not turn a granted session into a failure",
  ignore: !posix,
  fn: async () => {
    await using aws = await LocalAws.start();
    await using scratch = await tempDir("tbi-hard-");
    const root = await Deno.realPath(scratch.path);
    const env = { ...await baseEnv(`${root}/home`), ...aws.env(), XDG_STATE_HOME: root };
    const [deno, args] = cliCommand(["serve"]);
    const transport = new StdioClientTransport({
      command: "sh",
      args: ["-c", 'exec "$@" 2>&-', "sh", deno, ...args],
      env,
    });
    const client = new Client({ name: "no-stderr", version: "1" });
    await client.connect(transport);
    try {
      const result = await client.callTool({
        name: "grant_access",
        arguments: { services: ["s3"] },
      });
      assert.equal(result.isError, undefined, JSON.stringify(result));
    } finally {
      await client.close();
    }
    const audit = (await Deno.readTextFile(`${root}/timebound-iam/audit.jsonl`)).trim()
      .split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(audit.map((e) => e.outcome), ["granted"]);
  },
});

Deno.test({
  name:
    "a TMPDIR others can write without the sticky bit is refused by serve and flagged by doctor",
  ignore: !posix,
  fn: async () => {
    await using scratch = await tempDir("tbi-hard-");
    const root = await Deno.realPath(scratch.path);
    const tmp = `${root}/shared`;
    await Deno.mkdir(tmp);
    await Deno.chmod(tmp, 0o777);
    const env = { TMPDIR: tmp, XDG_STATE_HOME: root };
    const served = await runCli(["serve"], { env, stdin: "" });
    assert.equal(served.code, 1);
    assertOneLineError(
      served.stderr,
      new RegExp(`^error: Directory "${tmp}" is writable by other users and not sticky`),
    );
    const doctor = await runCli(["doctor"], { env });
    assert.equal(doctor.code, 1);
    assert.match(doctor.stderr + doctor.stdout, /✗ env-file directory .*not sticky/);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(tmp)), []);
  },
});

Deno.test({
  name: "a planted symlink or FIFO at the audit path is refused; the target is untouched",
  ignore: !posix,
  fn: async () => {
    await using scratch = await tempDir("tbi-hard-");
    const root = await Deno.realPath(scratch.path);
    const state = `${root}/state/timebound-iam`;
    await Deno.mkdir(state, { recursive: true, mode: 0o700 });
    const bashrc = `${root}/bashrc`;
    await Deno.writeTextFile(bashrc, "alias ls='ls -F'\n");
    await Deno.chmod(bashrc, 0o644);
    await Deno.symlink(bashrc, `${state}/audit.jsonl`);
    const env = { XDG_STATE_HOME: `${root}/state`, TMPDIR: root };
    const linked = await runCli(["serve"], { env, stdin: "" });
    assert.equal(linked.code, 1);
    assertOneLineError(linked.stderr, /audit\.jsonl" is a symbolic link: refusing to follow it$/);
    assert.equal(await Deno.readTextFile(bashrc), "alias ls='ls -F'\n");
    assert.equal((await Deno.stat(bashrc)).mode! & 0o777, 0o644);

    await Deno.remove(`${state}/audit.jsonl`);
    const fifo = await new Deno.Command("mkfifo", { args: [`${state}/audit.jsonl`] }).output();
    assert.equal(fifo.success, true);
    const piped = await runCli(["serve"], { env, stdin: "" });
    assert.equal(piped.code, 1);
    assertOneLineError(piped.stderr, /audit\.jsonl" is not a regular file: refusing to use it$/);
  },
});

Deno.test({
  name: "an audit log or directory planted by another user is refused, and left as it was",
  ignore: OTHER_USERS_SKIP !== undefined,
  fn: async () => {
    const shared = await Deno.makeTempDir({ dir: "/tmp", prefix: "tbi-2users-" });
    try {
      await Deno.chmod(shared, 0o1777);
      await shAs(
        1000,
        `mkdir -m 755 ${shared}/theirs && mkdir -m 1777 ${shared}/drop && ` +
          `echo planted > ${shared}/drop/audit.jsonl && chmod 666 ${shared}/drop/audit.jsonl`,
      );
      const env = { TMPDIR: shared };
      const file = await runCli(["serve", "--audit-log", `${shared}/drop/audit.jsonl`], {
        env,
        stdin: "",
      });
      assert.equal(file.code, 1);
      assertOneLineError(file.stderr, /belongs to another user \(uid 1000\)/);
      assert.equal(await Deno.readTextFile(`${shared}/drop/audit.jsonl`), "planted\n");
      assert.equal((await Deno.stat(`${shared}/drop/audit.jsonl`)).mode! & 0o777, 0o666);
      const dir = await runCli(["serve", "--audit-log", `${shared}/theirs/audit.jsonl`], {
        env,
        stdin: "",
      });
      assert.equal(dir.code, 1);
      assertOneLineError(dir.stderr, /^error: Directory "[^"]+\/theirs" belongs to another user/);
      assert.deepEqual(await Array.fromAsync(Deno.readDir(`${shared}/theirs`)), []);
    } finally {
      await Deno.remove(shared, { recursive: true });
    }
  },
});

Deno.test({
  name: "exec removes every other source of credentials from the child's environment",
  ignore: !posix,
  fn: async () => {
    await using aws = await LocalAws.start();
    const others = {
      AWS_SECURITY_TOKEN: "old",
      AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://169.254.170.2/creds",
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/creds",
      AWS_CONTAINER_AUTHORIZATION_TOKEN: "token",
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: "/run/token",
      AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/other",
      AWS_WEB_IDENTITY_TOKEN_FILE: "/run/web",
      AWS_ROLE_SESSION_NAME: "other",
    };
    const result = await runCli(
      ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "env"],
      { env: { ...aws.env(), ...others } },
    );
    assert.equal(result.code, 0, result.stderr);
    for (const name of Object.keys(others)) {
      assert.doesNotMatch(result.stdout, new RegExp(`^${name}=`, "m"), name);
    }
    assert.match(result.stdout, /^AWS_SESSION_TOKEN=/m);
  },
});

Deno.test({
  name: "usage quotes a credential file path with spaces, and the path is absolute",
  ignore: !posix,
  fn: async () => {
    await using aws = await LocalAws.start();
    await using scratch = await tempDir("tbi-hard-");
    const root = await Deno.realPath(scratch.path);
    await Deno.mkdir(`${root}/my tmp`);
    const env = {
      ...await baseEnv(`${root}/home`),
      ...aws.env(),
      TMPDIR: "my tmp", // relative, and with a space
      XDG_STATE_HOME: root,
    };
    const [command, args] = cliCommand(["serve"]);
    const transport = new StdioClientTransport({ command, args, env, cwd: root });
    const client = new Client({ name: "spaces", version: "1" });
    await client.connect(transport);
    try {
      const result = await client.callTool({
        name: "grant_access",
        arguments: { services: ["s3"] },
      });
      const out = result.structuredContent as { credential_file: string; usage: string };
      assert.ok(out.credential_file.startsWith(`${root}/my tmp/`), out.credential_file);
      assert.equal(out.usage, `env $(cat '${out.credential_file}') <command>`);
      const run = await new Deno.Command("sh", {
        args: ["-c", out.usage.replace("<command>", "printenv AWS_SESSION_TOKEN")],
        cwd: "/",
      }).output();
      assert.equal(run.code, 0, decoder.decode(run.stderr));
      assert.ok(decoder.decode(run.stdout).length > 40);
    } finally {
      await client.close();
    }
  },
});
