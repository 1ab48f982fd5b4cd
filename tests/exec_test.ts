// exec end to end: the real CLI (compile permission set) against the local STS endpoint, with
// the real AWS CLI as the child.
import assert from "node:assert/strict";
import {
  cliCommand,
  installShim,
  runCli,
  spawnUnderTerminal,
  writeProfile,
} from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";
import { LocalAws } from "./support/local_aws.ts";

/** `exec` with a 15-minute `s3:ro` grant and no prompt; the command follows. */
const EXEC_S3_RO = ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--"];

function assumeRoleCalls(aws: LocalAws) {
  return aws.requests.filter((r) => r.action === "AssumeRole");
}

/**
 * A child command that runs on every OS: this Deno binary evaluating `code` (it has all
 * permissions, and needs nothing from PATH).
 */
function denoEval(code: string): string[] {
  return [Deno.execPath(), "eval", "-q", code];
}

const windows = Deno.build.os === "windows";

Deno.test("exec runs the AWS CLI as the broker role with the scoped policy", async () => {
  await using fx = await startFixture({ prefix: "tbi-exec-" });
  const { aws } = fx;
  const result = await fx.run([
    ...EXEC_S3_RO,
    "aws",
    "--endpoint-url",
    aws.url,
    "sts",
    "get-caller-identity",
    "--output",
    "json",
  ]);
  assert.equal(result.code, 0, result.stderr);
  const identity = JSON.parse(result.stdout);
  assert.match(
    identity.Arn,
    /^arn:aws:sts::123456789012:assumed-role\/timebound-iam-broker\/timebound-iam-[0-9a-f-]{36}$/,
  );
  const calls = assumeRoleCalls(aws);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].params.DurationSeconds, "900");
  assert.equal(calls[0].params.RoleArn, aws.brokerRoleArn);
  const policy = await runCli(["policy", "-s", "s3:ro"]);
  assert.equal(calls[0].params.Policy, JSON.stringify(JSON.parse(policy.stdout)));
  assert.equal(identity.Arn.split("/").pop(), calls[0].params.RoleSessionName);
});

Deno.test("the child sees the new credentials and none of the parent's", async () => {
  await using fx = await startFixture({ prefix: "tbi-exec-" });
  const { aws, home } = fx;
  // The base credentials come from a profile, while the parent also has static keys: the
  // SDK prefers the profile, so exec must remove both from the child.
  const user = aws.defaultUser;
  await writeProfile(home, "base", user);
  // The child prints its whole environment as JSON (not `env`, which Windows does not have).
  const printEnv = denoEval("console.log(JSON.stringify(Deno.env.toObject()))");
  const grant = EXEC_S3_RO;
  const result = await fx.run([...grant, ...printEnv], {
    env: {
      AWS_PROFILE: "base",
      AWS_DEFAULT_PROFILE: "base",
      AWS_ACCESS_KEY_ID: "AKIAPARENTPARENTPARE",
      AWS_SECRET_ACCESS_KEY: "parent-secret",
      AWS_SESSION_TOKEN: "parent-token",
      AWS_REGION: "eu-west-1",
    },
  });
  assert.equal(result.code, 0, result.stderr);
  const childEnv: Record<string, string> = JSON.parse(result.stdout);
  assert.equal(childEnv.AWS_PROFILE, undefined);
  assert.equal(childEnv.AWS_DEFAULT_PROFILE, undefined);
  assert.doesNotMatch(result.stdout, /parent-secret|parent-token|AKIAPARENT/);
  const session = aws.sessions().at(-1)!;
  assert.match(childEnv.AWS_ACCESS_KEY_ID, /^ASIA/);
  assert.equal(childEnv.AWS_ACCESS_KEY_ID, session.accessKeyId);
  assert.ok(aws.issuedSecrets().includes(childEnv.AWS_SECRET_ACCESS_KEY));
  assert.ok(aws.issuedSecrets().includes(childEnv.AWS_SESSION_TOKEN));
  const expiration = new Date(childEnv.AWS_CREDENTIAL_EXPIRATION).getTime();
  assert.ok(Math.abs(expiration - (Date.now() + 900_000)) < 60_000);
  assert.equal(childEnv.AWS_REGION, "eu-west-1");
  assert.equal(childEnv.AWS_DEFAULT_REGION, "eu-west-1");
  assert.equal(childEnv.TIMEBOUND_IAM_SESSION, session.sessionName);
  assert.equal(assumeRoleCalls(aws)[0].accessKeyId, user.accessKeyId);
});

