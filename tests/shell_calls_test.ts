// shell --masked --calls and --learn end to end: the real CLI (compile permission set) runs a real
// bash under a pseudo-terminal (util-linux `script`), against the local endpoint, which stands in
// for AWS behind the signing proxy (the proxy's upstream is the parent's AWS_ENDPOINT_URL). The
// shell's aws is the AWS CLI v1 that endpointAwareAws finds on PATH (it honours AWS_ENDPOINT_URL;
// Debian's /usr/bin/aws 2.9.19 does not). Linux only (script's options).
import assert from "node:assert/strict";
import { cliCommand, installShim } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";
import { endpointAwareAws } from "./support/aws_cli.ts";
import { PtySession, shQuote } from "./support/pty.ts";
import { canRun } from "./support/system_tool.ts";

const cli = await endpointAwareAws();
const posix = Deno.build.os !== "windows";
const hasShell = posix && await canRun("script") && await canRun("bash");
const note = cli.path === undefined ? ` (ignored: ${cli.version})` : "";

/**
 * The shared fixture with a bucket holding one object and a table holding one item (made with
 * the base user's keys, straight at the endpoint), and the parent's AWS_ENDPOINT_URL naming the
 * endpoint: where the proxy sends the shell's calls.
 */
async function shellRig(sessionSeconds?: number) {
  const fx = await startFixture({
    aws: { sessionSeconds },
    prefix: "tbi-shell-calls-",
    env: (_home, aws) => ({ AWS_ENDPOINT_URL: aws!.url }),
  });
  try {
    const A = shQuote(cli.path!);
    const setup = await new Deno.Command("sh", {
      args: [
        "-c",
        [
          "set -e",
          `cd ${shQuote(fx.home)}`,
          "printf 'a,b\\n1,2\\n' > report.csv",
          `${A} s3 mb s3://learn-bucket > /dev/null`,
          `${A} s3api put-object --bucket learn-bucket --key data/report.csv --body report.csv ` +
          "> /dev/null",
          `${A} dynamodb create-table --table-name Orders --billing-mode PAY_PER_REQUEST ` +
          `--attribute-definitions AttributeName=id,AttributeType=S ` +
          `--key-schema AttributeName=id,KeyType=HASH > /dev/null`,
          `${A} dynamodb put-item --table-name Orders --item '{"id":{"S":"o-1"}}'`,
        ].join("\n"),
      ],
      env: fx.childEnv,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(setup.success, new TextDecoder().decode(setup.stderr));
    const bin = `${fx.home}/bin`;
    await installShim(bin);
    // The shell's aws is the one that honours AWS_ENDPOINT_URL.
    await Deno.symlink(cli.path!, `${bin}/aws`);
    await Deno.writeTextFile(`${fx.home}/.bashrc`, "PS1='user$ '\n");
  } catch (error) {
    await fx[Symbol.asyncDispose]();
    throw error;
  }
  return fx;
}

Deno.test({
  name: `shell --masked --learn --calls=FILE: after the shell exits (non-zero, renewed inside), ` +
    `the learned -s line and the calls as JSON lines in a new 0600 file${note}`,
  ignore: cli.path === undefined || !hasShell,
  async fn() {
    await using fx = await shellRig(10);
    const file = `${fx.home}/shell-calls.jsonl`;
    const env = {
      ...fx.childEnv,
      TERM: "xterm-256color",
      PATH: `${fx.home}/bin:${Deno.env.get("PATH")}`,
    };
    const [deno, args] = cliCommand([
      "shell",
      "--masked",
      "--learn",
      `--calls=${file}`,
      "-s",
      "s3:full,dynamodb:full,sts:full",
      "-t",
      "15m",
      "--no-confirm",
      "--shell",
      "bash",
    ]);
    let code: number;
    const pty = new PtySession([deno, ...args].map(shQuote).join(" "), env);
    try {
      let at = (await pty.waitFor(/\] user\$ /)).end;
      await pty.type(`cd ${shQuote(fx.home)}\n`);
      await pty.type(
        "aws s3api get-object --bucket learn-bucket --key data/report.csv out.csv > /dev/null; " +
          "echo got:$?\n",
      );
      at = (await pty.waitFor(/got:0/, { from: at })).end;
      // A credential-minting call: refused by the proxy, never reaches AWS.
      await pty.type("aws sts get-session-token > /dev/null 2> minted.err; echo minted:$?\n");
      at = (await pty.waitFor(/minted:255/, { from: at })).end;
      // The session behind the stand-ins ends; refresh renews it, and the next call still counts.
      await pty.type("echo until:$AWS_CREDENTIAL_EXPIRATION\n");
      const until = await pty.waitFor(/until:(\d{4}-\S+)\n/, { from: at });
      at = until.end;
      const left = Date.parse(until.match[1]) - Date.now();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, left) + 500));
      await pty.type("timebound-iam refresh; echo refreshed:$?\n");
      at = (await pty.waitFor(/refreshed:0/, { from: at })).end;
      await pty.type(
        `aws dynamodb get-item --table-name Orders --key '{"id":{"S":"o-1"}}' > /dev/null; ` +
          "echo item:$?\n",
      );
      at = (await pty.waitFor(/item:0/, { from: at })).end;
      await pty.type("exit 3\n");
      await pty.waitFor(/learned: /, { from: at });
    } finally {
      code = await pty.close();
    }
    assert.equal(code, 3, pty.text);
    assert.equal(fx.aws.requests.filter((r) => r.action === "AssumeRole").length, 2);
    assert.match(await Deno.readTextFile(`${fx.home}/minted.err`), /\(AccessDenied\)/);
    const after = pty.text.slice(pty.text.lastIndexOf("exit 3"));
    assert.equal(
      after.slice(after.indexOf("calls: ")),
      [
        `calls: 3 (3 distinct) written to ${file}`,
        "learned: the narrowest scopes that allow the 2 calls it made:",
        "  -s 's3:ro@learn-bucket/data/report.csv,dynamodb:ro@Orders'",
        "note: calls the signing proxy refused are left out (they never reached AWS)",
        "",
      ].join("\n"),
    );
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    const lines = (await Deno.readTextFile(file)).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines, [
      {
        service: "s3",
        action: "GetObject",
        resource: "learn-bucket/data/report.csv",
        count: 1,
        refused: false,
      },
      {
        service: "sts",
        action: "GetSessionToken",
        count: 1,
        refused: true,
        error_code: "AccessDenied",
        refused_by: "proxy",
        refusal_reason: "credential-minting action refused under --masked",
      },
      { service: "dynamodb", action: "GetItem", resource: "Orders", count: 1, refused: false },
    ]);
    fx.assertNoSecret(pty.text);
  },
});

