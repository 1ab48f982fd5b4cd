// exec --masked and shell --masked end to end: the real CLI (compile permission set) against the
// local endpoint, which stands in for AWS behind the proxy (the proxy's upstream is the parent's
// AWS_ENDPOINT_URL, as a user's would be). The child's client is the AWS CLI v1 that
// endpointAwareAws finds on PATH (it honours AWS_ENDPOINT_URL; Debian's /usr/bin/aws 2.9.19 does
// not), called by its full path. The children are sh scripts: Linux and macOS only.
import assert from "node:assert/strict";
import { cliCommand, installShim } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";
import { endpointAwareAws } from "./support/aws_cli.ts";
import type { LocalAwsOptions } from "./support/local_aws.ts";
import { PtySession } from "./support/pty.ts";
import { canRun } from "./support/system_tool.ts";

const cli = await endpointAwareAws();
const posix = Deno.build.os !== "windows";
const ignore = cli.path === undefined || !posix;
const note = cli.path === undefined ? ` (ignored: ${cli.version})` : "";

function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * The shared fixture (a private HOME, the local endpoint, a CLI that fails the test when a secret
 * reaches its stderr), with the parent's own AWS_ENDPOINT_URL naming the endpoint: where the proxy
 * sends the child's calls.
 */
async function maskedRig(options: LocalAwsOptions = {}) {
  const fx = await startFixture({ aws: options, prefix: "tbi-masked-" });
  const endpoint = { AWS_ENDPOINT_URL: fx.aws.url };
  return {
    aws: fx.aws,
    home: fx.home,
    childEnv: { ...fx.childEnv, ...endpoint },
    /** Every secret the endpoint issued or holds: the base user's and the sessions'. */
    secrets: () => fx.aws.issuedSecrets(),
    run: (args: string[], env: Record<string, string> = {}) =>
      fx.run(args, { env: { ...endpoint, ...env } }),
    [Symbol.asyncDispose]: () => fx[Symbol.asyncDispose](),
  };
}

const MASKED_EXEC = ["exec", "--no-confirm", "--masked", "-t", "15m"];

