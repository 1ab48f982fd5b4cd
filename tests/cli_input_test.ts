// Bad input through the real CLI, with the compile permission set: one line naming the problem
// (and at most a hint line), nothing on stdout, exit code 2. No AWS endpoint is needed: every
// case is refused before any call.
import assert from "node:assert/strict";
import { runCli } from "./support/cli.ts";

const CASES: Array<[string, string[], RegExp]> = [
  ["-s s3ro", ["-s", "s3ro"], /Invalid scope "s3ro": expected service:level/],
  ["-s :ro", ["-s", ":ro"], /Invalid scope ":ro": missing service/],
  ["-s s3:", ["-s", "s3:"], /Missing level in "s3:"/],
  [
    "-s s3:admin",
    ["-s", "s3:admin"],
    /Unknown level "admin".*list, ro, read_only, readonly or full/,
  ],
  ["-s s4:ro", ["-s", "s4:ro"], /Unknown service "s4"/],
  ["-t 30s", ["-s", "s3:ro", "-t", "30s"], /TTL "30s" is too short: the minimum is 1m/],
  ["-t 13h", ["-s", "s3:ro", "-t", "13h"], /TTL "13h" is too long: the maximum is 12h/],
  ["-t 15", ["-s", "s3:ro", "-t", "15"], /Invalid TTL "15": a unit is required/],
  ["-t soon", ["-s", "s3:ro", "-t", "soon"], /Invalid TTL "soon"/],
  ["no -s", ["-t", "15m"], /No scope given: pass -s SERVICE:LEVEL/],
];

const COMMANDS: Array<[string, string[], string[]]> = [
  ["policy", ["policy"], []],
  ["exec", ["exec", "--no-confirm"], ["--", "true"]],
  ["env", ["env", "--no-confirm"], []],
];