Deno.test("exec passes the child's exit status through", async (t) => {
  await using fx = await startFixture({ prefix: "tbi-exec-" });
  const grant = EXEC_S3_RO;
  await t.step("exit 42", async () => {
    const result = await fx.run([...grant, ...denoEval("Deno.exit(42)")]);
    assert.equal(result.code, 42);
    assert.equal(result.stderr, "");
  });
  await t.step("command not found: 127", async () => {
    const result = await fx.run([...grant, "no-such-cmd"]);
    assert.equal(result.code, 127);
    assert.match(result.stderr, /^error: Command not found: "no-such-cmd"\n/);
  });
  // Windows has no execute bit: a .sh file there is refused as a bad executable format.
  await t.step({
    name: "not executable: 126 (not on Windows)",
    ignore: windows,
    fn: async () => {
      const file = await Deno.makeTempFile({ suffix: ".sh" });
      await Deno.writeTextFile(file, "#!/bin/sh\necho hi\n");
      const result = await fx.run([...grant, file]);
      await Deno.remove(file);
      assert.equal(result.code, 126);
      assert.match(result.stderr, /^error: Command not executable: /);
    },
  });
  await t.step("stdin reaches the child", async () => {
    const cat = denoEval("await Deno.stdin.readable.pipeTo(Deno.stdout.writable)");
    const result = await fx.run([...grant, ...cat], { stdin: "hi\n" });
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "hi\n");
  });
});