Deno.test(
  `exec --masked: the AWS CLI works through the proxy (STS, S3 multipart, DynamoDB) and the ` +
    `child holds no real key or token${note}`,
  { ignore },
  async () => {
    await using rig = await maskedRig();
    // 9 MiB: over the CLI's 8 MiB threshold, so it uploads in two parts and reads back in two
    // ranges. Not all one byte, so that a part in the wrong place would show.
    const big = new Uint8Array(9 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 12)) & 255;
    await Deno.writeFile(`${rig.home}/big.bin`, big);
    const A = shQuote(cli.path!);
    const script = [
      "set -e",
      `cd ${shQuote(rig.home)}`,
      `cat /proc/$$/environ > environ.bin 2>/dev/null || env > environ.bin`,
      `${A} sts get-caller-identity --output json > identity.json`,
      `${A} s3 mb s3://masked-reports`,
      `${A} s3 cp big.bin s3://masked-reports/data/big.bin --only-show-errors`,
      `${A} s3 ls s3://masked-reports/data/ > listing.txt`,
      `${A} s3 cp s3://masked-reports/data/big.bin back.bin --only-show-errors`,
      `${A} dynamodb create-table --table-name Orders --billing-mode PAY_PER_REQUEST ` +
      `--attribute-definitions AttributeName=id,AttributeType=S ` +
      `--key-schema AttributeName=id,KeyType=HASH > /dev/null`,
      `${A} dynamodb put-item --table-name Orders --item '{"id":{"S":"o-1"},"total":{"N":"42"}}'`,
      `${A} dynamodb get-item --table-name Orders --key '{"id":{"S":"o-1"}}' > item.json`,
    ].join("\n");
    const result = await rig.run([
      ...MASKED_EXEC,
      "-s",
      "s3:full,dynamodb:full",
      "--",
      "sh",
      "-c",
      script,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const session = rig.aws.sessions().find((s) => s.roleName === "timebound-iam-broker")!;
    const identity = JSON.parse(await Deno.readTextFile(`${rig.home}/identity.json`));
    assert.equal(identity.Arn, session.arn);
    assert.match(identity.Arn, /assumed-role\/timebound-iam-broker\/timebound-iam-[0-9a-f-]{36}$/);
    assert.match(
      await Deno.readTextFile(`${rig.home}/listing.txt`),
      /^\S+ \S+ +9437184 big\.bin\n$/,
    );
    assert.deepEqual(await Deno.readFile(`${rig.home}/back.bin`), big);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${rig.home}/item.json`)).Item, {
      id: { S: "o-1" },
      total: { N: "42" },
    });
    // What reached the endpoint: every call signed by the session's real key.
    const storage = rig.aws.requests.filter((r) => r.service === "s3" || r.service === "dynamodb");
    assert.deepEqual(
      storage.map((r) => r.action),
      [
        "CreateBucket",
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPart",
        "CompleteMultipartUpload",
        "ListObjectsV2",
        "HeadObject",
        "GetObject",
        "GetObject",
        "CreateTable",
        "PutItem",
        "GetItem",
      ],
      "the endpoint saw each call once",
    );
    assert.ok(storage.every((r) => r.accessKeyId === session.accessKeyId && r.status < 300));
    // The child's own environment, from /proc: stand-ins and the proxy, no real secret.
    const environ = new TextDecoder().decode(await Deno.readFile(`${rig.home}/environ.bin`));
    const vars = Object.fromEntries(
      environ.split(/\0|\n/).filter(Boolean).map((
        l,
      ) => [l.split("=")[0], l.slice(l.indexOf("=") + 1)]),
    );
    assert.match(vars.AWS_ACCESS_KEY_ID, /^ASIA[A-Z2-7]{16}$/);
    assert.notEqual(vars.AWS_ACCESS_KEY_ID, session.accessKeyId);
    assert.match(vars.AWS_ENDPOINT_URL, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(vars.AWS_ENDPOINT_URL_STS, vars.AWS_ENDPOINT_URL, "the parent's STS variable too");
    assert.equal(vars.AWS_CONFIG_FILE, "/dev/null");
    assert.equal(vars.AWS_CONTAINER_CREDENTIALS_FULL_URI, undefined);
    for (const secret of [...rig.secrets(), session.accessKeyId, rig.aws.defaultUser.accessKeyId]) {
      assert.ok(!environ.includes(secret), "a real key, secret or token is in the child's environ");
      assert.ok(!result.stderr.includes(secret) && !result.stdout.includes(secret));
    }
  },
);

Deno.test(
  `exec --masked: what the proxy refuses, as the child sees it${note}`,
  { ignore: ignore || !(await canRun("curl")) },
  async () => {
    await using rig = await maskedRig();
    const A = shQuote(cli.path!);
    const script = [
      `cd ${shQuote(rig.home)}`,
      `${A} s3 mb s3://refusals-bucket > /dev/null`,
      `AWS_SECRET_ACCESS_KEY=not-the-stand-in ${A} sts get-caller-identity 2> wrong-secret.txt`,
      `${A} --endpoint-url ${shQuote(rig.aws.url)} sts get-caller-identity 2> straight.txt`,
      `${A} --endpoint-url ${shQuote(rig.aws.url)} s3 ls 2> straight-s3.txt`,
      `curl -s -H "Host: rebind.example:\${AWS_ENDPOINT_URL##*:}" "$AWS_ENDPOINT_URL/" > host.txt`,
      `curl -s "$(${A} s3 presign s3://refusals-bucket/x)" > presigned.txt`,
    ].join("\n");
    const result = await rig.run([
      ...MASKED_EXEC,
      "-s",
      "s3:full,sts:ro",
      "--",
      "sh",
      "-c",
      script,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const read = (name: string) => Deno.readTextFile(`${rig.home}/${name}`);
    assert.match(
      await read("wrong-secret.txt"),
      /An error occurred \(SignatureDoesNotMatch\) when calling the GetCallerIdentity operation/,
    );
    assert.match(await read("straight.txt"), /\(InvalidClientTokenId\)/);
    assert.match(await read("straight-s3.txt"), /\(InvalidAccessKeyId\)/);
    assert.match(await read("host.txt"), /<Code>AccessDenied<\/Code>.*127\.0\.0\.1:PORT/);
    const presigned = await read("presigned.txt");
    assert.match(presigned, /<Code>InvalidRequest<\/Code>/);
    assert.match(presigned, /<Message>timebound-iam's signing proxy refuses presigned [^<\n]+</);
    assert.equal(
      rig.aws.requests.filter((r) =>
        r.service === "s3" && r.action !== "CreateBucket" &&
        r.accessKeyId !== undefined && !r.errorCode
      ).length,
      0,
      "no refused call reached the endpoint",
    );
  },
);

Deno.test(
  `exec --masked: credential-minting calls are refused before they are signed, and --calls ` +
    `says so${note}`,
  { ignore },
  async () => {
    await using rig = await maskedRig();
    const A = shQuote(cli.path!);
    // Each call's stdout, stderr and exit code, as the command (an agent) sees them.
    const call = (name: string, args: string) =>
      `${A} ${args} > ${name}.out 2> ${name}.err; echo $? > ${name}.code`;
    const script = [
      `cd ${shQuote(rig.home)}`,
      call("identity", "sts get-caller-identity --query Arn --output text"),
      call(
        "assume",
        `sts assume-role --role-arn ${shQuote(rig.aws.brokerRoleArn)} ` +
          "--role-session-name escape",
      ),
      call("session", "sts get-session-token"),
      call("ecr", "ecr get-authorization-token"),
    ].join("\n");
    const result = await rig.run([
      ...MASKED_EXEC,
      "--calls",
      "-s",
      "sts:full,ecr:full",
      "--",
      "sh",
      "-c",
      script,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const read = (name: string) => Deno.readTextFile(`${rig.home}/${name}`);
    assert.match(await read("identity.out"), /assumed-role\/timebound-iam-broker\//);
    const refusal = (code: string, operation: string, action: string) =>
      `An error occurred (${code}) when calling the ${operation} operation: timebound-iam's ` +
      `masked proxy refuses credential-minting actions such as ${action}: their answer would ` +
      "hand out real credentials, which masked mode keeps from the command. A human who needs " +
      "them runs the grant without --masked (timebound-iam exec -s SCOPES -t TTL -- COMMAND)";
    for (
      const [name, code, operation, action] of [
        ["assume", "AccessDenied", "AssumeRole", "sts:AssumeRole"],
        ["session", "AccessDenied", "GetSessionToken", "sts:GetSessionToken"],
        ["ecr", "AccessDeniedException", "GetAuthorizationToken", "ecr:GetAuthorizationToken"],
      ]
    ) {
      assert.equal((await read(`${name}.err`)).trim(), refusal(code, operation, action));
      assert.equal(await read(`${name}.out`), "");
      assert.equal((await read(`${name}.code`)).trim(), "255", `${name}: the CLI's error code`);
    }
    // What the human reads after the command: each refused call, as other refusals are.
    assert.equal(
      result.stderr,
      [
        "calls: 4 (4 distinct)",
        "  sts GetCallerIdentity - 1",
        "  sts AssumeRole - 1 refused (AccessDenied): " +
        "credential-minting action refused under --masked",
        "  sts GetSessionToken - 1 refused (AccessDenied): " +
        "credential-minting action refused under --masked",
        "  ecr GetAuthorizationToken - 1 refused (AccessDeniedException): " +
        "credential-minting action refused under --masked",
        "",
      ].join("\n"),
    );
    // What reached the endpoint with the session's key: the one allowed call, nothing else.
    const session = rig.aws.sessions().find((s) => s.roleName === "timebound-iam-broker")!;
    assert.deepEqual(
      rig.aws.requests.filter((r) => r.accessKeyId === session.accessKeyId).map((r) => r.action),
      ["GetCallerIdentity"],
    );
    assert.equal(
      rig.aws.requests.filter((r) => r.action === "AssumeRole").length,
      1,
      "the grant's",
    );
    assert.equal(rig.aws.requests.filter((r) => r.service === "ecr").length, 0);
    for (const secret of rig.secrets()) {
      assert.ok(!result.stderr.includes(secret) && !result.stdout.includes(secret));
    }
  },
);

Deno.test(
  `exec --masked: after the session's end ExpiredToken; with --refresh the same stand-ins keep ` +
    `working${note}`,
  { ignore },
  async (t) => {
    const A = shQuote(cli.path!);
    // botocore reads AWS_CREDENTIAL_EXPIRATION and, once it has passed, refuses to call at all
    // ("the refreshed credentials are still expired"); a client that does not read it calls,
    // and the proxy answers. The calls here leave it out, to see the proxy's answer.
    const call = `env -u AWS_CREDENTIAL_EXPIRATION ${A} sts get-caller-identity ` +
      "--query Arn --output text";
    await t.step("without --refresh", async () => {
      // A session long enough for one call on a loaded machine, then a wait past its end.
      await using rig = await maskedRig({ sessionSeconds: 12 });
      const result = await rig.run([
        ...MASKED_EXEC,
        "-s",
        "sts:ro",
        "--",
        "sh",
        "-c",
        `${call} && sleep 13 && ${call}`,
      ]);
      assert.equal(result.code, 255);
      assert.match(result.stdout, /assumed-role\/timebound-iam-broker\//);
      assert.match(
        result.stderr,
        /An error occurred \(ExpiredToken\) when calling the GetCallerIdentity operation: The security token included in the request is expired/,
      );
    });
    await t.step("with --refresh", async () => {
      await using rig = await maskedRig({ sessionSeconds: 4 });
      const before = rig.aws.requests.filter((r) => r.action === "AssumeRole").length;
      const script = `for i in 1 2 3 4; do ${call} || exit 1; echo "$AWS_ACCESS_KEY_ID"; ` +
        "sleep 2; done";
      const result = await rig.run([
        ...MASKED_EXEC,
        "--refresh=1h",
        "-s",
        "sts:ro",
        "--",
        "sh",
        "-c",
        script,
      ]);
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.trim().split("\n");
      const arns = lines.filter((l) => l.startsWith("arn:"));
      const keys = new Set(lines.filter((l) => l.startsWith("ASIA")));
      assert.equal(arns.length, 4);
      assert.equal(keys.size, 1, "one pair of stand-ins throughout");
      assert.ok(new Set(arns).size >= 2, "calls ran as renewed sessions");
      const renewals = rig.aws.requests.filter((r) => r.action === "AssumeRole").length - before;
      assert.ok(renewals >= 3, `${renewals} AssumeRole calls`);
    });
  },
);

Deno.test("exec --masked --dry-run and the config file's masked say so in the summary", async () => {
  await using rig = await maskedRig();
  const dry = await rig.run([
    "exec",
    "--dry-run",
    "--masked",
    "-s",
    "s3:ro",
    "-t",
    "15m",
    "--",
    "true",
  ]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, /\n {2}masked +stand-in keys and a loopback signing proxy/);
  assert.match(dry.stderr, /dry run: no credentials were requested\n$/);
  assert.doesNotMatch(dry.stderr, /mint credentials/, "s3:ro allows none");
  const minting = await rig.run([
    "exec",
    "--dry-run",
    "--masked",
    "-s",
    "sts:ro,ecr:ro@app,iam:list",
    "-t",
    "15m",
    "--",
    "true",
  ]);
  assert.equal(minting.code, 0, minting.stderr);
  const refusedLines = minting.stderr.split("\n").filter((l) => l.includes("mint credentials"));
  assert.deepEqual(refusedLines.map((l) => l.trim()), [
    "refused by the proxy (they mint credentials): sts:GetSessionToken",
    "refused by the proxy (they mint credentials): ecr:GetAuthorizationToken",
  ]);
  const config = `${rig.home}/config.json`;
  await Deno.writeTextFile(config, JSON.stringify({ masked: true }));
  const withConfig = (args: string[]) =>
    rig.run(["exec", "--dry-run", ...args, "-s", "s3:ro", "-t", "15m", "--", "true"], {
      TIMEBOUND_IAM_CONFIG: config,
    });
  const fromFile = await withConfig([]);
  assert.match(fromFile.stderr, /\n {2}masked +stand-in keys/);
  const off = await withConfig(["--no-masked"]);
  assert.doesNotMatch(off.stderr, /masked/);
  await Deno.writeTextFile(config, JSON.stringify({ masked: "yes" }));
  const bad = await withConfig([]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /field "masked": expected true or false, got "yes"/);
});

const hasScript = posix && await canRun("script") && await canRun("bash");

Deno.test({
  name:
    `shell --masked: stand-ins inside, aws through the proxy, refresh renews behind them${note}`,
  ignore: ignore || !hasScript,
  async fn() {
    await using rig = await maskedRig({ sessionSeconds: 10 });
    const bin = `${rig.home}/bin`;
    await installShim(bin);
    // The shell's aws is the one that honours AWS_ENDPOINT_URL.
    await Deno.symlink(cli.path!, `${bin}/aws`);
    await Deno.writeTextFile(`${rig.home}/.bashrc`, "PS1='user$ '\n");
    const env = {
      ...rig.childEnv,
      TERM: "xterm-256color",
      PATH: `${bin}:${Deno.env.get("PATH")}`,
    };
    const [deno, args] = cliCommand(
      ["shell", "--masked", "-s", "sts:ro", "-t", "15m", "--no-confirm", "--shell", "bash"],
    );
    let code: number;
    const pty = new PtySession([deno, ...args].map(shQuote).join(" "), env);
    // `env` skips the shell's renewing aws function, and without AWS_CREDENTIAL_EXPIRATION the
    // AWS CLI calls even after the expiry, so the proxy answers (see the exec test above).
    const arn = "env -u AWS_CREDENTIAL_EXPIRATION aws sts get-caller-identity --query Arn " +
      "--output text; echo code:$?\n";
    try {
      let at = (await pty.waitFor(/\[sts:ro \d+s\] user/)).end;
      await pty.type(
        'echo "key:$AWS_ACCESS_KEY_ID url:${AWS_ENDPOINT_URL%%:*} until:$AWS_CREDENTIAL_EXPIRATION"\n',
      );
      const first = await pty.waitFor(/key:(ASIA\w+) url:http until:(\S+)\r?\n/, { from: at });
      at = first.end;
      await pty.type(arn);
      at = (await pty.waitFor(/assumed-role\/timebound-iam-broker\/\S+\s+code:0/, { from: at }))
        .end;
      // The session behind the stand-ins ends.
      const left = Date.parse(first.match[2]) - Date.now();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, left) + 500));
      await pty.type(arn);
      at = (await pty.waitFor(/\(ExpiredToken\)[^\n]*\n[^]*?code:255/, { from: at })).end;
      await pty.type("timebound-iam refresh; echo refreshed:$?\n");
      at = (await pty.waitFor(/refreshed:0/, { from: at })).end;
      await pty.type('echo "key:$AWS_ACCESS_KEY_ID"\n');
      const second = await pty.waitFor(/key:(ASIA\w+)\r?\n/, { from: at });
      assert.equal(second.match[1], first.match[1], "the same stand-ins after refresh");
      at = second.end;
      await pty.type(arn);
      at = (await pty.waitFor(/assumed-role\/timebound-iam-broker\/\S+\s+code:0/, { from: at }))
        .end;
      await pty.type("exit\n");
    } finally {
      code = await pty.close();
    }
    assert.equal(code, 0, pty.text);
    assert.equal(rig.aws.requests.filter((r) => r.action === "AssumeRole").length, 2);
    for (const secret of rig.secrets()) {
      assert.ok(!pty.text.includes(secret), "a real secret reached the terminal");
    }
  },
});