Deno.test({
  name: `shell --masked --calls: the calls on the terminal after the shell exits, a minting one ` +
    `refused with the proxy's reason${note}`,
  ignore: cli.path === undefined || !hasShell,
  async fn() {
    await using fx = await shellRig();
    const env = {
      ...fx.childEnv,
      TERM: "xterm-256color",
      PATH: `${fx.home}/bin:${Deno.env.get("PATH")}`,
    };
    const [deno, args] = cliCommand([
      "shell",
      "--masked",
      "--calls",
      "-s",
      "sts:full",
      "-t",
      "15m",
      "--no-confirm",
      "--shell",
      "bash",
    ]);
    let code: number;
    const pty = new PtySession([deno, ...args].map(shQuote).join(" "), env);
    try {
      const at = (await pty.waitFor(/\] user\$ /)).end;
      await pty.type(
        "aws sts get-caller-identity > /dev/null; aws sts get-session-token > /dev/null 2>&1; " +
          "echo minted:$?\n",
      );
      await pty.waitFor(/minted:255/, { from: at });
      await pty.type("exit 1\n");
      await pty.waitFor(/GetSessionToken - 1 refused[^\n]*\n/, { from: at });
    } finally {
      code = await pty.close();
    }
    assert.equal(code, 1, pty.text);
    const after = pty.text.slice(pty.text.lastIndexOf("exit 1"));
    assert.equal(
      after.slice(after.indexOf("calls: ")),
      [
        "calls: 2 (2 distinct)",
        "  sts GetCallerIdentity - 1",
        "  sts GetSessionToken - 1 refused (AccessDenied): " +
        "credential-minting action refused under --masked",
        "",
      ].join("\n"),
    );
    assert.equal(fx.aws.requests.filter((r) => r.action === "GetSessionToken").length, 0);
    fx.assertNoSecret(pty.text);
  },
});

Deno.test({
  name: "shell --calls and --learn are checked before anything is granted",
  ignore: !posix,
  async fn(t) {
    await using fx = await startFixture({ prefix: "tbi-shell-calls-" });
    const shell = (flags: string[]) =>
      fx.run(["shell", ...flags, "-s", "s3:ro", "-t", "15m", "--no-confirm", "--shell", "bash"]);
    await t.step("without --masked: a usage error", async () => {
      for (const flag of ["--calls", "--learn"]) {
        const result = await shell([flag]);
        assert.equal(result.code, 2, result.stderr);
        assert.equal(
          result.stderr,
          `error: ${flag} needs --masked: only the signing proxy sees the calls\n` +
            `hint: e.g. timebound-iam shell --masked ${flag} -s s3:ro -t 1h\n`,
        );
      }
    });
    await t.step("an existing file", async () => {
      const file = fx.path("calls.jsonl");
      await Deno.writeTextFile(file, "mine\n");
      const result = await shell(["--masked", `--calls=${file}`]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(
        result.stderr,
        /^error: Cannot write the calls to ".*calls\.jsonl": it exists already\nhint: name a new file/,
      );
      assert.equal(await Deno.readTextFile(file), "mine\n");
    });
    await t.step("a missing directory", async () => {
      const result = await shell(["--masked", `--calls=${fx.path("nowhere", "calls.jsonl")}`]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(
        result.stderr,
        /^error: Cannot write the calls to ".*": its directory is missing/,
      );
    });
    assert.equal(fx.aws.requests.filter((r) => r.action === "AssumeRole").length, 0);
  },
});