// Windows has no SIGTERM to forward: Deno's kill() there ends exec at once, and the child is sh.
Deno.test({
  name: "SIGTERM to exec reaches the child, and exec exits 143 (not on Windows)",
  ignore: windows,
}, async () => {
  await using fx = await startFixture({ prefix: "tbi-exec-" });
  const [command, args] = cliCommand([
    ...EXEC_S3_RO,
    "sh",
    "-c",
    // Gives up after ~20s, so a lost signal fails the test instead of hanging it.
    'trap "echo got-term; exit 143" TERM; echo ready; i=0; ' +
    "while [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo no-term",
  ]);
  const child = new Deno.Command(command, {
    args,
    env: fx.childEnv,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  child.kill("SIGTERM");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  const status = await child.status;
  const stderr = await new Response(child.stderr).text();
  assert.match(seen, /ready\ngot-term\n/);
  assert.equal(status.code, 143);
  fx.assertNoSecret(stderr);
});

// A bash script with a shebang, and the shim is a #!/bin/sh script: POSIX only.
Deno.test({
  name: "the seed's self-wrapping deploy.sh works as documented (not on Windows)",
  ignore: windows,
}, async () => {
  await using fx = await startFixture({ prefix: "tbi-exec-" });
  const { aws, home } = fx;
  const user = aws.defaultUser;
  await writeProfile(home, "prod", user);
  const bin = `${home}/bin`;
  await installShim(bin);
  const script = `${home}/deploy.sh`;
  await Deno.writeTextFile(
    script,
    `#!/bin/bash
set -e
# Self-wrap: if no session credentials, re-exec through timebound-iam
if [ -z "$AWS_SESSION_TOKEN" ]; then
exec timebound-iam exec \\
-s s3:full,cloudfront:full \\
-t 30m \\
--profile prod \\
--no-confirm \\
-- "$0" "$@"
fi
# From here on, AWS credentials are in the environment
echo "args: $*"
aws --endpoint-url "$AWS_ENDPOINT_URL_STS" sts get-caller-identity --query Arn --output text
`,
    { mode: 0o755 },
  );
  // The base keys come from the profile: none in the environment.
  const { AWS_ACCESS_KEY_ID: _, AWS_SECRET_ACCESS_KEY: __, ...noKeys } = fx.childEnv;
  const result = await new Deno.Command(script, {
    args: ["--fast", "two words"],
    env: { ...noKeys, PATH: `${bin}:${noKeys.PATH}` },
    clearEnv: true,
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(result.stdout);
  const stderr = new TextDecoder().decode(result.stderr);
  assert.equal(result.code, 0, stderr);
  assert.match(
    stdout,
    /^args: --fast two words\narn:aws:sts::123456789012:assumed-role\/timebound-iam-broker\/timebound-iam-/,
  );
  const call = assumeRoleCalls(aws)[0];
  assert.equal(call.params.DurationSeconds, "1800");
  assert.deepEqual(JSON.parse(call.params.Policy).Statement[0].Action, ["s3:*", "cloudfront:*"]);
  fx.assertNoSecret(stderr);
});

// The Windows claim (exec works there) rests on this test: no shell, no POSIX tool, the child is
// the Deno binary itself.
Deno.test("exec on every OS: the child sees the session, not the profile, and its exit code passes through", async () => {
  await using fx = await startFixture({ prefix: "tbi-exec-" });
  const { aws, home } = fx;
  await writeProfile(home, "base", aws.defaultUser);
  const names = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "TIMEBOUND_IAM_SESSION",
  ];
  const child = denoEval(
    `const seen = ${JSON.stringify(names)}.map((n) => [n, Deno.env.get(n) ?? null]);\n` +
      "console.log(JSON.stringify(Object.fromEntries(seen)));\n" +
      "Deno.exit(7);",
  );
  const result = await fx.run(
    ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", ...child],
    { env: { AWS_PROFILE: "base" } },
  );
  assert.equal(result.code, 7, result.stderr);
  const session = aws.sessions().at(-1)!;
  assert.deepEqual(JSON.parse(result.stdout), {
    AWS_ACCESS_KEY_ID: session.accessKeyId,
    AWS_SESSION_TOKEN: session.sessionToken,
    AWS_PROFILE: null,
    TIMEBOUND_IAM_SESSION: session.sessionName,
  });
  assert.match(session.accessKeyId, /^ASIA/);
  assert.equal(assumeRoleCalls(aws).length, 1);
});

Deno.test("--dry-run shows the summary and policy and requests nothing", async (t) => {
  await using fx = await startFixture({ prefix: "tbi-exec-" });
  const { aws } = fx;
  await t.step("with base credentials", async () => {
    const before = Date.now();
    const result = await fx.run([
      "exec",
      "--dry-run",
      "-s",
      "s3:ro,ec2:full",
      "-t",
      "1h",
      "--",
      "aws",
      "s3",
      "ls",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /account +123456789012/);
    assert.match(result.stderr, /role +arn:aws:iam::123456789012:role\/timebound-iam-broker/);
    // The absolute expiry is one hour after the moment the CLI ran, to the second (a grant's
    // deadline is whole seconds, as the policy's time condition is).
    // Shown as local time (the tests' zone is UTC) with the UTC instant.
    const until = /ttl +1h, until (\S+ \S+) UTC\n/.exec(result.stderr)?.[1] ?? "no expiry";
    const expiry = new Date(`${until.replace(" ", "T")}Z`).getTime();
    const earliest = Math.floor(before / 1000) * 1000 + 3_600_000;
    assert.ok(expiry >= earliest && expiry <= Date.now() + 3_600_000, until);
    assert.match(result.stderr, /s3:ro +Amazon S3, Read and List actions only/);
    assert.match(result.stderr, /ec2:full +every Amazon EC2 action \(ec2:\*\)/);
    assert.match(result.stderr, /command +aws s3 ls/);
    assert.match(result.stderr, /"ec2:\*"/);
    assert.match(result.stderr, /dry run: no credentials were requested/);
    assert.equal(assumeRoleCalls(aws).length, 0);
  });
  await t.step("without base credentials", async () => {
    const noKeys = { ...fx.env };
    delete noKeys.AWS_ACCESS_KEY_ID;
    delete noKeys.AWS_SECRET_ACCESS_KEY;
    const result = await runCli(["env", "--dry-run", "-s", "s3:ro", "-t", "15m"], {
      env: noKeys,
    });
    fx.assertNoSecret(result.stderr);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /account +unknown \(No AWS credentials found/);
    assert.equal(assumeRoleCalls(aws).length, 0);
  });
});

Deno.test("without a terminal and without --no-confirm, exec refuses", async () => {
  await using fx = await startFixture({ prefix: "tbi-exec-" });
  const { aws } = fx;
  const result = await fx.run(["exec", "-s", "s3:ro", "-t", "15m", "--", "true"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^error: .*not a terminal\nhint: pass --no-confirm/);
  assert.equal(aws.requests.length, 0);
});

// The pseudo-terminal comes from util-linux's `script -qfec CMD /dev/null`; macOS's BSD `script`
// takes other flags (`script -q /dev/null CMD…`) and Windows has none, so this runs on Linux only.
const hasScript = Deno.build.os === "linux" &&
  (await new Deno.Command("sh", { args: ["-c", "command -v script"] }).output()).success;

Deno.test({
  name: "under a terminal, answering the prompt decides (Linux only: util-linux script)",
  ignore: !hasScript,
  fn: async (t) => {
    await using fx = await startFixture({ prefix: "tbi-exec-" });
    const { aws } = fx;
    const args = ["exec", "-s", "s3:ro", "-t", "15m", "--", "sh", "-c", "echo child-$((1+1))"];
    for (const [answer, code, ran] of [["n", 1, false], ["y", 0, true]] as const) {
      await t.step(`answer ${answer}`, async () => {
        const child = await spawnUnderTerminal(args, fx.env);
        const writer = child.stdin.getWriter();
        await writer.write(new TextEncoder().encode(`${answer}\r`));
        const output = await child.output().finally(() => writer.close().catch(() => {}));
        const text = new TextDecoder().decode(output.stdout);
        assert.equal(output.code, code, text);
        assert.match(text, /Proceed\?/);
        assert.equal(text.includes("child-2"), ran, JSON.stringify(text));
        if (!ran) assert.match(text, /Declined: no credentials were requested/);
      });
    }
    assert.equal(assumeRoleCalls(aws).length, 1);
  },
});

Deno.test("a profile's STS calls (caller, broker, MFA session) go to its endpoint_url, never [default]'s", async () => {
  await using fx = await startFixture({ prefix: "tbi-exec-endpoint-" });
  await using elsewhere = await LocalAws.start();
  const {
    AWS_ACCESS_KEY_ID: _id,
    AWS_SECRET_ACCESS_KEY: _secret,
    AWS_ENDPOINT_URL_STS: _sts,
    ...env
  } = fx.env;
  const { serialNumber: serial } = fx.aws.addMfaDevice();
  await writeProfile(fx.home, "dev", fx.aws.defaultUser);
  await Deno.writeTextFile(
    fx.path(".aws", "config"),
    `[default]\nendpoint_url = ${elsewhere.url}\n\n[profile dev]\nendpoint_url = ${fx.aws.url}\n` +
      `mfa_serial = ${serial}\n`,
  );
  const code = fx.aws.mfaCode(serial);
  const args = ["exec", "--profile", "dev", "--mfa-code", code, ...EXEC_S3_RO.slice(1), "true"];
  // Without the fixture's keys and AWS_ENDPOINT_URL_STS: the profile's settings decide.
  const result = await runCli(args, { env });
  fx.assertNoSecret(result.stderr);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(elsewhere.requests.map((r) => r.action), []);
  assert.deepEqual(
    fx.aws.requests.map((r) => r.action),
    ["GetSessionToken", "GetCallerIdentity", "AssumeRole"],
  );
});

Deno.test("a profile's endpoint_url in ~/.aws/config wins over its endpoint_url in ~/.aws/credentials", async () => {
  await using fx = await startFixture({ prefix: "tbi-exec-endpoint-" });
  await using elsewhere = await LocalAws.start();
  const {
    AWS_ACCESS_KEY_ID: _id,
    AWS_SECRET_ACCESS_KEY: _secret,
    AWS_ENDPOINT_URL_STS: _sts,
    ...env
  } = fx.env;
  const keys = fx.aws.defaultUser;
  await Deno.writeTextFile(
    fx.path(".aws", "credentials"),
    `[dev]\naws_access_key_id = ${keys.accessKeyId}\n` +
      `aws_secret_access_key = ${keys.secretAccessKey}\nendpoint_url = ${elsewhere.url}\n`,
  );
  await Deno.writeTextFile(
    fx.path(".aws", "config"),
    `[profile dev]\nendpoint_url = ${fx.aws.url}\n`,
  );
  const result = await runCli(["exec", "--profile", "dev", ...EXEC_S3_RO.slice(1), "true"], {
    env,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(elsewhere.requests.map((r) => r.action), []);
  assert.deepEqual(fx.aws.requests.map((r) => r.action), ["GetCallerIdentity", "AssumeRole"]);
});

Deno.test("a profile's endpoint_url that is not an http(s) URL is refused before any request, never shown", async (t) => {
  const cases: Array<{ name: string; config: string; credentials?: string; error: string }> = [
    {
      name: "in ~/.aws/config",
      config: "[profile dev]\nendpoint_url = ftp://alice:s3cret@example.com/\n",
      error: 'endpoint_url of profile "dev" in ~/.aws/config',
    },
    {
      name: "in ~/.aws/credentials",
      config: "[profile dev]\nregion = us-east-1\n",
      credentials: "endpoint_url = file:///tmp/x\n",
      error: 'endpoint_url of profile "dev" in ~/.aws/credentials',
    },
    {
      name: "in a services section",
      config:
        "[profile dev]\nservices = local\n\n[services local]\nsts =\n  endpoint_url = localhost:4566\n",
      error: "sts.endpoint_url of [services local] in ~/.aws/config",
    },
    {
      name: "[default]'s, with no profile named",
      config: "[default]\nendpoint_url = garbage\n",
      error: 'endpoint_url of profile "default" in ~/.aws/config',
    },
  ];
  for (const { name, config, credentials, error } of cases) {
    await t.step(name, async () => {
      await using fx = await startFixture({ prefix: "tbi-exec-endpoint-" });
      const {
        AWS_ACCESS_KEY_ID: _id,
        AWS_SECRET_ACCESS_KEY: _secret,
        AWS_ENDPOINT_URL_STS: _sts,
        ...env
      } = fx.env;
      const keys = fx.aws.defaultUser;
      await Deno.writeTextFile(
        fx.path(".aws", "credentials"),
        `[${name.startsWith("[default]") ? "default" : "dev"}]\n` +
          `aws_access_key_id = ${keys.accessKeyId}\n` +
          `aws_secret_access_key = ${keys.secretAccessKey}\n${credentials ?? ""}`,
      );
      await Deno.writeTextFile(fx.path(".aws", "config"), config);
      const profile = name.startsWith("[default]") ? [] : ["--profile", "dev"];
      const result = await runCli(["exec", ...profile, ...EXEC_S3_RO.slice(1), "true"], { env });
      assert.equal(result.code, 2, result.stderr);
      assert.equal(
        result.stderr,
        `error: Invalid ${error}: it must be an http:// or https:// URL\n` +
          "hint: give one such as http://127.0.0.1:4566, or remove it\n",
      );
      assert.deepEqual(fx.aws.requests, []);
    });
  }
});
