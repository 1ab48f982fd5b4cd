// One round trip: with the broker role known and the base key seen before, a grant sends exactly
// one request, AssumeRole; the caller identity is learned once per access key id and cached
// (0600 in a private 0700 directory). The real CLI and serve against the local STS endpoint.
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { cliCommand, runCli } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";
import type { LocalAws } from "./support/local_aws.ts";

const EXEC = ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"];

/** The actions the endpoint answered since `from`. */
function actionsSince(aws: LocalAws, from: number): string[] {
  return aws.requests.slice(from).map((r) => r.action);
}

Deno.test("exec with the role ARN configured: two requests the first time, one after", async () => {
  await using fx = await startFixture({ prefix: "tbi-round-trip-" });
  const { aws, home } = fx;
  const env = { HOME: home, ...aws.env(), TIMEBOUND_IAM_ROLE_ARN: aws.brokerRoleArn };
  const first = await runCli(EXEC, { env });
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(actionsSince(aws, 0), ["GetCallerIdentity", "AssumeRole"]);

  const mark = aws.requests.length;
  const second = await runCli(EXEC, { env });
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(actionsSince(aws, mark), ["AssumeRole"]);
  // The cached identity still names the human.
  assert.equal(aws.requests.at(-1)!.params.SourceIdentity, "developer");

  const dir = `${home}/.cache/timebound-iam/caller-identity`;
  const files = await Array.fromAsync(Deno.readDir(dir));
  assert.equal(files.length, 1);
  const text = await Deno.readTextFile(`${dir}/${files[0].name}`);
  assert.ok(text.includes(aws.defaultUser.accessKeyId));
  assert.ok(text.includes("arn:aws:iam::123456789012:user/developer"));
  for (const secret of aws.issuedSecrets()) {
    assert.ok(!text.includes(secret), "a secret is cached");
  }
  if (Deno.build.os !== "windows") {
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(`${dir}/${files[0].name}`)).mode! & 0o777, 0o600);
  }
});

Deno.test("GetCallerIdentity is still asked for the default role ARN, the summary and a new key", async () => {
  await using fx = await startFixture({ prefix: "tbi-round-trip-" });
  const { aws } = fx;
  const env = fx.env;
  // No role ARN anywhere: the account comes from GetCallerIdentity, every time.
  for (let i = 0; i < 2; i++) {
    const mark = aws.requests.length;
    const result = await runCli(EXEC, { env });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(actionsSince(aws, mark), ["GetCallerIdentity", "AssumeRole"]);
  }
  // A dry run shows the summary, which shows the caller as STS sees it now.
  const withRole = { ...env, TIMEBOUND_IAM_ROLE_ARN: aws.brokerRoleArn };
  const mark = aws.requests.length;
  const dry = await runCli(["exec", "--dry-run", "-s", "s3:ro", "-t", "15m", "--", "true"], {
    env: withRole,
  });
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(actionsSince(aws, mark), ["GetCallerIdentity"]);
  // Another key is another caller: learned once.
  const bob = aws.addUser({ userName: "bob" });
  const before = aws.requests.length;
  const asBob = await runCli(EXEC, { env: { ...withRole, ...aws.env(bob) } });
  assert.equal(asBob.code, 0, asBob.stderr);
  assert.deepEqual(actionsSince(aws, before), ["GetCallerIdentity", "AssumeRole"]);
  assert.equal(aws.requests.at(-1)!.params.SourceIdentity, "bob");
});

Deno.test("with a cached identity, AssumeRole's own refusal still explains the failure", async () => {
  await using fx = await startFixture({ prefix: "tbi-round-trip-" });
  const { aws, home } = fx;
  const env = { HOME: home, ...aws.env(), TIMEBOUND_IAM_ROLE_ARN: aws.brokerRoleArn };
  assert.equal((await runCli(EXEC, { env })).code, 0);
  const mark = aws.requests.length;
  const result = await runCli([...EXEC.slice(0, 5), "2h", "--", "true"], { env });
  assert.equal(result.code, 1);
  assert.deepEqual(actionsSince(aws, mark), ["AssumeRole"]);
  assert.match(result.stderr, /^error: TTL 2h is over the MaxSessionDuration of /);
});

Deno.test("serve sends one request per grant after the first", async () => {
  await using fx = await startFixture({ prefix: "tbi-round-trip-" });
  const { aws, home } = fx;
  const env = {
    ...fx.childEnv,
    TIMEBOUND_IAM_ROLE_ARN: aws.brokerRoleArn,
    TMPDIR: home,
    XDG_STATE_HOME: `${home}/state`,
  };
  const [command, args] = cliCommand(["serve"]);
  const transport = new StdioClientTransport({ command, args, env, stderr: "pipe" });
  const client = new Client({ name: "round-trip-test", version: "1.0.0" });
  await client.connect(transport);
  try {
    for (let i = 0; i < 3; i++) {
      const result = await client.callTool({
        name: "grant_access",
        arguments: { services: ["s3"] },
      });
      assert.ok(!result.isError, JSON.stringify(result.content));
    }
    assert.deepEqual(actionsSince(aws, 0), [
      "GetCallerIdentity",
      "AssumeRole",
      "AssumeRole",
      "AssumeRole",
    ]);
  } finally {
    await client.close();
  }
});