function assertOneError(result: { code: number; stdout: string; stderr: string }, message: RegExp) {
  assert.equal(result.code, 2, result.stderr);
  assert.equal(result.stdout, "");
  const lines = result.stderr.trimEnd().split("\n");
  assert.ok(lines.length <= 2, `more than an error and a hint:\n${result.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], message);
  if (lines[1]) assert.match(lines[1], /^hint: /);
}

for (const [name, before, after] of COMMANDS) {
  Deno.test(`${name} refuses bad input with one line and exit code 2`, async (t) => {
    for (const [label, args, message] of CASES) {
      await t.step(label, async () => {
        const ttl = args.includes("-t") || name === "policy" ? [] : ["-t", "15m"];
        assertOneError(await runCli([...before, ...args, ...ttl, ...after]), message);
      });
    }
    if (name !== "policy") {
      await t.step("no -t", async () => {
        assertOneError(await runCli([...before, "-s", "s3:ro", ...after]), /No TTL given: pass -t/);
      });
    }
  });
}

Deno.test("an unknown service suggests the closest names", async () => {
  const result = await runCli(["policy", "-s", "dynamodbb:ro"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^error: Unknown service "dynamodbb"\nhint: did you mean dynamodb/);
});

Deno.test("an unknown flag is a usage error", async () => {
  const result = await runCli(["policy", "--scopes", "s3:ro"]);
  assert.equal(result.code, 2);
  assert.equal(
    result.stderr,
    'error: Unknown option "--scopes" for timebound-iam policy\n' +
      "hint: did you mean --scope? timebound-iam policy --help lists its options\n",
  );
});

Deno.test("policy prints the session policy JSON on stdout", async () => {
  const result = await runCli(["policy", "-s", "s3:ro", "-s", "dynamodb:full"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  assert.deepEqual(JSON.parse(result.stdout), {
    Version: "2012-10-17",
    Statement: [{
      Effect: "Allow",
      Action: ["s3:Allow*", "s3:Describe*", "s3:Get*", "s3:List*", "dynamodb:*"],
      Resource: "*",
    }],
  });
});

Deno.test("--version and --help work on every command", async (t) => {
  const version =
    JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))).version;
  await t.step("--version", async () => {
    const result = await runCli(["--version"]);
    assert.equal(result.code, 0);
    const runtime = `deno ${Deno.version.deno}, ${Deno.build.os}-${Deno.build.arch}`;
    assert.equal(result.stdout, `timebound-iam ${version} (${runtime})\n`);
  });
  const root = await runCli(["--help"]);
  assert.equal(root.code, 0);
  const commands = [...root.stdout.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]);
  assert.ok(commands.includes("exec") && commands.includes("env") && commands.includes("policy"));
  assert.ok(commands.includes("help"));
  for (const command of commands.filter((name) => name !== "help")) {
    await t.step(`${command} --help`, async () => {
      const result = await runCli([command, "--help"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`^Usage: timebound-iam ${command}`));
    });
  }
});

Deno.test("the root help lists each command's usage and summary, which its own help repeats", async () => {
  const root = await runCli(["--help"]);
  assert.equal(root.code, 0);
  const summary = "run a command with temporary, scoped AWS credentials in its environment";
  assert.match(root.stdout, /^ {2}exec \[options\] \[command\.\.\.\] +run a command with/m);
  assert.match(root.stdout, /^ {2}completions \[options\] <shell> +print the shell completion/m);
  const exec = await runCli(["exec", "--help"]);
  assert.equal(exec.code, 0);
  assert.ok(exec.stdout.replace(/\s+/g, " ").includes(summary), exec.stdout);
});

Deno.test("a mistyped command is refused with the closest command's name", async () => {
  const result = await runCli(["--debug", "exce", "-s", "s3:ro"]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
  assert.equal(
    result.stderr,
    'error: Unknown command "exce"\nhint: did you mean exec? timebound-iam help lists the commands\n',
  );
});

Deno.test("an invalid --role-arn is refused before anything else", async () => {
  const result = await runCli([
    "exec",
    "-s",
    "s3:ro",
    "-t",
    "15m",
    "--role-arn",
    "bad",
    "--",
    "true",
  ]);
  assertOneError(result, /Invalid role ARN "bad": expected arn:aws:iam::ACCOUNT:role\/NAME/);
});

Deno.test("an invalid TIMEBOUND_IAM_TIMEOUT is refused up front by every command", async (t) => {
  const commands = [
    ["exec", "--dry-run", "-s", "s3:ro", "-t", "15m"],
    ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"],
    ["env", "--dry-run", "-s", "s3:ro", "-t", "15m"],
    ["shell", "--no-confirm", "-s", "s3:ro", "-t", "15m"],
    ["credential-process", "-s", "s3:ro", "-t", "15m"],
    ["serve"],
    ["doctor"],
    ["setup", "aws", "--services", "s3"],
    ["mfa", "login", "--mfa-serial", "arn:aws:iam::123456789012:mfa/alice"],
    ["mfa", "provision"],
    ["policy", "-s", "s3:ro"],
  ];
  for (const value of ["0", "abc", "301", "1.5"]) {
    for (const args of commands) {
      await t.step(`TIMEBOUND_IAM_TIMEOUT=${value} ${args.join(" ")}`, async () => {
        const result = await runCli(args, { env: { TIMEBOUND_IAM_TIMEOUT: value } });
        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.stdout, "");
        assert.equal(
          result.stderr,
          `error: Invalid TIMEBOUND_IAM_TIMEOUT "${value}": give seconds from 1 to 300\n`,
        );
      });
    }
  }
  await t.step("1 and 300 are accepted", async () => {
    for (const value of ["1", "300"]) {
      const result = await runCli(["exec", "--dry-run", "-s", "s3:ro", "-t", "15m"], {
        env: { TIMEBOUND_IAM_TIMEOUT: value },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /dry run: no credentials were requested/);
    }
  });
});

Deno.test("an AWS endpoint variable that is not an http(s) URL is refused before a grant's first call, never shown", async (t) => {
  const keys = {
    AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
    AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    AWS_REGION: "us-east-1",
  };
  const cases: Array<[string, string]> = [
    ["AWS_ENDPOINT_URL_STS", "file:///tmp/x"],
    ["AWS_ENDPOINT_URL_STS", "ftp://alice:s3cret@example.com/"],
    ["AWS_ENDPOINT_URL_STS", "localhost:4566"],
    ["AWS_ENDPOINT_URL_STS", "garbage"],
    ["AWS_ENDPOINT_URL_STS", "http://"],
    ["AWS_ENDPOINT_URL_IAM", "ftp://alice:s3cret@example.com/"],
    ["AWS_ENDPOINT_URL", "file:///tmp/x"],
  ];
  for (const [name, value] of cases) {
    for (
      const args of [["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"], ["serve"]]
    ) {
      await t.step(`${name}=${value} ${args[0]}`, async () => {
        const result = await runCli(args, { env: { ...keys, [name]: value } });
        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.stdout, "");
        assert.equal(
          result.stderr,
          `error: Invalid ${name}: it must be an http:// or https:// URL\n` +
            `hint: give one such as http://127.0.0.1:4566, or unset ${name}\n`,
        );
      });
    }
  }
  await t.step("an http(s) URL, with a user name and password, passes the check", async () => {
    for (const value of ["http://127.0.0.1:1", "https://alice:s3cret@127.0.0.1:1/"]) {
      const result = await runCli(["exec", "--dry-run", "-s", "s3:ro", "-t", "15m"], {
        env: { ...keys, AWS_ENDPOINT_URL_STS: value },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.ok(!result.stderr.includes("s3cret"), result.stderr);
    }
  });
  await t.step("an ignored one is not looked at: AWS's own endpoint is asked", async () => {
    // A region that does not exist: nothing leaves the machine.
    const result = await runCli(["exec", "--dry-run", "-s", "s3:ro", "-t", "15m"], {
      env: {
        ...keys,
        AWS_REGION: "xx-nowhere-1",
        TIMEBOUND_IAM_TIMEOUT: "5",
        AWS_ENDPOINT_URL_STS: "garbage",
        AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true",
      },
    });
    // --dry-run shows what it could not learn in the summary.
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /\n {2}account +unknown \(Could not reach https:\/\/sts\.xx-nowhere-1\.amazonaws\.com: /,
    );
  });
});

Deno.test("policy refuses scopes whose policy is over AWS's limit", async () => {
  const result = await runCli(["policy", "-s", "glue:ro,quicksight:ro,iot:ro"]);
  assertOneError(result, /over AWS's limit of 2,048: the largest scopes are glue:ro/);
});

Deno.test("services lists prefixes, names and aliases, and says when nothing matches", async (t) => {
  await t.step("a query", async () => {
    const result = await runCli(["services", "logs"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^logs +Amazon CloudWatch Logs \(also cloudwatch-logs, cloudwatchlogs\); list and grants on named resources leave out logs:StopLiveTail, logs:StopQuery$/m,
    );
  });
  await t.step("no match: exit 1", async () => {
    const result = await runCli(["services", "zzzz"]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^error: No service matches "zzzz"\n/);
  });
});
