// The conventions people expect of a command-line tool: `help COMMAND` as git has it, usage
// errors in the house style (`error:` and `hint:`, exit code 2) whoever finds them, and a
// version line that says what it runs on.
import assert from "node:assert/strict";
import { runCli } from "./support/cli.ts";

Deno.test("help exec shows exec's help, as exec --help does", async () => {
  const help = await runCli(["help", "exec"]);
  const flag = await runCli(["exec", "--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.equal(help.stderr, "");
  assert.match(help.stdout, /^Usage: timebound-iam exec /);
  assert.equal(help.stdout, flag.stdout);
});

Deno.test("help reaches nested commands and lists itself in the root's help", async (t) => {
  await t.step("help setup aws", async () => {
    const result = await runCli(["help", "setup", "aws"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Usage: timebound-iam setup aws /);
  });
  await t.step("help alone", async () => {
    const result = await runCli(["help"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Usage: timebound-iam \[options\] \[command\]/);
    assert.match(result.stdout, /^ {2}help \[command\.\.\.\] +show the help of a command/m);
  });
  await t.step("help with a mistyped command", async () => {
    const result = await runCli(["help", "exce"]);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    assert.equal(
      result.stderr,
      'error: Unknown command "exce"\nhint: did you mean exec? timebound-iam help lists the commands\n',
    );
  });
});

Deno.test("commander's usage errors come in the house style with exit code 2", async (t) => {
  const cases: Array<[string, string[], string]> = [
    [
      "an unknown option with a near one",
      ["exec", "--ttll", "1h"],
      'error: Unknown option "--ttll" for timebound-iam exec\n' +
      "hint: did you mean --ttl? timebound-iam exec --help lists its options\n",
    ],
    [
      "an invalid choice",
      ["env", "--shell", "tcsh"],
      'error: Invalid value "tcsh" for --shell: use bash, zsh, sh, fish or powershell\n' +
      "hint: timebound-iam env --help says what each value does\n",
    ],
    [
      "a missing argument",
      ["completions"],
      'error: Missing argument "shell"\n' +
      "hint: usage: timebound-iam completions [options] <shell>\n",
    ],
    [
      "an option without its value",
      ["exec", "-t"],
      "error: Missing value for --ttl: -t, --ttl <duration>\n" +
      "hint: timebound-iam exec --help says what it takes\n",
    ],
    [
      "an argument too many",
      ["policy", "s3:ro"],
      'error: Unexpected argument "s3:ro"\nhint: usage: timebound-iam policy [options]\n',
    ],
    [
      "a nested command's unknown option",
      ["mfa", "login", "--nope"],
      'error: Unknown option "--nope" for timebound-iam mfa login\n' +
      "hint: timebound-iam mfa login --help lists its options\n",
    ],
  ];
  for (const [name, args, stderr] of cases) {
    await t.step(name, async () => {
      const result = await runCli(args);
      assert.equal(result.stderr, stderr);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, "");
    });
  }
});

Deno.test("an error that quotes a hostile value stays on its line", async () => {
  const result = await runCli(["env", "--shell", "x\n\x1b[2Jforged"]);
  assert.equal(result.code, 2);
  assert.equal(result.stderr.split("\n").length, 3, result.stderr);
  assert.ok(!result.stderr.includes("\x1b"), result.stderr);
});

Deno.test("--version names the version, the Deno runtime and the platform", async () => {
  const result = await runCli(["-V"]);
  assert.equal(result.code, 0);
  assert.match(
    result.stdout,
    /^timebound-iam \d+\.\d+\.\d+ \(deno \d+\.\d+\.\d+, [a-z]+-[a-z0-9_]+\)\n$/,
  );
  const runtime = `deno ${Deno.version.deno}, ${Deno.build.os}-${Deno.build.arch}`;
  assert.equal(result.stdout, `timebound-iam 0.1.0 (${runtime})\n`);
});

Deno.test("no base credentials at all (instance metadata disabled, nothing else) is said plainly", async () => {
  const result = await runCli(
    ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"],
    { env: { AWS_EC2_METADATA_DISABLED: "true" } },
  );
  assert.equal(result.code, 1);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /^error: No AWS credentials found: tried environment variables/);
  assert.match(
    result.stderr,
    /\nhint: pass --profile NAME, or set up credentials with: aws configure\n$/,
  );
});

Deno.test("times are shown in local time with the UTC instant, in one format", async () => {
  const result = await runCli(["exec", "--dry-run", "-s", "s3:ro", "-t", "15m", "--", "true"], {
    env: { TZ: "America/New_York" },
  });
  assert.equal(result.code, 0, result.stderr);
  const shown = /^ {2}ttl {6}15m, until (\S+ \S+) (E[SD]T) \(((?:\S+ )?\S+) UTC\)$/m.exec(
    result.stderr,
  );
  assert.ok(shown, result.stderr);
  const local = new Date(
    `${shown[1].replace(" ", "T")}${shown[2] === "EST" ? "-05:00" : "-04:00"}`,
  );
  const utc = local.toISOString();
  // The UTC instant once: its date too when that is another day.
  const sameDay = utc.slice(0, 10) === shown[1].slice(0, 10);
  assert.equal(shown[3], sameDay ? utc.slice(11, 19) : `${utc.slice(0, 10)} ${utc.slice(11, 19)}`);
  assert.ok(Math.abs(local.getTime() - (Date.now() + 900_000)) < 60_000, shown[0]);
});
